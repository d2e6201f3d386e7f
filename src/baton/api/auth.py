"""Who is calling, and may they? Bearer tokens, three roles, per-token rate limits.

Roles are ordered: ``viewer`` reads; ``operator`` also runs, cancels and approves
executions; ``admin`` also changes agents and configuration. A route names the least
role it needs. No token (or an unknown or revoked one) is 401; too small a role is 403;
a token over its rate is 429 with ``Retry-After``.

Tokens come from configuration (``api.tokens``, hashed at load) or from the store
(``baton tokens create``). Store lookups are cached for :data:`CACHE_SECONDS`, so a
revoked token stops working within that time.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request

from baton.api.problems import Problem
from baton.api.tokens import ROLES, TokenStore, sha256_hex
from baton.models.configuration import ApiToken, RateLimitConfig

if TYPE_CHECKING:
    from baton.api.service import ApiService

RANK = {role: i for i, role in enumerate(ROLES)}
CACHE_SECONDS = 5.0
_CACHE_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: the token's name, role and where it was defined."""

    name: str
    role: str
    token_id: str
    source: str  # "config" | "store"
    rate_limit: RateLimitConfig | None = None

    def allows(self, role: str) -> bool:
        return RANK[self.role] >= RANK[role]


class Authenticator:
    """Resolves a bearer token to a :class:`Principal` (configured tokens first)."""

    def __init__(self, configured: Iterable[ApiToken], store: TokenStore | None) -> None:
        self._configured = {
            t.token_sha256: Principal(t.name, t.role, f"config:{t.name}", "config", t.rate_limit)
            for t in configured
        }
        self._store = store
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def resolve(self, token: str) -> Principal | None:
        digest = sha256_hex(token)
        found = self._configured.get(digest)
        if found is not None or self._store is None:
            return found
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        issued = await asyncio.to_thread(self._store.find, digest)
        principal = None if issued is None else Principal(issued.name, issued.role, issued.id, "store")
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[digest] = (now + CACHE_SECONDS, principal)
        return principal


class RateLimiter:
    """A token bucket per caller: ``burst`` requests at once, refilled at a steady rate."""

    def __init__(self, config: RateLimitConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.default = config
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str, config: RateLimitConfig | None = None) -> float:
        """0 if the request may go ahead, else the seconds to wait before retrying."""
        limits = config or self.default
        rate, burst = limits.requests_per_second, float(limits.burst)
        now = self._clock()
        tokens, at = self._buckets.get(key, (burst, now))
        tokens = min(burst, tokens + (now - at) * rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / rate


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="baton"'}


def require(role: str) -> Callable[[Request], Awaitable[Principal]]:
    """A FastAPI dependency: the caller must hold ``role`` (or a higher one)."""
    if role not in RANK:
        raise ValueError(f"unknown role {role!r}")

    async def dependency(request: Request) -> Principal:
        service: ApiService = request.app.state.service
        token = bearer(request)
        if token is None:
            raise Problem(
                401,
                "unauthenticated",
                "Authentication required",
                "send an API token as 'Authorization: Bearer <token>' "
                "(create one with `baton tokens create`)",
                headers=_CHALLENGE,
            )
        principal = await service.auth.resolve(token)
        if principal is None:
            raise Problem(
                401,
                "unauthenticated",
                "Authentication required",
                "the API token is unknown or revoked",
                headers=_CHALLENGE,
            )
        request.state.principal = principal
        wait = service.limiter.take(principal.token_id, principal.rate_limit)
        if wait > 0:
            raise Problem(
                429,
                "rate-limited",
                "Too many requests",
                f"token {principal.name!r} is over its rate limit; retry in {wait:.2f}s",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
        if not principal.allows(role):
            raise Problem(
                403,
                "forbidden",
                "Forbidden",
                f"token {principal.name!r} has role {principal.role!r}; this needs {role!r} or higher",
            )
        return principal

    dependency.__name__ = f"require_{role}"
    return dependency
