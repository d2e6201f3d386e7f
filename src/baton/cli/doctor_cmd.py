"""``baton doctor``: is this machine ready to run Baton? One line per check, and for each
problem one line saying what to do."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import typer

from baton.cli.app import EXIT_FAILED, ConfigOption, JsonOption, console, handle_errors, print_json
from baton.wording import counted

MIN_PYTHON = (3, 11)


@dataclass(slots=True)
class Check:
    """One thing ``baton doctor`` looked at."""

    name: str
    ok: bool
    detail: str
    optional: bool = False


def _python() -> Check:
    version = ".".join(str(p) for p in sys.version_info[:3])
    if sys.version_info[:2] < MIN_PYTHON:
        return Check("python", False, f"Python {version} is too old: Baton needs "
                                      f"{'.'.join(map(str, MIN_PYTHON))} or newer")
    return Check("python", True, f"Python {version} at {sys.executable}")


def _git() -> Check:
    path = shutil.which("git")
    if path is None:
        return Check("git", False, "git is not on PATH: install git (e.g. `apt-get install git`)")
    done = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    return Check("git", done.returncode == 0, done.stdout.strip() or done.stderr.strip())


def _config(config: Path | None) -> tuple[Check, object | None]:
    from baton.cli.app import resolve_config_path
    from baton.config import ConfigError, load_configuration

    path = resolve_config_path(config)
    if path is None:
        missing = "no baton.yaml here or in a parent: run `baton init` in your project"
        return Check("config", False, missing), None
    try:
        loaded = load_configuration(path)
    except ConfigError as exc:
        return Check("config", False, f"{exc} (fix it, then `baton config validate`)"), None
    return Check("config", True, f"{path}"), loaded


def _store(loaded: object) -> Check:
    from baton.config import LoadedConfig
    from baton.errors import BatonError
    from baton.store import open_store

    assert isinstance(loaded, LoadedConfig)
    url = loaded.configuration.global_.database_url
    try:
        store = open_store(url, base_dir=loaded.root)
    except BatonError as exc:
        return Check("store", False, f"{exc} (check global.database_url)")
    try:
        count = len(store.list_executions(limit=1000))
    finally:
        store.close()
    if url is None:
        shown = str(loaded.root / ".baton" / "baton.db")
    else:
        shown = url if "@" not in url else url.split("://")[0] + "://…@" + url.split("@", 1)[1]
    executions = "1000+ executions" if count == 1000 else counted(count, "execution")
    return Check("store", True, f"{shown} ({executions})")


def _agents(loaded: object) -> list[Check]:
    import asyncio

    from baton.agents.factory import create_adapter
    from baton.agents.health import check_adapter, uses_container
    from baton.agents.logins import login_problem
    from baton.cli.init_template import AGENT_CLIS
    from baton.config import LoadedConfig
    from baton.models import AgentInterface

    assert isinstance(loaded, LoadedConfig)
    checks: list[Check] = []
    configured = {aid: loaded.agent(aid) for aid in loaded.agent_ids}

    async def run_all() -> list[tuple[str, bool, str]]:
        async def one(aid: str) -> tuple[str, bool, str]:
            agent = configured[aid]
            try:
                report = await check_adapter(create_adapter(agent))
            except Exception as exc:  # a broken adapter is a failed check
                return aid, False, f"{type(exc).__name__}: {exc}"
            detail = report.detail
            ok = report.ok
            if ok and agent.interface is AgentInterface.CLI and not agent.config.get("base_url") \
                    and not uses_container(agent):
                problem = login_problem(agent.provider)
                if problem is not None:
                    ok, detail = False, problem
            return aid, ok, detail

        return list(await asyncio.gather(*(one(aid) for aid in configured)))

    for aid, ok, detail in asyncio.run(run_all()):
        shown = detail if ok else f"{detail} (then `baton agents check {aid}`)"
        checks.append(Check(f"agent {aid}", ok, shown))
    used = {a.provider for a in configured.values() if a.interface is AgentInterface.CLI}
    for cli in AGENT_CLIS:
        if cli.provider in used:
            continue
        path = shutil.which(cli.program)
        if path is None:
            checks.append(Check(f"cli {cli.program}", True, f"{cli.title} not installed (optional)",
                                optional=True))
        else:
            checks.append(Check(f"cli {cli.program}", True,
                                f"{cli.title} at {path}, not configured: `baton agents add {cli.agent_id} "
                                f"--provider {cli.provider} --model {cli.model}`", optional=True))
    return checks


def doctor(as_json: bool = JsonOption, config: Path | None = ConfigOption) -> None:
    """Check Python, git, the configuration, the store and every agent (CLI, login, Docker)."""
    checks = [_python(), _git()]
    config_check, loaded = _config(config)
    checks.append(config_check)
    if loaded is not None:
        checks.append(_store(loaded))
        checks.extend(_agents(loaded))
    problems = [c for c in checks if not c.ok]
    if as_json:
        print_json({"ok": not problems, "checks": [
            {"name": c.name, "ok": c.ok, "detail": c.detail, "optional": c.optional} for c in checks]})
    else:
        for c in checks:
            mark = "[green]ok[/]     " if c.ok else "[red]problem[/]"
            console.print(f"{mark} {c.name}: {c.detail}", highlight=False, soft_wrap=True)
        console.print(counted(len(problems), 'problem') if problems else "all good", highlight=False)
    if problems:
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    app.command("doctor")(handle_errors(doctor))
