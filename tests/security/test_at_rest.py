"""Secrets never rest in Baton's own records (issue 11, item 3): configuration versions and
their audit diffs, the database file's mode, and the one redaction path into the store."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import yaml

from baton.config.masking import mask_yaml_text
from baton.store import open_store

from .project import baton, baton_json, new_project

LITERAL = "sk-literal-key-5be1c0ffee77"
URL_PASSWORD = "pg-pass-93ac1d"


def test_config_apply_stores_references_and_masks_literal_keys(tmp_path: Path) -> None:
    repo = new_project(tmp_path / "project")
    path = repo / "baton.yaml"
    data = yaml.safe_load(path.read_text())
    data["agents"]["api"] = {"provider": "openai", "model": "gpt-5.5", "interface": "api",
                             "capabilities": ["chat"],
                             "config": {"api_key": LITERAL, "headers": {"Authorization": f"Bearer {LITERAL}"}}}
    data["agents"]["ref"] = {"provider": "anthropic", "model": "claude-sonnet-4-5", "interface": "api",
                             "capabilities": ["chat"], "config": {"api_key": "${MY_ANTHROPIC_KEY}"}}
    path.write_text(yaml.safe_dump(data, sort_keys=False)
                    + f"# database: postgresql://baton:{URL_PASSWORD}@db/baton\n")
    env = {"MY_ANTHROPIC_KEY": "sk-from-env-0b9e44d1aa"}
    applied = baton_json(repo, "config", "apply", env=env)
    data["version"] = "1.0.1"
    data["global"]["database_url"] = f"sqlite:///{repo}/.baton/baton.db"
    data["agents"]["api"]["config"]["api_key"] = LITERAL + "-v2"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    baton_json(repo, "config", "apply", env=env)

    outputs = [
        baton(repo, "config", "history", "--json", env=env).stdout,
        baton(repo, "config", "history", env=env).stdout,
        baton(repo, "config", "diff", applied["version"], env=env).stdout,
        baton(repo, "config", "diff", applied["version"], "1.0.1", env=env).stdout,
        baton(repo, "config", "show", env=env).stdout,
    ]
    store = open_store(None, base_dir=repo)
    try:
        versions = store.export_config_versions()
        audit = [a.diff for a in store.config_audit()]
    finally:
        store.close()
    outputs += [json.dumps(versions, default=str), *audit]
    outputs.append((repo / ".baton" / "baton.db").read_bytes().decode("latin-1"))
    for text in outputs:
        assert LITERAL not in text
        assert "sk-from-env-0b9e44d1aa" not in text
    stored = versions[0]["content"]
    assert "${MY_ANTHROPIC_KEY}" in stored and '"***"' in stored
    assert "Authorization" in stored and yaml.safe_load(stored)["agents"]["ref"]["config"]["api_key"] == (
        "${MY_ANTHROPIC_KEY}")


def test_mask_yaml_text_keeps_everything_but_the_values() -> None:
    text = (
        "# a comment\n"
        "agents:\n"
        "  a:\n"
        "    config:\n"
        f"      api_key: {LITERAL}   # inline comment\n"
        "      token: ${GH}\n"
        "      max_tokens: 4096\n"
        "      env: {OPENAI_API_KEY: 'x-12345678', PATH_EXTRA: /bin}\n"
        f"      url: postgresql://u:{URL_PASSWORD}@h/db\n"
    )
    masked = mask_yaml_text(text)
    assert LITERAL not in masked and URL_PASSWORD not in masked and "x-12345678" not in masked
    assert "# a comment" in masked and "# inline comment" in masked
    data = yaml.safe_load(masked)["agents"]["a"]["config"]
    assert data == {"api_key": "***", "token": "${GH}", "max_tokens": 4096,
                    "env": {"OPENAI_API_KEY": "***", "PATH_EXTRA": "/bin"},
                    "url": "postgresql://u:***@h/db"}


def test_the_store_and_its_folder_are_private(tmp_path: Path) -> None:
    repo = new_project(tmp_path / "project")
    baton_json(repo, "run", "hello")
    state = repo / ".baton"
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    for name in ("baton.db", "baton.db-wal", "baton.db-shm"):
        if (state / name).exists():
            assert stat.S_IMODE((state / name).stat().st_mode) == 0o600, name
    artifacts = state / "artifacts"
    assert stat.S_IMODE(artifacts.stat().st_mode) == 0o700
    for folder in artifacts.iterdir():
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
