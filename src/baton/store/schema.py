"""The store's tables (SQLAlchemy Core). Alembic migrations in ``migrations/versions`` build
exactly this schema; ``tests/store/test_migrations.py`` checks that they agree.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from baton.store.types import JSONDocument, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

ID = String(128)

agents = Table(
    "agents",
    metadata,
    Column("id", ID, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("last_health_check", UTCDateTime(), nullable=True),
    # the agent's definition (AgentConfig fields), credentials redacted
    Column("config", JSONDocument, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

config_versions = Table(
    "config_versions",
    metadata,
    Column("version", String(64), primary_key=True),
    Column("content", Text, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("applied_at", UTCDateTime(), nullable=False),
    Column("applied_by", String(200), nullable=False),
)

config_audit = Table(
    "config_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version", ForeignKey("config_versions.version"), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("action", String(16), nullable=False),
    Column("diff", Text, nullable=False),
)

executions = Table(
    "executions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("workflow_id", ID, nullable=False),
    Column("workspace_dir", Text, nullable=False),
    Column("parameters", JSONDocument, nullable=False),
    Column("environment", JSONDocument, nullable=False),
    Column("shared_config", JSONDocument, nullable=False),
    Column("start_time", UTCDateTime(), nullable=False),
    Column("end_time", UTCDateTime(), nullable=True),
    Column("status", String(16), nullable=False),
    Column("trace_id", String(32), nullable=False),
    Column("error", Text, nullable=True),
    Column("workflow_snapshot", JSONDocument, nullable=False),
    # log bookkeeping, maintained by the store inside the transaction that writes log rows
    Column("log_bytes", BigInteger, nullable=False, default=0),
    Column("log_truncated", Boolean, nullable=False, default=False),
    Column("log_dropped", Integer, nullable=False, default=0),
    Column("last_seq", BigInteger, nullable=False, default=0),
    Column("last_log_at", UTCDateTime(), nullable=True),
    # which worker runs it, and when that worker last said it was alive
    Column("owner", String(200), nullable=True),
    Column("heartbeat_at", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index(None, "start_time", "id"),
    Index(None, "status", "start_time"),
    Index(None, "workflow_id", "start_time"),
    Index(None, "owner"),
)

step_runs = Table(
    "step_runs",
    metadata,
    Column(
        "execution_id",
        ForeignKey("executions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("step_id", ID, nullable=False),
    Column("status", String(16), nullable=False),
    Column("agent_id", ID, nullable=True),
    Column("attempt", Integer, nullable=False),
    Column("iteration", Integer, nullable=False),
    Column("started_at", UTCDateTime(), nullable=True),
    Column("ended_at", UTCDateTime(), nullable=True),
    Column("output", JSONDocument, nullable=True),
    Column("error", Text, nullable=True),
    Column("error_type", String(64), nullable=True),
    Column("cache_hit", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("execution_id", "step_id"),
)

execution_logs = Table(
    "execution_logs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column(
        "execution_id",
        ForeignKey("executions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("seq", BigInteger, nullable=False),
    Column("step_id", ID, nullable=True),
    Column("level", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("timestamp", UTCDateTime(), nullable=False),
    Column("metadata", JSONDocument, nullable=False),
    Column("trace_id", String(32), nullable=False),
    UniqueConstraint("execution_id", "seq"),
)

cache_entries = Table(
    "cache_entries",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("agent_id", ID, nullable=False),
    Column("output", JSONDocument, nullable=False),
    Column("diff", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=True),
    Column("hits", Integer, nullable=False, default=0),
)

usage = Table(
    "usage",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "execution_id",
        ForeignKey("executions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("step_id", ID, nullable=False),
    Column("agent_id", ID, nullable=False),
    Column("model", String(200), nullable=False),
    Column("workflow_id", ID, nullable=False),
    Column("input_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Column("cache_read_tokens", BigInteger, nullable=False),
    Column("cache_write_tokens", BigInteger, nullable=False),
    Column("cost_usd", Float, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Index(None, "at"),
    Index(None, "execution_id"),
)

ALL_TABLES = (
    agents,
    config_versions,
    config_audit,
    executions,
    step_runs,
    execution_logs,
    cache_entries,
    usage,
)
