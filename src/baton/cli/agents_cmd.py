"""``baton agents list|check|add|remove``: the configured agents, their health, and editing them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.table import Table

from baton.agents.registry import AgentRegistry, CheckResult
from baton.cli.app import (
    EXIT_FAILED,
    EXIT_INVALID,
    ConfigOption,
    JsonOption,
    console,
    fail,
    handle_errors,
    print_json,
    resolve_config_path,
)
from baton.config import CONFIG_FILENAME, LoadedConfig, load_configuration
from baton.models import Agent, AgentInterface, AgentStatus, Isolation
from baton.store.base import Store

agents_app = typer.Typer(
    name="agents",
    help="List the configured agents, check their health, add or remove them.",
    no_args_is_help=True,
)

_STATUS_STYLE = {
    AgentStatus.ACTIVE: "green",
    AgentStatus.ERROR: "red",
    AgentStatus.REGISTERING: "yellow",
    AgentStatus.INACTIVE: "dim",
    AgentStatus.UNREGISTERED: "dim",
}


def _load(config: Path | None) -> LoadedConfig:
    return load_configuration(resolve_config_path(config))


def _open_store(loaded: LoadedConfig) -> Store:
    from baton.store import open_store

    return open_store(loaded.configuration.global_.database_url, base_dir=loaded.root)


def _agents(loaded: LoadedConfig) -> dict[str, Agent]:
    return {agent_id: loaded.agent(agent_id) for agent_id in loaded.agent_ids}


def _when(value: Any) -> str:
    return value.isoformat(timespec="seconds") if value is not None else "never"


# -- list ------------------------------------------------------------------------------------------
def list_command(config: Path | None = ConfigOption, as_json: bool = JsonOption) -> None:
    """Show every configured agent with its registration status and last health check."""
    loaded = _load(config)
    store = _open_store(loaded)
    try:
        rows = [(agent, store.get_agent(agent_id)) for agent_id, agent in _agents(loaded).items()]
    finally:
        store.close()
    if as_json:
        print_json(
            [
                {
                    "id": agent.id,
                    "name": agent.name,
                    "provider": agent.provider,
                    "model": agent.model,
                    "interface": agent.interface.value,
                    "isolation": agent.isolation.value,
                    "capabilities": list(agent.capabilities),
                    "status": (stored.status if stored else AgentStatus.UNREGISTERED).value,
                    "last_health_check": _when(stored.last_health_check)
                    if stored and stored.last_health_check
                    else None,
                }
                for agent, stored in rows
            ]
        )
        return
    if not rows:
        console.print("no agents configured; add one with `baton agents add NAME --provider P --model M`")
        return
    table = Table(
        "AGENT",
        "PROVIDER",
        "MODEL",
        "INTERFACE",
        "CAPABILITIES",
        "STATUS",
        "LAST CHECK",
        box=None,
        pad_edge=False,
    )
    for agent, stored in rows:
        status = stored.status if stored else AgentStatus.UNREGISTERED
        style = _STATUS_STYLE.get(status, "")
        interface = agent.interface.value + (" (docker)" if agent.isolation is Isolation.DOCKER else "")
        table.add_row(
            agent.id,
            agent.provider,
            agent.model,
            interface,
            ", ".join(agent.capabilities),
            f"[{style}]{status.value}[/]" if style else status.value,
            _when(stored.last_health_check if stored else None),
        )
    console.print(table)


# -- check -----------------------------------------------------------------------------------------
def check_command(
    name: str | None = typer.Argument(None, help="The agent to check (default: all of them)."),
    check_all: bool = typer.Option(False, "--all", help="Check every configured agent."),
    live: bool = typer.Option(False, "--live", help="Also make one tiny real call to each agent."),
    config: Path | None = ConfigOption,
    as_json: bool = JsonOption,
) -> None:
    """Verify binaries/SDKs, versions and credentials (and with --live, a real call); record the result."""
    loaded = _load(config)
    agents = _agents(loaded)
    if name is not None and check_all:
        raise fail("pass an agent name or --all, not both")
    if name is not None and name not in agents:
        known = ", ".join(agents) or "none"
        raise fail(f"no agent named {name!r} in the configuration (configured: {known})")
    selected = [name] if name is not None else list(agents)
    if not selected:
        raise fail("no agents configured; add one with `baton agents add NAME --provider P --model M`")
    store = _open_store(loaded)
    try:
        registry = AgentRegistry(store, agents)
        results = asyncio.run(registry.check_many(selected, live=live))
    finally:
        store.close()
    if as_json:
        print_json([_result_json(r) for r in results])
    else:
        _print_results(results)
    if not all(r.ok for r in results):
        raise typer.Exit(EXIT_FAILED)


def _result_json(result: CheckResult) -> dict[str, Any]:
    return {
        "id": result.agent_id,
        "ok": result.ok,
        "status": result.status.value,
        "version": result.version,
        "detail": result.detail,
        "last_health_check": _when(result.checked_at) if result.checked_at else None,
    }


def _print_results(results: list[CheckResult]) -> None:
    table = Table("AGENT", "RESULT", "STATUS", "VERSION", "DETAIL", box=None, pad_edge=False)
    for r in results:
        style = _STATUS_STYLE.get(r.status, "")
        table.add_row(
            r.agent_id,
            "[green]ok[/]" if r.ok else "[red]failed[/]",
            f"[{style}]{r.status.value}[/]" if style else r.status.value,
            r.version or "-",
            r.detail,
        )
    console.print(table)


# -- disable / enable ---------------------------------------------------------------------------------
def _set_enabled(name: str, enabled: bool, config: Path | None, as_json: bool) -> None:
    loaded = _load(config)
    agents = _agents(loaded)
    if name not in agents:
        known = ", ".join(agents) or "none"
        raise fail(f"no agent named {name!r} in the configuration (configured: {known})")
    store = _open_store(loaded)
    try:
        registry = AgentRegistry(store, agents)
        stored = registry.enable(name) if enabled else registry.disable(name)
    finally:
        store.close()
    if as_json:
        print_json({"id": name, "status": stored.status.value})
        return
    what = "enabled: runs may use it again" if enabled else (
        "disabled: runs will not use it (fallbacks apply) until `baton agents enable " + name + "`")
    console.print(f"agent [bold]{name}[/] {what}", highlight=False)


def disable_command(
    name: str = typer.Argument(..., help="The agent to stop using."),
    config: Path | None = ConfigOption,
    as_json: bool = JsonOption,
) -> None:
    """Disable an active agent (status inactive): runs, the API and workers do not use it."""
    _set_enabled(name, False, config, as_json)


def enable_command(
    name: str = typer.Argument(..., help="The disabled agent to use again."),
    config: Path | None = ConfigOption,
    as_json: bool = JsonOption,
) -> None:
    """Enable a disabled agent again (status active)."""
    _set_enabled(name, True, config, as_json)


# -- add / remove ------------------------------------------------------------------------------------
def _project_file(config: Path | None) -> Path:
    path = resolve_config_path(config)
    if path is None:
        raise fail(f"no {CONFIG_FILENAME} here or in a parent; run `baton init` first")
    path = path / CONFIG_FILENAME if path.is_dir() else path
    if not path.is_file():
        raise fail(f"{path}: no such file; run `baton init` first")
    return path


def _scalar(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _entry(
    provider: str,
    model: str,
    interface: AgentInterface,
    capabilities: list[str],
    base_url: str | None,
    api_key_env: str | None,
    api_key_secret: str | None,
    isolation: Isolation,
    sets: list[str],
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "provider": provider,
        "model": model,
        "capabilities": capabilities or ["general"],
    }
    if interface is not AgentInterface.CLI:
        entry["interface"] = interface.value
    if isolation is not Isolation.SUBPROCESS:
        entry["isolation"] = isolation.value
    cfg: dict[str, Any] = {}
    if base_url:
        cfg["base_url"] = base_url
    if api_key_env and api_key_secret:
        raise fail("pass --api-key-env or --api-key-secret, not both")
    if api_key_env:
        cfg["api_key"] = f"${{{api_key_env}}}"
    if api_key_secret:
        cfg["api_key"] = f"${{secret:{api_key_secret}}}"
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise fail(f"--set {item!r}: expected KEY=VALUE")
        cfg[key.strip()] = _scalar(value)
    if cfg:
        entry["config"] = cfg
    return entry


def add_command(
    name: str = typer.Argument(..., help="The new agent's id, e.g. reviewer."),
    provider: str = typer.Option(
        ..., "--provider", "-p", help="anthropic, openai, github, google, openai-compatible or shell."
    ),
    model: str = typer.Option(..., "--model", "-m", help="The model, e.g. claude-sonnet-4-5."),
    interface: AgentInterface = typer.Option(
        AgentInterface.CLI, "--interface",
        help="cli (the vendor's CLI), api (its model API) or acp (over the Agent Client Protocol).",
    ),
    capability: list[str] | None = typer.Option(
        None, "--capability", help="A capability, e.g. code_review (repeatable; default: general)."
    ),
    base_url: str | None = typer.Option(
        None, "--base-url", help="The endpoint (gateway, proxy, local server)."
    ),
    api_key_env: str | None = typer.Option(
        None, "--api-key-env", help="Read the key from this environment variable (written as ${VAR})."
    ),
    api_key_secret: str | None = typer.Option(
        None, "--api-key-secret", help="Read the key from this stored secret (written as ${secret:NAME})."
    ),
    isolation: Isolation = typer.Option(
        Isolation.SUBPROCESS, "--isolation", help="subprocess, or docker (set --set image=...)."
    ),
    sets: list[str] | None = typer.Option(
        None, "--set", help="Another config key, KEY=VALUE (repeatable; values are YAML)."
    ),
    config: Path | None = ConfigOption,
    as_json: bool = JsonOption,
) -> None:
    """Add an agent to baton.yaml (comments and layout are kept; the result is validated first)."""
    from baton.config.edit import add_agent, write_validated

    path = _project_file(config)
    entry = _entry(
        provider,
        model,
        interface,
        list(capability or []),
        base_url,
        api_key_env,
        api_key_secret,
        isolation,
        list(sets or []),
    )
    text = path.read_text(encoding="utf-8")
    loaded = write_validated(path, add_agent(text, name, entry, shown=path.name))
    if name not in loaded.agent_ids:  # defined, but overridden by another layer
        raise fail(
            f"agent {name!r} was written to {path} but another configuration layer hides it", EXIT_INVALID
        )
    if as_json:
        print_json({"added": name, "path": str(path), "entry": entry})
        return
    console.print(
        f"added agent [bold]{name}[/] to {path}; check it with `baton agents check {name}`", highlight=False
    )


def remove_command(
    name: str = typer.Argument(..., help="The agent to remove."),
    config: Path | None = ConfigOption,
    as_json: bool = JsonOption,
) -> None:
    """Remove an agent from baton.yaml (validated first: steps must not use it) and from the store."""
    from baton.config.edit import remove_agent, write_validated

    path = _project_file(config)
    text = path.read_text(encoding="utf-8")
    loaded = write_validated(path, remove_agent(text, name, shown=path.name))
    store = _open_store(loaded)
    try:
        forgotten = AgentRegistry(store, {}).forget(name)
    finally:
        store.close()
    if as_json:
        print_json({"removed": name, "path": str(path), "unregistered": forgotten})
        return
    console.print(f"removed agent [bold]{name}[/] from {path}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``baton agents`` group to ``app``."""
    agents_app.command("list")(handle_errors(list_command))
    agents_app.command("check")(handle_errors(check_command))
    agents_app.command("disable")(handle_errors(disable_command))
    agents_app.command("enable")(handle_errors(enable_command))
    agents_app.command("add")(handle_errors(add_command))
    agents_app.command("remove")(handle_errors(remove_command))
    app.add_typer(agents_app, name="agents")
