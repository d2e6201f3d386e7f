"""Configuration versions are immutable once applied, and every apply is audited."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest

from baton.store import ConfigVersionImmutable, IntegrityViolation, StoreError
from baton.store.sql import SqlStore
from tests.store.helpers import FakeClock

V1 = 'version: "1.0.0"\nagents:\n  sh: {provider: shell, model: bash}\n'
V2 = 'version: "1.1.0"\nagents:\n  sh: {provider: shell, model: sh}\n'


def test_apply_records_the_version_and_an_audit_row(
    make_store: Callable[..., SqlStore], clock: FakeClock
) -> None:
    store = make_store(clock=clock)

    applied = store.apply_config("1.0.0", V1, actor="alice")

    assert applied.version == "1.0.0" and applied.content == V1
    assert applied.content_hash == hashlib.sha256(V1.encode()).hexdigest()
    assert (applied.applied_at, applied.applied_by) == (clock.now, "alice")
    assert store.get_config_version("1.0.0") == applied
    assert store.get_config_version("9.9.9") is None
    (audit,) = store.config_audit()
    assert (audit.version, audit.actor, audit.at, audit.action) == ("1.0.0", "alice", clock.now, "apply")
    assert audit.diff.startswith("--- config (none)\n+++ config 1.0.0\n")
    assert '+version: "1.0.0"\n' in audit.diff


def test_diff_is_against_the_previously_applied_version(store: SqlStore) -> None:
    store.apply_config("1.0.0", V1, actor="alice")
    store.apply_config("1.1.0", V2, actor="bob")

    latest = store.config_audit()[0]

    assert (latest.version, latest.actor, latest.action) == ("1.1.0", "bob", "apply")
    lines = latest.diff.splitlines()
    assert lines[:2] == ["--- config 1.0.0", "+++ config 1.1.0"]
    assert '-version: "1.0.0"' in lines and '+version: "1.1.0"' in lines
    assert "-  sh: {provider: shell, model: bash}" in lines
    assert "+  sh: {provider: shell, model: sh}" in lines


def test_reapplying_identical_content_is_an_audited_no_op(
    make_store: Callable[..., SqlStore], clock: FakeClock
) -> None:
    store = make_store(clock=clock)
    first = store.apply_config("1.0.0", V1, actor="alice")
    store.apply_config("1.1.0", V2, actor="alice")
    clock.advance(60)

    again = store.apply_config("1.0.0", V1, actor="bob")

    assert again == first  # same content, same original applied_at/applied_by
    audit = store.config_audit()
    assert [(a.version, a.action, a.actor) for a in audit] == [
        ("1.0.0", "reapply", "bob"),
        ("1.1.0", "apply", "alice"),
        ("1.0.0", "apply", "alice"),
    ]
    assert audit[0].at == clock.now
    assert audit[0].diff.splitlines()[:2] == ["--- config 1.1.0", "+++ config 1.0.0"]
    assert [v.version for v in store.list_config_versions()] == ["1.0.0", "1.1.0"]


def test_reapplying_the_current_version_has_an_empty_diff(store: SqlStore) -> None:
    store.apply_config("1.0.0", V1, actor="alice")
    store.apply_config("1.0.0", V1, actor="alice")
    assert store.config_audit()[0].diff == ""


def test_applied_version_cannot_change_content(store: SqlStore) -> None:
    store.apply_config("1.0.0", V1, actor="alice")

    with pytest.raises(ConfigVersionImmutable, match=r"bump `version:` \(e\.g\. to '1\.0\.1'\)"):
        store.apply_config("1.0.0", V1 + "# edited\n", actor="mallory")

    version = store.get_config_version("1.0.0")
    assert version is not None and version.content == V1
    assert [a.action for a in store.config_audit()] == ["apply"]


def test_audit_limit_returns_newest_first(store: SqlStore) -> None:
    for minor in range(5):
        store.apply_config(f"1.{minor}.0", f"version: 1.{minor}.0\n", actor="ci")
    assert [a.version for a in store.config_audit(limit=2)] == ["1.4.0", "1.3.0"]


def test_config_versions_export_and_import(store: SqlStore, make_store: Callable[..., SqlStore]) -> None:
    store.apply_config("1.0.0", V1, actor="alice")
    store.apply_config("1.1.0", V2, actor="bob")
    exported = store.export_config_versions()
    target = make_store(other=True)
    target.apply_config("1.0.0", V1, actor="carol")  # already there with the same content

    assert target.import_config_versions(exported) == 1
    assert target.import_config_versions(exported) == 0

    imported = target.get_config_version("1.1.0")
    assert imported == store.get_config_version("1.1.0")
    assert next((a.version, a.action, a.actor) for a in target.config_audit()) == ("1.1.0", "import", "bob")


def test_import_refuses_conflicting_or_tampered_versions(
    store: SqlStore, make_store: Callable[..., SqlStore]
) -> None:
    store.apply_config("1.0.0", V1, actor="alice")
    exported = store.export_config_versions()
    target = make_store(other=True)
    target.apply_config("1.0.0", V2, actor="carol")

    with pytest.raises(ConfigVersionImmutable):
        target.import_config_versions(exported)

    tampered = [{**exported[0], "version": "2.0.0", "content": V1 + "# sneaky\n"}]
    with pytest.raises(IntegrityViolation, match="does not match its content_hash"):
        target.import_config_versions(tampered)
    with pytest.raises(StoreError, match="format_version"):
        target.import_config_versions([{**exported[0], "format_version": 99}])
    assert [v.version for v in target.list_config_versions()] == ["1.0.0"]
