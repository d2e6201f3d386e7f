"""``baton init`` and ``baton config validate|show|apply|history|diff``."""

from __future__ import annotations

import difflib
import getpass
import sys
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.table import Table
from rich.text import Text

from baton.cli.app import (
    EXIT_INVALID,
    ConfigOption,
    JsonOption,
    console,
    err_console,
    fail,
    handle_errors,
    print_json,
    resolve_config_path,
)
from baton.cli.init_template import AGENT_CLIS, detect_agent_clis, render_config
from baton.config import (
    CONFIG_FILENAME,
    ConfigError,
    LoadedConfig,
    load_configuration,
    mask_secrets,
    parse_assignments,
)
from baton.store.base import Store
from baton.wording import counted

config_app = typer.Typer(
    name="config",
    help="Validate, show, apply and audit the configuration (baton.yaml).",
    no_args_is_help=True,
)

DirOption = typer.Option(
    Path("."), "--dir", help="Project directory to write baton.yaml into.", file_okay=False
)
SetOption = typer.Option(
    None, "--set", help="Override a setting, e.g. --set global.cache.enabled=false (repeatable)."
)


def _load(config: Path | None, sets: list[str] | None = None) -> LoadedConfig:
    overrides = parse_assignments(sets or [])
    return load_configuration(resolve_config_path(config), overrides=overrides)


STATE_ENTRY = ".baton/"


def ignore_state_dir(directory: Path) -> Path | None:
    """Add ``.baton/`` to ``directory/.gitignore`` unless it is there; the file written, or None."""
    path = directory / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if any(line.strip() in {".baton", ".baton/", "/.baton", "/.baton/"} for line in text.splitlines()):
        return None
    sep = "" if not text or text.endswith("\n") else "\n"
    path.write_text(f"{text}{sep}# Baton's store, artifacts and worktrees\n{STATE_ENTRY}\n", encoding="utf-8")
    return path


