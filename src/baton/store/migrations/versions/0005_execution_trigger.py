"""Executions record the front end that started them (``trigger``).

Executions recorded before are marked ``api`` when the API submitted them, else ``cli``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # plain ADD COLUMN (nullable, no default): no table rebuild on SQLite
    op.add_column("executions", sa.Column("trigger", sa.String(16), nullable=True))
    op.execute(
        "UPDATE executions SET trigger = CASE WHEN id IN "
        "(SELECT execution_id FROM service_executions) THEN 'api' ELSE 'cli' END"
    )


def downgrade() -> None:
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("trigger")
