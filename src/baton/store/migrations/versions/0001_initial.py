"""Initial schema: agents, configuration versions and audit, executions, step runs, logs,
cache entries and usage.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import baton.store.types as bt

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(128)


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", ID, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_health_check", bt.UTCDateTime(), nullable=True),
        sa.Column("config", bt.JSONDocument, nullable=False),
        sa.Column("created_at", bt.UTCDateTime(), nullable=False),
        sa.Column("updated_at", bt.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_agents"),
    )
    op.create_table(
        "config_versions",
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("applied_at", bt.UTCDateTime(), nullable=False),
        sa.Column("applied_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("version", name="pk_config_versions"),
    )
    op.create_table(
        "config_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", bt.UTCDateTime(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("diff", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version"],
            ["config_versions.version"],
            name="fk_config_audit_version_config_versions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_config_audit"),
    )
    op.create_table(
        "executions",
        sa.Column("id", ID, nullable=False),
        sa.Column("workflow_id", ID, nullable=False),
        sa.Column("workspace_dir", sa.Text(), nullable=False),
        sa.Column("parameters", bt.JSONDocument, nullable=False),
        sa.Column("environment", bt.JSONDocument, nullable=False),
        sa.Column("shared_config", bt.JSONDocument, nullable=False),
        sa.Column("start_time", bt.UTCDateTime(), nullable=False),
        sa.Column("end_time", bt.UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("trace_id", sa.String(32), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("workflow_snapshot", bt.JSONDocument, nullable=False),
        sa.Column("log_bytes", sa.BigInteger(), nullable=False),
        sa.Column("log_truncated", sa.Boolean(), nullable=False),
        sa.Column("log_dropped", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_log_at", bt.UTCDateTime(), nullable=True),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("heartbeat_at", bt.UTCDateTime(), nullable=True),
        sa.Column("created_at", bt.UTCDateTime(), nullable=False),
        sa.Column("updated_at", bt.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_executions"),
    )
    op.create_index("ix_executions_start_time_id", "executions", ["start_time", "id"])
    op.create_index("ix_executions_status_start_time", "executions", ["status", "start_time"])
    op.create_index("ix_executions_workflow_id_start_time", "executions", ["workflow_id", "start_time"])
    op.create_index("ix_executions_owner", "executions", ["owner"])
    op.create_table(
        "step_runs",
        sa.Column("execution_id", ID, nullable=False),
        sa.Column("step_id", ID, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("agent_id", ID, nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("iteration", sa.Integer(), nullable=False),
        sa.Column("started_at", bt.UTCDateTime(), nullable=True),
        sa.Column("ended_at", bt.UTCDateTime(), nullable=True),
        sa.Column("output", bt.JSONDocument, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_type", sa.String(64), nullable=True),
        sa.Column("cache_hit", sa.Boolean(), nullable=False),
        sa.Column("created_at", bt.UTCDateTime(), nullable=False),
        sa.Column("updated_at", bt.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name="fk_step_runs_execution_id_executions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("execution_id", "step_id", name="pk_step_runs"),
    )
    op.create_table(
        "execution_logs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("execution_id", ID, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("step_id", ID, nullable=True),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("timestamp", bt.UTCDateTime(), nullable=False),
        sa.Column("metadata", bt.JSONDocument, nullable=False),
        sa.Column("trace_id", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name="fk_execution_logs_execution_id_executions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_execution_logs"),
        sa.UniqueConstraint("execution_id", "seq", name="uq_execution_logs_execution_id_seq"),
    )
    op.create_table(
        "cache_entries",
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("agent_id", ID, nullable=False),
        sa.Column("output", bt.JSONDocument, nullable=False),
        sa.Column("diff", sa.Text(), nullable=True),
        sa.Column("created_at", bt.UTCDateTime(), nullable=False),
        sa.Column("expires_at", bt.UTCDateTime(), nullable=True),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_cache_entries"),
    )
    op.create_table(
        "usage",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("execution_id", ID, nullable=False),
        sa.Column("step_id", ID, nullable=False),
        sa.Column("agent_id", ID, nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("workflow_id", ID, nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("at", bt.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name="fk_usage_execution_id_executions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_usage"),
    )
    op.create_index("ix_usage_at", "usage", ["at"])
    op.create_index("ix_usage_execution_id", "usage", ["execution_id"])


def downgrade() -> None:
    op.drop_index("ix_usage_execution_id", table_name="usage")
    op.drop_index("ix_usage_at", table_name="usage")
    op.drop_table("usage")
    op.drop_table("cache_entries")
    op.drop_table("execution_logs")
    op.drop_table("step_runs")
    op.drop_index("ix_executions_owner", table_name="executions")
    op.drop_index("ix_executions_workflow_id_start_time", table_name="executions")
    op.drop_index("ix_executions_status_start_time", table_name="executions")
    op.drop_index("ix_executions_start_time_id", table_name="executions")
    op.drop_table("executions")
    op.drop_table("config_audit")
    op.drop_table("config_versions")
    op.drop_table("agents")