def _out(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


# -- baton init ---------------------------------------------------------------------------------
@handle_errors
def init_command(
    force: bool = typer.Option(False, "--force", help="Overwrite an existing baton.yaml."),
    directory: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Write a commented baton.yaml with the agent CLIs found on PATH and a hello workflow."""
    target = directory / CONFIG_FILENAME
    if target.exists() and not force:
        raise fail(f"{target} already exists; pass --force to overwrite it", EXIT_INVALID)
    found = detect_agent_clis()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        target.write_text(render_config(found), encoding="utf-8")
        ignored = ignore_state_dir(directory)
    except OSError as exc:
        raise fail(f"cannot write {target}: {exc.strerror or exc}", 1) from None
    if as_json:
        print_json({"path": str(target), "agents": {"sh": "shell", **found},
                    "gitignore": str(ignored) if ignored else None})
        return
    _out(f"Wrote {target}")
    if ignored:
        _out(f"Added {STATE_ENTRY} to {ignored} (Baton's store and artifacts stay out of git)")
    for cli in AGENT_CLIS:
        where = found[cli.agent_id]
        status = f"found at {where}, enabled" if where else "not found, left commented out"
        _out(f"  {cli.agent_id:<8} {cli.title}: {status}")
    _out("Next: baton config validate && baton run hello")


# -- baton config validate --------------------------------------------------------------------------
@config_app.command("validate")
def validate_command(
    config: Path | None = ConfigOption,
    as_json: bool = JsonOption,
    sets: list[str] | None = SetOption,
) -> None:
    """Check the configuration; print one OK line, or the located error and exit 2."""
    try:
        loaded = _load(config, sets)
    except ConfigError as exc:
        # Bare `file:line:col field: message`, the format editors and CI annotations parse.
        if as_json:
            print_json({"ok": False, "error": _error_json(exc)})
        sys.stderr.write(f"{exc}\n")
        raise typer.Exit(exc.cli_exit_code) from None
    cfg = loaded.configuration
    shown = _shown(loaded.path) if loaded.path else "built-in defaults"
    if as_json:
        print_json(
            {
                "ok": True,
                "path": str(loaded.path) if loaded.path else None,
                "version": cfg.version,
                "agents": len(cfg.agents),
                "workflows": len(cfg.workflows),
                "sources": [str(p) for p in loaded.sources],
            }
        )
        return
    _out(
        f"OK {shown}: version {cfg.version}, {counted(len(cfg.agents), 'agent')}, "
        f"{counted(len(cfg.workflows), 'workflow')}"
    )


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _error_json(exc: ConfigError) -> dict[str, Any]:
    return {
        "file": exc.file,
        "line": exc.line,
        "column": exc.column,
        "field": exc.field_path,
        "message": exc.message,
        "text": str(exc),
    }


# -- baton config show ---------------------------------------------------------------------------------
@config_app.command("show")
@handle_errors
def show_command(
    config: Path | None = ConfigOption,
    as_json: bool = JsonOption,
    section: str | None = typer.Option(
        None, "--section", "-s", help="Only this part, e.g. global or agents.claude."
    ),
    sets: list[str] | None = SetOption,
) -> None:
    """Print the merged, interpolated configuration (credentials masked)."""
    loaded = _load(config, sets)
    data: Any = mask_secrets(loaded.configuration.model_dump(mode="json", by_alias=True))
    if section:
        data = _section(data, section)
    if as_json:
        print_json(data)
        return
    _out(yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, default_flow_style=False))


class _BlockDumper(yaml.SafeDumper):
    """Writes multi-line strings (prompt templates) as ``|`` blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _represent_str)


def _section(data: Any, section: str) -> Any:
    node = data
    walked: list[str] = []
    for part in section.split("."):
        if not isinstance(node, dict) or part not in node:
            where = ".".join(walked) or "the configuration"
            known = ", ".join(node) if isinstance(node, dict) else "none"
            raise fail(f"--section {section}: no {part!r} in {where} (available: {known})")
        node = node[part]
        walked.append(part)
    return node


# -- store-backed commands -----------------------------------------------------------------------------
def _open_store(loaded: LoadedConfig) -> Store:
    from baton.store import open_store

    return open_store(loaded.configuration.global_.database_url, base_dir=loaded.root)


def _actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@config_app.command("apply")
@handle_errors
def apply_command(
    config: Path | None = ConfigOption,
    actor: str | None = typer.Option(None, "--actor", help="Who applies it (default: your user)."),
    as_json: bool = JsonOption,
) -> None:
    """Validate the configuration, then record baton.yaml and .baton/workflows/*.yaml as an
    immutable configuration version."""
    from baton.config.versions import configuration_content
    from baton.store import ConfigVersionImmutable

    loaded = _load(config)  # validates baton.yaml and .baton/workflows/*.yaml
    if loaded.text is None or loaded.path is None:
        raise fail(f"no {CONFIG_FILENAME} to apply; run `baton init` first")
    for workflow_id in loaded.workflow_ids:  # each workflow as `baton run` would build it
        loaded.workflow(workflow_id)
    version = loaded.configuration.version
    content = configuration_content(loaded.path)
    store = _open_store(loaded)
    try:
        before = store.get_config_version(version)
        applied = store.apply_config(version, content, actor=actor or _actor())
    except ConfigVersionImmutable as exc:
        raise fail(str(exc), EXIT_INVALID) from None
    finally:
        store.close()
    fresh = before is None
    if as_json:
        print_json(
            {
                "version": applied.version,
                "content_hash": applied.content_hash,
                "applied_at": applied.applied_at.isoformat(),
                "applied_by": applied.applied_by,
                "new": fresh,
            }
        )
        return
    what = "applied" if fresh else "already applied with identical content;"
    _out(
        f"{what} version {applied.version} ({applied.content_hash[:12]}) "
        f"by {applied.applied_by} at {applied.applied_at:%Y-%m-%d %H:%M:%S}"
    )


@config_app.command("history")
@handle_errors
def history_command(
    config: Path | None = ConfigOption,
    as_json: bool = JsonOption,
    limit: int = typer.Option(100, "--limit", min=1, max=10_000,
                              help="Audit rows to show (newest first, 1-10000)."),
) -> None:
    """List the applied configuration versions and the audit trail."""
    loaded = _load(config)
    store = _open_store(loaded)
    try:
        versions = store.list_config_versions()
        audit = store.config_audit(limit=limit)
    finally:
        store.close()
    if as_json:
        print_json(
            {
                "versions": [
                    {
                        "version": v.version,
                        "content_hash": v.content_hash,
                        "applied_at": v.applied_at.isoformat(),
                        "applied_by": v.applied_by,
                    }
                    for v in versions
                ],
                "audit": [
                    {
                        "id": a.id,
                        "version": a.version,
                        "actor": a.actor,
                        "at": a.at.isoformat(),
                        "action": a.action,
                        "diff": a.diff,
                    }
                    for a in audit
                ],
            }
        )
        return
    if not versions:
        _out("no configuration version applied yet; run `baton config apply`")
        return
    table = Table(title="Applied versions")
    for column in ("version", "applied at", "by", "sha256"):
        table.add_column(column)
    for v in versions:
        table.add_row(
            Text(v.version),
            f"{v.applied_at:%Y-%m-%d %H:%M:%S}",
            Text(v.applied_by),
            v.content_hash[:12],
        )
    console.print(table)
    trail = Table(title="Audit trail (newest first)")
    for column in ("#", "at", "actor", "action", "version", "changed lines"):
        trail.add_column(column)
    for a in audit:
        changed = sum(
            1 for line in a.diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))
        )
        trail.add_row(
            str(a.id),
            f"{a.at:%Y-%m-%d %H:%M:%S}",
            Text(a.actor),
            a.action,
            Text(a.version),
            str(changed),
        )
    console.print(trail)


