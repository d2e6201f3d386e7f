"""The secrets store: pick a backend, validate names, feed the redactor.

Backend choice (``BATON_SECRETS_BACKEND``): ``keyring`` (the OS keyring; an error when
none is usable), ``file`` (the encrypted file in ``$BATON_SECRETS_DIR``, else
``$XDG_CONFIG_HOME/baton`` or ``~/.config/baton``), or unset: the OS keyring when a real
one is available, the encrypted file otherwise, and always the file when
``BATON_SECRETS_DIR`` is set.

Every value read or written through a :class:`SecretStore` is registered with the
process-wide redactor, so it never reaches a log, an event, a transcript or an error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from baton.observability.redact import register_secret
from baton.secrets.backends import FileBackend, KeyringBackend, SecretBackend, usable_keyring
from baton.secrets.errors import InvalidSecretName, SecretNotFound, SecretsUnavailable

BACKEND_ENV = "BATON_SECRETS_BACKEND"
DIR_ENV = "BATON_SECRETS_DIR"
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]*$"
_NAME = re.compile(NAME_PATTERN)


def validate_name(name: str) -> str:
    if not _NAME.match(name) or len(name) > 200:
        raise InvalidSecretName(
            f"invalid secret name {name!r}: use letters, digits, '_', '.' or '-', starting with a "
            "letter (it is referenced as ${secret:NAME})"
        )
    return name


class SecretStore:
    """Named secrets in one backend."""

    def __init__(self, backend: SecretBackend) -> None:
        self.backend = backend

    @property
    def label(self) -> str:
        return self.backend.label

    def set(self, name: str, value: str) -> None:
        validate_name(name)
        if not value:
            raise SecretsUnavailable(f"refusing to store an empty value for secret {name!r}")
        register_secret(value)
        self.backend.set(name, value)

    def get(self, name: str) -> str:
        validate_name(name)
        value = self.backend.get(name)
        if value is None:
            raise SecretNotFound(name, self.label)
        register_secret(value)
        return value

    def remove(self, name: str) -> None:
        validate_name(name)
        if not self.backend.delete(name):
            raise SecretNotFound(name, self.label)

    def names(self) -> list[str]:
        return self.backend.names()


def secrets_dir(env: Mapping[str, str] | None = None) -> Path:
    """The folder of the encrypted-file backend."""
    env = os.environ if env is None else env
    explicit = env.get(DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "baton"


def open_secret_store(env: Mapping[str, str] | None = None) -> SecretStore:
    """The secrets store the environment selects (see the module docstring)."""
    env = os.environ if env is None else env
    choice = (env.get(BACKEND_ENV) or "").strip().lower()
    if choice not in ("", "file", "keyring"):
        raise SecretsUnavailable(f"{BACKEND_ENV}={choice!r} is not a backend; use 'keyring' or 'file'")
    if choice == "file" or (not choice and env.get(DIR_ENV)):
        return SecretStore(FileBackend(secrets_dir(env)))
    keyring = usable_keyring()
    if keyring is not None:
        return SecretStore(KeyringBackend(keyring))
    if choice == "keyring":
        raise SecretsUnavailable(
            f"{BACKEND_ENV}=keyring but no OS keyring is available (no Secret Service, macOS Keychain "
            "or Windows Credential Locker); unset it to use the encrypted file"
        )
    return SecretStore(FileBackend(secrets_dir(env)))


_default: tuple[tuple[str | None, str | None], SecretStore] | None = None


def default_store() -> SecretStore:
    """The store for this process's environment (reopened when the selecting variables change)."""
    global _default
    key = (os.environ.get(BACKEND_ENV), os.environ.get(DIR_ENV))
    if _default is None or _default[0] != key:
        _default = (key, open_secret_store())
    return _default[1]


def resolve_secret(name: str) -> str:
    """The ``secret:`` resolver of the configuration loader: ``${secret:NAME}`` → the value."""
    return default_store().get(name.strip())
