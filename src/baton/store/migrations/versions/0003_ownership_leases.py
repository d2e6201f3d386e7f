"""Who runs an execution (host, pid, process start) and its agents' process groups, so a
dead `baton run` is noticed and its orphans killed; leases and rate windows that hold
concurrency and rate limits across processes sharing one store.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import baton.store.types as bt

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(128)


def upgrade() -> None:
    # plain ADD COLUMN (nullable, no default): no table rebuild on SQLite
    op.add_column("executions", sa.Column("owner_host", sa.String(200), nullable=True))
    op.add_column("executions", sa.Column("owner_pid", sa.Integer(), nullable=True))
    op.add_column("executions", sa.Column("owner_start", sa.String(100), nullable=True))
    op.create_table(
        "execution_processes",
        sa.Column("execution_id", ID, nullable=False),
        sa.Column("pgid", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("start", sa.String(100), nullable=True),
        sa.Column("step_id", ID, nullable=False),
        sa.Column("started_at", bt.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"], ["executions.id"],
            name="fk_execution_processes_execution_id_executions", ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("execution_id", "pgid", name="pk_execution_processes"),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("acquired_at", bt.UTCDateTime(), nullable=False),
        sa.Column("expires_at", bt.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", "slot", name="pk_leases"),
    )
    op.create_index("ix_leases_holder", "leases", ["holder"])
    op.create_table(
        "rate_windows",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("next_at", bt.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_rate_windows"),
    )


def downgrade() -> None:
    op.drop_table("rate_windows")
    op.drop_index("ix_leases_holder", table_name="leases")
    op.drop_table("leases")
    op.drop_table("execution_processes")
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("owner_start")
        batch.drop_column("owner_pid")
        batch.drop_column("owner_host")