@config_app.command("diff")
@handle_errors
def diff_command(
    v1: str | None = typer.Argument(None, help="Applied version (default: the latest applied)."),
    v2: str | None = typer.Argument(None, help="Applied version (default: the current file)."),
    config: Path | None = ConfigOption,
    as_json: bool = JsonOption,
) -> None:
    """Unified diff between two applied versions, or an applied version and the file."""
    loaded = _load(config)
    store = _open_store(loaded)
    try:
        versions = store.list_config_versions()
        if not versions:
            raise fail("no configuration version applied yet; run `baton config apply` first")
        if v1 is None:
            audit = store.config_audit(limit=1)
            v1 = audit[0].version if audit else versions[-1].version
        known = [v.version for v in versions]
        old = store.get_config_version(v1)
        if old is None:
            raise fail(f"version {v1!r} was never applied (applied: {', '.join(known)})")
        if v2 is None:
            new_label = f"{_shown(loaded.path) if loaded.path else CONFIG_FILENAME} (current)"
            from baton.config.versions import configuration_content

            new_text = configuration_content(loaded.path) if loaded.path else ""
        else:
            new = store.get_config_version(v2)
            if new is None:
                raise fail(f"version {v2!r} was never applied (applied: {', '.join(known)})")
            new_label, new_text = f"version {v2}", new.content
    finally:
        store.close()
    diff = "".join(
        difflib.unified_diff(
            old.content.splitlines(keepends=True),
            new_text.splitlines(keepends=True),
            fromfile=f"version {v1}",
            tofile=new_label,
        )
    )
    if diff and not diff.endswith("\n"):
        diff += "\n"
    if as_json:
        print_json({"from": f"version {v1}", "to": new_label, "diff": diff, "changed": bool(diff)})
        return
    if not diff:
        err_console.print(f"no differences between version {v1} and {new_label}", markup=False)
        return
    sys.stdout.write(diff)


def register(app: typer.Typer) -> None:
    """Add ``baton init`` and the ``baton config`` group to ``app``."""
    app.command("init")(init_command)
    app.add_typer(config_app, name="config")
