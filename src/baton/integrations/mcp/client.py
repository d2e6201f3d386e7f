"""Connect to MCP servers and list their tools, with retries, a circuit breaker and a cache.

A server that cannot be reached is tried ``1 + retries`` times (backoff 0.25 s, 0.5 s,
...; each try bounded by ``connect_timeout_seconds``). When every try fails its circuit
opens: for ``cooldown`` seconds it is reported unavailable without being contacted, then
one try decides (half-open). Successful listings are cached for ``cache_ttl`` seconds, so
back-to-back runs of a workflow do not reconnect. A failing server's tools are simply
missing: :mod:`.preflight` turns that into a clear error.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio

from baton.extras import require
from baton.models.mcp import McpServerConfig

BACKOFF_SECONDS = 0.25
COOLDOWN_SECONDS = 30.0
CACHE_TTL_SECONDS = 60.0


@dataclass(slots=True)
class Discovery:
    """What one server offered: tool names, or why it could not be reached."""

    server: str
    tools: list[str] | None
    error: str | None = None
    attempts: int = 0
    seconds: float = 0.0
    cached: bool = False

    @property
    def ok(self) -> bool:
        return self.tools is not None


@dataclass(slots=True)
class _Health:
    failures: int = 0
    open_until: float = 0.0
    last_error: str = ""


@dataclass(slots=True)
class _Cached:
    tools: list[str]
    until: float


def _message(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return f"{type(exc).__name__}: {text}" if type(exc).__name__ not in text else text


@contextlib.asynccontextmanager
async def connect(server: McpServerConfig, errlog: Any = None) -> AsyncIterator[Any]:
    """An open ``mcp.Client`` for ``server`` (stdio or streamable HTTP)."""
    require("mcp", "mcp")
    from mcp import Client, StdioServerParameters

    if server.command is not None:
        params = StdioServerParameters(
            command=server.command, args=list(server.args), env=dict(server.env) or None, cwd=server.cwd
        )
        from mcp.client.stdio import stdio_client

        transport: Any = stdio_client(params, errlog=errlog) if errlog is not None else stdio_client(params)
        async with Client(transport) as client:
            yield client
        return
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    assert server.url is not None
    http = create_mcp_http_client(headers=dict(server.headers) or None)
    async with http, Client(streamable_http_client(server.url, http_client=http)) as client:
        yield client


async def list_tools(server: McpServerConfig) -> list[str]:
    """Every tool name the server offers (all pages), in one connection."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as errlog:
        try:
            async with connect(server, errlog if server.command is not None else None) as client:
                names: list[str] = []
                cursor: str | None = None
                for _ in range(100):
                    page = await client.list_tools(cursor=cursor)
                    names.extend(tool.name for tool in page.tools)
                    cursor = page.next_cursor
                    if not cursor:
                        break
                return names
        except Exception as exc:
            errlog.seek(0)
            tail = [line.strip() for line in errlog.read().splitlines() if line.strip()][-1:]
            if tail:
                raise RuntimeError(f"{_message(exc)} (server stderr: {tail[0][:300]})") from exc
            raise


class McpClient:
    """Tool discovery over many servers, remembering each server's health."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        backoff_seconds: float = BACKOFF_SECONDS,
        cooldown_seconds: float = COOLDOWN_SECONDS,
        cache_ttl_seconds: float = CACHE_TTL_SECONDS,
    ) -> None:
        self.clock = clock
        self.backoff_seconds = backoff_seconds
        self.cooldown_seconds = cooldown_seconds
        self.cache_ttl_seconds = cache_ttl_seconds
        self._health: dict[str, _Health] = {}
        self._cache: dict[str, _Cached] = {}

    @staticmethod
    def _key(name: str, server: McpServerConfig) -> str:
        return f"{name}\0{server.model_dump_json()}"

    def health(self, name: str, server: McpServerConfig) -> tuple[bool, str]:
        """(circuit closed, last error) for the server."""
        state = self._health.get(self._key(name, server))
        if state is None or state.open_until <= self.clock():
            return True, state.last_error if state else ""
        return False, state.last_error

    async def tools(self, name: str, server: McpServerConfig) -> Discovery:
        """The server's tools, from the cache, a (re)connection, or the open circuit's verdict."""
        key = self._key(name, server)
        now = self.clock()
        cached = self._cache.get(key)
        if cached is not None and cached.until > now:
            return Discovery(name, list(cached.tools), cached=True)
        state = self._health.setdefault(key, _Health())
        if state.open_until > now:
            wait = state.open_until - now
            return Discovery(
                name, None, f"unavailable ({state.last_error}); not retried for another {wait:.0f}s"
            )
        half_open = state.failures > 0
        tries = 1 if half_open else 1 + server.retries
        started = time.perf_counter()
        error = ""
        for attempt in range(tries):
            try:
                with anyio.fail_after(server.connect_timeout_seconds):
                    names = await list_tools(server)
            except Exception as exc:
                error = _message(exc)
                if isinstance(exc, TimeoutError):
                    error = f"no answer within {server.connect_timeout_seconds:g}s"
                if attempt + 1 < tries:
                    await anyio.sleep(self.backoff_seconds * 2**attempt)
                continue
            state.failures, state.open_until, state.last_error = 0, 0.0, ""
            self._cache[key] = _Cached(names, self.clock() + self.cache_ttl_seconds)
            return Discovery(name, names, attempts=attempt + 1, seconds=time.perf_counter() - started)
        state.failures += 1
        state.last_error = error
        state.open_until = self.clock() + self.cooldown_seconds
        return Discovery(name, None, error, attempts=tries, seconds=time.perf_counter() - started)

    async def discover(self, servers: Mapping[str, McpServerConfig]) -> dict[str, Discovery]:
        """Every server's tools, the servers contacted concurrently."""
        found: dict[str, Discovery] = {}

        async def one(name: str, server: McpServerConfig) -> None:
            found[name] = await self.tools(name, server)

        async with anyio.create_task_group() as group:
            for name, server in servers.items():
                group.start_soon(one, name, server)
        return {name: found[name] for name in servers}

    def forget(self) -> None:
        """Drop cached listings and health (tests; ``baton mcp tools --refresh``)."""
        self._cache.clear()
        self._health.clear()


@dataclass
class _Default:
    client: McpClient = field(default_factory=McpClient)


_default = _Default()


def default_client() -> McpClient:
    """The process-wide client (its cache and circuit breakers are shared by every run)."""
    return _default.client
