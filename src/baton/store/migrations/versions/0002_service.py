"""The HTTP service: API tokens, the API audit trail, submitted executions (idempotency
keys, queue, priority, limits) and worker liveness.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import baton.store.types as bt

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(128)


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", bt.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("revoked_at", bt.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_sha256", name="uq_api_tokens_token_sha256"),
    )
    op.create_table(
        "api_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", bt.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=True),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(128), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("client", sa.String(100), nullable=True),
        sa.Column("detail", bt.JSONDocument, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_api_audit"),
    )
    op.create_index("ix_api_audit_at", "api_audit", ["at"])
    op.create_table(
        "service_executions",
        sa.Column("execution_id", ID, nullable=False),
        sa.Column("submitted_by", sa.String(200), nullable=False),
        sa.Column("idempotency_scope", sa.String(200), nullable=True),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(100), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("timeout_seconds", sa.Integer(), nullable=True),
        sa.Column("repo", sa.Text(), nullable=True),
        sa.Column("ref", sa.String(255), nullable=True),
        sa.Column("first_started_at", bt.UTCDateTime(), nullable=True),
        sa.Column("created_at", bt.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("execution_id", name="pk_service_executions"),
        sa.UniqueConstraint(
            "idempotency_scope",
            "idempotency_key",
            name="uq_service_executions_idempotency_scope_idempotency_key",
        ),
    )
    op.create_table(
        "workers",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("queue", sa.String(100), nullable=False),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", bt.UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", bt.UTCDateTime(), nullable=False),
        sa.Column("recovered_by", sa.String(200), nullable=True),
        sa.Column("recovered_at", bt.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_workers"),
    )
    op.create_index("ix_workers_status_heartbeat_at", "workers", ["status", "heartbeat_at"])


def downgrade() -> None:
    op.drop_index("ix_workers_status_heartbeat_at", table_name="workers")
    op.drop_table("workers")
    op.drop_table("service_executions")
    op.drop_index("ix_api_audit_at", table_name="api_audit")
    op.drop_table("api_audit")
    op.drop_table("api_tokens")
