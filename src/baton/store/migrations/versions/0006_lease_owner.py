"""Each lease records the process that holds it (host, pid, start token), so a lease of a
process that was killed is taken back at once instead of when it expires.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # plain ADD COLUMN (nullable, no default): no table rebuild on SQLite
    op.add_column("leases", sa.Column("owner_host", sa.String(200), nullable=True))
    op.add_column("leases", sa.Column("owner_pid", sa.Integer(), nullable=True))
    op.add_column("leases", sa.Column("owner_start", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("leases") as batch:
        batch.drop_column("owner_start")
        batch.drop_column("owner_pid")
        batch.drop_column("owner_host")
