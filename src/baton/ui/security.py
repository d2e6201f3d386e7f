"""Who may use the dashboard: sessions, CSRF tokens, the Host check and the security headers.

Two gates, one contract:

* :class:`LocalGate` (``baton ui``): a one-time sign-in token printed in the URL, as Jupyter
  does, exchanged on first use for a random session cookie; the Host header must name the
  loopback address the server listens on (against DNS rebinding). The local user is admin.
* :class:`ServiceGate` (``baton serve``): the sign-in page takes an API token; the session
  cookie carries it (HttpOnly, SameSite=Strict), so roles, revocation and audit are the API's.

Every state-changing request carries a CSRF token, an HMAC of the session cookie, in the
``csrf`` form field or the ``X-CSRF-Token`` header; a cross-site ``Origin`` is refused too.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import secrets
import time
from typing import TYPE_CHECKING, Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from baton.api.auth import Principal

if TYPE_CHECKING:
    from baton.api.auth import Authenticator

COOKIE = "baton_session"
SESSION_SECONDS = 12 * 3600
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


class Gate(Protocol):
    """Authenticates dashboard requests."""

    mode: str  # "local" | "service"

    async def principal(self, cookie: str | None) -> Principal | None: ...

    async def sign_in(self, token: str) -> tuple[str, Principal] | None:
        """The session cookie value and the principal for a sign-in token, or None."""
        ...

    def csrf(self, cookie: str) -> str: ...


class LocalGate:
    """``baton ui``: one login token, sessions held in this process."""

    mode = "local"

    def __init__(self, login_token: str | None = None) -> None:
        self.login_token = login_token or secrets.token_urlsafe(32)
        self._used = False
        self._key = secrets.token_bytes(32)
        self._sessions: dict[str, float] = {}
        self._principal = Principal(_user(), "admin", "local", "local")

    async def principal(self, cookie: str | None) -> Principal | None:
        if not cookie:
            return None
        expires = self._sessions.get(cookie)
        if expires is None or expires < time.monotonic():
            self._sessions.pop(cookie, None)
            return None
        return self._principal

    async def sign_in(self, token: str) -> tuple[str, Principal] | None:
        if self._used or not hmac.compare_digest(token.encode(), self.login_token.encode()):
            return None
        self._used = True
        session = secrets.token_urlsafe(32)
        self._sessions[session] = time.monotonic() + SESSION_SECONDS
        return session, self._principal

    def csrf(self, cookie: str) -> str:
        return hmac.new(self._key, cookie.encode(), hashlib.sha256).hexdigest()


class ServiceGate:
    """``baton serve``: the session cookie is an API token, resolved like a bearer token."""

    mode = "service"

    def __init__(self, auth: Authenticator) -> None:
        self._auth = auth

    async def principal(self, cookie: str | None) -> Principal | None:
        if not cookie:
            return None
        return await self._auth.resolve(cookie)

    async def sign_in(self, token: str) -> tuple[str, Principal] | None:
        token = token.strip()
        if not token:
            return None
        principal = await self._auth.resolve(token)
        return None if principal is None else (token, principal)

    def csrf(self, cookie: str) -> str:
        return hmac.new(b"baton-dashboard-csrf", cookie.encode(), hashlib.sha256).hexdigest()


def csrf_ok(gate: Gate, cookie: str | None, supplied: str | None) -> bool:
    if not cookie or not supplied:
        return False
    return hmac.compare_digest(gate.csrf(cookie), supplied)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local"


class DashboardHeaders:
    """Security headers on the dashboard's responses (not on ``/api``, whose docs page needs
    its own scripts), and the Host check of ``baton ui``: a request naming another host (a
    DNS-rebinding page) gets 421."""

    def __init__(self, app: ASGIApp, *, allowed_hosts: frozenset[str] | None = None) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith("/api/"):
            await self.app(scope, receive, send)
            return
        if self.allowed_hosts is not None:
            host = _host(scope)
            if host not in self.allowed_hosts:
                await _plain(
                    send,
                    421,
                    "misdirected request: this dashboard answers only on "
                    + ", ".join(sorted(self.allowed_hosts)),
                )
                return

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                if not any(k == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, wrapped)


def _host(scope: Scope) -> str:
    for key, value in scope.get("headers", ()):
        if key == b"host":
            return str(value.decode("latin-1")).lower()
    return ""


async def _plain(send: Send, status: int, text: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": text.encode()})


def loopback_hosts(port: int) -> frozenset[str]:
    """The Host values a loopback server on ``port`` answers to."""
    return frozenset({f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"})
