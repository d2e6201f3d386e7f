"""Where secret values live: the OS keyring, or a Fernet-encrypted file.

:class:`FileBackend` keeps ``secrets.enc`` (a Fernet token of a JSON object) and its key
``secrets.key`` side by side in one folder (mode 0700); both files are mode 0600 and a
key file that others can read is refused. :class:`KeyringBackend` stores each secret as a
password of service ``baton`` and keeps the list of names in one more entry, since
keyrings cannot list their contents.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from baton.secrets.errors import SecretsUnavailable

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

KEYRING_SERVICE = "baton"
_INDEX_ENTRY = "__baton_secret_names__"


class SecretBackend(Protocol):
    """Storage for secret values by name."""

    @property
    def label(self) -> str:
        """How the backend is shown to users."""
        ...

    def get(self, name: str) -> str | None: ...
    def set(self, name: str, value: str) -> None: ...
    def delete(self, name: str) -> bool: ...
    def names(self) -> list[str]: ...


def _private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


class FileBackend:
    """Secrets in a Fernet-encrypted JSON file; the key in a separate 0600 file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.key_path = directory / "secrets.key"
        self.data_path = directory / "secrets.enc"
        self._lock_path = directory / ".secrets.lock"

    @property
    def label(self) -> str:
        return f"encrypted file {self.data_path}"

    # -- files -------------------------------------------------------------------------------
    def _ensure_dir(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _fernet(self, create: bool) -> Fernet | None:
        from cryptography.fernet import Fernet

        if not self.key_path.exists():
            if not create:
                return None
            self._ensure_dir()
            key = Fernet.generate_key()
            fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(key)
                fh.flush()
                os.fsync(fh.fileno())
            return Fernet(key)
        if not _private(self.key_path):
            raise SecretsUnavailable(
                f"{self.key_path} can be read by other users; run `chmod 600 {self.key_path}` "
                "(and consider rotating the secrets it protects)"
            )
        try:
            return Fernet(self.key_path.read_bytes().strip())
        except ValueError:
            raise SecretsUnavailable(f"{self.key_path} is not a valid key file") from None

    def _load(self, fernet: Fernet | None) -> dict[str, str]:
        if fernet is None or not self.data_path.exists():
            return {}
        from cryptography.fernet import InvalidToken

        try:
            raw = fernet.decrypt(self.data_path.read_bytes())
        except InvalidToken:
            raise SecretsUnavailable(
                f"cannot decrypt {self.data_path} with {self.key_path}: the key does not match "
                "(restore the original key file, or move both files away to start over)"
            ) from None
        data = json.loads(raw)
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _save(self, fernet: Fernet, data: dict[str, str]) -> None:
        token = fernet.encrypt(json.dumps(data, sort_keys=True).encode("utf-8"))
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".secrets.enc.")  # created 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(token)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.data_path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self._ensure_dir()
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    # -- backend -----------------------------------------------------------------------------
    def get(self, name: str) -> str | None:
        return self._load(self._fernet(create=False)).get(name)

    def set(self, name: str, value: str) -> None:
        with self._locked():
            fernet = self._fernet(create=True)
            assert fernet is not None
            data = self._load(fernet)
            data[name] = value
            self._save(fernet, data)

    def delete(self, name: str) -> bool:
        with self._locked():
            fernet = self._fernet(create=False)
            data = self._load(fernet)
            if fernet is None or name not in data:
                return False
            del data[name]
            self._save(fernet, data)
            return True

    def names(self) -> list[str]:
        return sorted(self._load(self._fernet(create=False)))


class KeyringBackend:
    """Secrets as passwords of service ``baton`` in the OS keyring."""

    def __init__(self, keyring: Any) -> None:
        self._kr = keyring

    @property
    def label(self) -> str:
        kind = type(self._kr)
        return f"OS keyring ({kind.__module__}.{kind.__name__})"

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        from keyring.errors import KeyringError

        try:
            yield
        except KeyringError as exc:
            raise SecretsUnavailable(
                f"the OS keyring failed: {exc or type(exc).__name__} (set BATON_SECRETS_BACKEND=file "
                "to use the encrypted file instead)"
            ) from None

    def _index(self) -> list[str]:
        raw = self._kr.get_password(KEYRING_SERVICE, _INDEX_ENTRY)
        try:
            names = json.loads(raw) if raw else []
        except ValueError:
            names = []
        return sorted({str(n) for n in names}) if isinstance(names, list) else []

    def _write_index(self, names: list[str]) -> None:
        self._kr.set_password(KEYRING_SERVICE, _INDEX_ENTRY, json.dumps(sorted(set(names))))

    def get(self, name: str) -> str | None:
        with self._errors():
            value = self._kr.get_password(KEYRING_SERVICE, name)
        return None if value is None else str(value)

    def set(self, name: str, value: str) -> None:
        with self._errors():
            self._kr.set_password(KEYRING_SERVICE, name, value)
            self._write_index([*self._index(), name])

    def delete(self, name: str) -> bool:
        from keyring.errors import PasswordDeleteError

        with self._errors():
            try:
                self._kr.delete_password(KEYRING_SERVICE, name)
                found = True
            except PasswordDeleteError:
                found = False
            self._write_index([n for n in self._index() if n != name])
        return found

    def names(self) -> list[str]:
        with self._errors():
            return self._index()


def usable_keyring() -> Any | None:
    """The OS keyring when a real, encrypting backend is available; None otherwise.

    The fail and null backends, an empty chainer and the plaintext backends of
    ``keyrings.alt`` do not count.
    """
    try:
        import keyring
        from keyring.backends import chainer, fail, null
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:  # a broken keyring configuration means: no keyring
        return None
    candidates = list(backend.backends) if isinstance(backend, chainer.ChainerBackend) else [backend]
    real = [
        b
        for b in candidates
        if not isinstance(b, fail.Keyring | null.Keyring)
        and not (type(b).__module__.startswith("keyrings.alt") and "plaintext" in type(b).__name__.lower())
    ]
    return backend if real else None
