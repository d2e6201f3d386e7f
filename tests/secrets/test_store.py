"""The secrets store: encrypted-file round trip, file modes, refusal of unsafe files, keyring backend."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backend import KeyringBackend as KeyringBase
from keyring.errors import PasswordDeleteError

from baton.observability.redact import redactor
from baton.secrets import (
    InvalidSecretName,
    SecretNotFound,
    SecretsUnavailable,
    open_secret_store,
)
from baton.secrets.backends import FileBackend, KeyringBackend, usable_keyring


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def file_store(tmp_path: Path) -> Any:
    return open_secret_store({"BATON_SECRETS_DIR": str(tmp_path / "secrets")})


def test_file_backend_round_trip_with_private_files(tmp_path: Path) -> None:
    store = file_store(tmp_path)
    assert isinstance(store.backend, FileBackend)
    store.set("OPENAI", "sk-file-roundtrip-0a1b2c3d")
    store.set("GITHUB_TOKEN", "ghp_file_roundtrip_9z8y7x")
    store.set("OPENAI", "sk-file-roundtrip-replaced")

    again = file_store(tmp_path)  # a new process would see the same
    assert again.get("OPENAI") == "sk-file-roundtrip-replaced"
    assert again.get("GITHUB_TOKEN") == "ghp_file_roundtrip_9z8y7x"
    assert again.names() == ["GITHUB_TOKEN", "OPENAI"]

    folder = tmp_path / "secrets"
    assert _mode(folder) == 0o700
    assert _mode(folder / "secrets.key") == 0o600
    assert _mode(folder / "secrets.enc") == 0o600
    raw = (folder / "secrets.enc").read_bytes()
    assert b"sk-file-roundtrip" not in raw and b"OPENAI" not in raw  # encrypted, names too

    again.remove("OPENAI")
    assert file_store(tmp_path).names() == ["GITHUB_TOKEN"]
    with pytest.raises(SecretNotFound, match="baton secrets set OPENAI"):
        file_store(tmp_path).get("OPENAI")
    with pytest.raises(SecretNotFound):
        again.remove("OPENAI")


def test_values_read_or_written_are_registered_for_redaction(tmp_path: Path) -> None:
    store = file_store(tmp_path)
    store.set("WRITTEN", "value-written-5e6f7a")
    assert "value-written-5e6f7a" in redactor()
    # a value stored by another process is registered when it is read
    FileBackend(tmp_path / "secrets").set("READ", "value-read-only-8c9d0e")
    assert "value-read-only-8c9d0e" not in redactor()
    assert file_store(tmp_path).get("READ") == "value-read-only-8c9d0e"
    assert "value-read-only-8c9d0e" in redactor()


def test_an_empty_store_lists_nothing_and_creates_nothing(tmp_path: Path) -> None:
    store = file_store(tmp_path)
    assert store.names() == []
    with pytest.raises(SecretNotFound):
        store.get("NOPE")
    assert not (tmp_path / "secrets" / "secrets.key").exists()


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    store = file_store(tmp_path)
    store.set("K", "value-unsafe-key-1234")
    key = tmp_path / "secrets" / "secrets.key"
    os.chmod(key, 0o644)
    with pytest.raises(SecretsUnavailable, match="chmod 600"):
        file_store(tmp_path).get("K")


def test_a_mismatched_key_is_reported_not_crashed(tmp_path: Path) -> None:
    store = file_store(tmp_path)
    store.set("K", "value-mismatch-5678")
    key = tmp_path / "secrets" / "secrets.key"
    key.unlink()
    from cryptography.fernet import Fernet

    fd = os.open(key, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, Fernet.generate_key())
    os.close(fd)
    with pytest.raises(SecretsUnavailable, match="key does not match"):
        file_store(tmp_path).get("K")


@pytest.mark.parametrize("name", ["", "1ABC", "has space", "semi;colon", "${x}", "a" * 201])
def test_invalid_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidSecretName):
        file_store(tmp_path).set(name, "whatever-value")


def test_backend_selection(tmp_path: Path) -> None:
    folder = str(tmp_path / "s")
    assert isinstance(
        open_secret_store({"BATON_SECRETS_BACKEND": "file", "BATON_SECRETS_DIR": folder}).backend, FileBackend
    )
    with pytest.raises(SecretsUnavailable, match="not a backend"):
        open_secret_store({"BATON_SECRETS_BACKEND": "vault"})
    # HOME decides the default folder when nothing else does
    default = open_secret_store({"BATON_SECRETS_BACKEND": "file", "HOME": str(tmp_path)})
    assert isinstance(default.backend, FileBackend)
    assert default.backend.directory == tmp_path / ".config" / "baton"


class MemoryKeyring(KeyringBase):
    """A real keyring backend kept in memory (keyring ships none)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.passwords.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


@pytest.fixture
def memory_keyring() -> Any:
    previous = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(previous)


def test_a_real_keyring_is_preferred_and_keeps_a_name_index(memory_keyring: MemoryKeyring) -> None:
    assert usable_keyring() is memory_keyring
    store = open_secret_store({})
    assert isinstance(store.backend, KeyringBackend)
    assert "MemoryKeyring" in store.label
    store.set("B_TOKEN", "keyring-value-b-1111")
    store.set("A_TOKEN", "keyring-value-a-2222")
    assert memory_keyring.passwords[("baton", "A_TOKEN")] == "keyring-value-a-2222"
    assert store.names() == ["A_TOKEN", "B_TOKEN"]
    store.remove("B_TOKEN")
    assert store.names() == ["A_TOKEN"]
    with pytest.raises(SecretNotFound):
        store.remove("B_TOKEN")
    assert store.get("A_TOKEN") == "keyring-value-a-2222"


def test_fail_and_null_keyrings_do_not_count(tmp_path: Path) -> None:
    from keyring.backends import fail, null

    previous = keyring.get_keyring()
    try:
        for ring in (fail.Keyring(), null.Keyring()):
            keyring.set_keyring(ring)
            assert usable_keyring() is None
            store = open_secret_store({"HOME": str(tmp_path)})
            assert isinstance(store.backend, FileBackend)
            with pytest.raises(SecretsUnavailable, match="no OS keyring"):
                open_secret_store({"BATON_SECRETS_BACKEND": "keyring"})
    finally:
        keyring.set_keyring(previous)
