"""API tokens issued by ``baton tokens create``: only their SHA-256 is stored.

A token reads ``bt_<id>_<secret>``: ``id`` names it in listings and audit rows, the secret
is 32 random bytes. Tokens from configuration (``api.tokens``) never touch this table.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from baton.store.engine import WRITE_OPTION
from baton.store.errors import AlreadyExists, NotFound
from baton.store.schema import api_tokens

ROLES = ("viewer", "operator", "admin")


def sha256_hex(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A stored token (never its secret)."""

    id: str
    name: str
    role: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None


def _now() -> datetime:
    return datetime.now(UTC)


class TokenStore:
    """Create, list, revoke and look up issued tokens in the store's database."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = _now) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._clock = clock

    def create(self, name: str, role: str, *, created_by: str) -> tuple[IssuedToken, str]:
        """Issue a token; returns it and its plaintext (shown once, never stored)."""
        if role not in ROLES:
            raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
        token_id = secrets.token_hex(6)
        plain = f"bt_{token_id}_{secrets.token_urlsafe(32)}"
        now = self._clock()
        try:
            with self._writer.begin() as conn:
                conn.execute(
                    insert(api_tokens).values(
                        id=token_id,
                        name=name,
                        role=role,
                        token_sha256=sha256_hex(plain),
                        created_at=now,
                        created_by=created_by,
                        revoked_at=None,
                    )
                )
        except IntegrityError:  # 48 random bits collided: vanishingly rare
            raise AlreadyExists("api token", token_id) from None
        return IssuedToken(token_id, name, role, now, created_by, None), plain

    def all(self, *, include_revoked: bool = False) -> list[IssuedToken]:
        query = select(api_tokens).order_by(api_tokens.c.created_at, api_tokens.c.id)
        if not include_revoked:
            query = query.where(api_tokens.c.revoked_at.is_(None))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [IssuedToken(r.id, r.name, r.role, r.created_at, r.created_by, r.revoked_at) for r in rows]

    def revoke(self, id_or_name: str) -> list[str]:
        """Revoke the token with this id, or every live token with this name; returns ids."""
        c = api_tokens.c
        with self._writer.begin() as conn:
            ids = [
                row.id
                for row in conn.execute(
                    select(c.id).where(or_(c.id == id_or_name, c.name == id_or_name), c.revoked_at.is_(None))
                )
            ]
            if not ids:
                raise NotFound("api token", id_or_name)
            conn.execute(update(api_tokens).where(c.id.in_(ids)).values(revoked_at=self._clock()))
        return ids

    def find(self, digest: str) -> IssuedToken | None:
        """The live token with this SHA-256, or None."""
        c = api_tokens.c
        with self.engine.connect() as conn:
            row = conn.execute(select(api_tokens).where(c.token_sha256 == digest)).first()
        if row is None or row.revoked_at is not None:
            return None
        return IssuedToken(row.id, row.name, row.role, row.created_at, row.created_by, row.revoked_at)
