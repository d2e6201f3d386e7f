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
    # the configuration it ran with (migration 0004)
    Column("config_hash", String(64), nullable=True),
    Column("config_version", String(64), nullable=True),
    # the front end that started it: cli, api, mcp, action, ... (migration 0005)
    Column("trigger", String(16), nullable=True),
    # log bookkeeping, maintained by the store inside the transaction that writes log rows
    Column("log_bytes", BigInteger, nullable=False, default=0),
    Column("log_truncated", Boolean, nullable=False, default=False),
    Column("log_dropped", Integer, nullable=False, default=0),
    Column("last_seq", BigInteger, nullable=False, default=0),
    Column("last_log_at", UTCDateTime(), nullable=True),
    # which worker runs it, and when that worker last said it was alive
    Column("owner", String(200), nullable=True),
    Column("heartbeat_at", UTCDateTime(), nullable=True),
    # the owner process itself, to tell a dead `baton run` from a silent one (see store/ownership)
    Column("owner_host", String(200), nullable=True),
    Column("owner_pid", Integer, nullable=True),
    Column("owner_start", String(100), nullable=True),
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

# -- the HTTP service (migration 0002) ---------------------------------------------------------

# API tokens issued by `baton tokens create`; only the SHA-256 of a token is stored.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("token_sha256", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
    UniqueConstraint("token_sha256"),
)

# One row per write request the API answered (who, what, outcome).
api_audit = Table(
    "api_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("role", String(16), nullable=True),
    Column("method", String(8), nullable=False),
    Column("path", Text, nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("target", String(128), nullable=True),
    Column("request_id", String(64), nullable=False),
    Column("client", String(100), nullable=True),
    Column("detail", JSONDocument, nullable=False),
    Index(None, "at"),
)

# How an execution was submitted through the API: idempotency key, queue, priority, limits.
service_executions = Table(
    "service_executions",
    metadata,
    Column("execution_id", ID, primary_key=True),
    Column("submitted_by", String(200), nullable=False),
    Column("idempotency_scope", String(200), nullable=True),
    Column("idempotency_key", String(255), nullable=True),
    Column("request_hash", String(64), nullable=False),
    Column("queue", String(100), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("timeout_seconds", Integer, nullable=True),
    Column("repo", Text, nullable=True),
    Column("ref", String(255), nullable=True),
    Column("first_started_at", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("idempotency_scope", "idempotency_key"),
)

# Worker processes (`baton worker`, `baton serve`) and their liveness.
workers = Table(
    "workers",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("queue", String(100), nullable=False),
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("concurrency", Integer, nullable=False),
    # alive | draining | stopped | dead
    Column("status", String(16), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("heartbeat_at", UTCDateTime(), nullable=False),
    Column("recovered_by", String(200), nullable=True),
    Column("recovered_at", UTCDateTime(), nullable=True),
    Index(None, "status", "heartbeat_at"),
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
    api_tokens,
    api_audit,
    service_executions,
    workers,
)

# the process groups an execution's agents run in, while they run (killed if the owner dies)
execution_processes = Table(
    "execution_processes",
    metadata,
    Column("execution_id", ForeignKey("executions.id", ondelete="CASCADE"), nullable=False),
    Column("pgid", Integer, nullable=False),
    Column("host", String(200), nullable=False),
    Column("start", String(100), nullable=True),
    Column("step_id", ID, nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("execution_id", "pgid"),
)

# one row per held slot of a limit shared by every process on the store
# (name: "executions", "agent:<id>"); a lease whose holder stops renewing it expires, and
# one whose owner process is gone is taken back at once
leases = Table(
    "leases",
    metadata,
    Column("name", String(200), nullable=False),
    Column("slot", Integer, nullable=False),
    Column("holder", String(200), nullable=False),
    Column("acquired_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("owner_host", String(200), nullable=True),
    Column("owner_pid", Integer, nullable=True),
    Column("owner_start", String(100), nullable=True),
    PrimaryKeyConstraint("name", "slot"),
    Index(None, "holder"),
)

# the earliest time the next call of a rate-limited agent may start ("agent:<id>")
rate_windows = Table(
    "rate_windows",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("next_at", UTCDateTime(), nullable=False),
)
