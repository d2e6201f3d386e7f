"""Load the layered configuration of a project into a validated ``Configuration``."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dotenv import dotenv_values

from baton.config.errors import (
    AgentNotFound,
    ConfigError,
    ConfigFileError,
    ConfigNotFound,
    ConfigValidationError,
    InterpolationError,
    WorkflowNotFound,
)
from baton.config.includes import PROMPT_PREFIX, resolve_includes
from baton.config.interpolate import Interpolator, Resolver, UnresolvedAt
from baton.config.layers import (
    Layer,
    env_layer,
    merge_layers,
    override_layer,
    owner,
)
from baton.config.parsecache import ParseCache, ParsedFile
from baton.config.yamlio import FieldPath, compose, locate, read_text

if TYPE_CHECKING:
    from baton.config.diagnostics import Locator
    from baton.models import Agent, Configuration, Workflow

CONFIG_FILENAME = "baton.yaml"
USER_CONFIG_ENV = "BATON_USER_CONFIG"
WORKFLOWS_DIR = Path(".baton") / "workflows"
PROMPTS_DIR = Path(".baton") / "prompts"
# Only used when there is no project file (``required=False``).
BUILTIN_DEFAULTS: dict[str, Any] = {"version": "0.0.0"}
# Settings holding paths that are relative to the file that sets them.
PATH_SETTINGS: tuple[FieldPath, ...] = (("global", "workspace_dir"), ("global", "artifacts_dir"))

@dataclass(frozen=True)
class LoadedConfig:
    """A validated configuration and where it came from."""

    configuration: Configuration
    path: Path | None
    root: Path
    sources: tuple[Path, ...] = ()
    text: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict, repr=False)
    locator: Locator | None = field(default=None, repr=False, compare=False)
    # workflows whose templates, conditions and output schemas are still to be checked
    # (``load_configuration(lazy=True)``)
    unchecked: set[str] = field(default_factory=set, repr=False, compare=False)
    _workflows: dict[str, Workflow] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def workflow_ids(self) -> list[str]:
        return list(self.configuration.workflows)

    @property
    def agent_ids(self) -> list[str]:
        return list(self.configuration.agents)

    def workflow(self, workflow_id: str) -> Workflow:
        """The runtime Workflow for ``workflow_id``; WorkflowNotFound lists the known ids."""
        cached = self._workflows.get(workflow_id)
        if cached is not None:
            return cached
        self.check_workflow(workflow_id)
        workflow = configured_workflow(self.configuration, workflow_id)
        if workflow is None:
            raise WorkflowNotFound(workflow_id, self.workflow_ids)
        self._workflows[workflow_id] = workflow
        return workflow

    def check_workflow(self, workflow_id: str) -> None:
        """Finish the checks a lazy load left out for workflow ``workflow_id`` (its templates,
        conditions, output schemas and the steps they name): a problem is the same located
        ConfigValidationError the full load raises. A no-op for checked or unknown ids."""
        if workflow_id not in self.unchecked:
            return
        from pydantic import ValidationError

        from baton.config.diagnostics import validation_error
        from baton.models.workflow import WorkflowConfig

        try:
            WorkflowConfig.model_validate(self.data["workflows"][workflow_id], context={"root": self.root})
        except ValidationError as exc:
            assert self.locator is not None
            raise validation_error(exc, self.data, self.locator, ("workflows", workflow_id)) from None
        self.unchecked.discard(workflow_id)

    def locate(self, path: FieldPath) -> str | None:
        """``file:line:col`` of the setting at ``path`` (as written), or None if no file sets it."""
        node: Any = self.data
        for seg in path:
            present = seg in node if isinstance(node, dict) else (
                isinstance(node, list) and isinstance(seg, int) and 0 <= seg < len(node))
            if not present:
                return None
            node = node[seg]
        if self.locator is None:
            return None
        return self.locator.error(ConfigValidationError, "", path).location

    def agent(self, agent_id: str) -> Agent:
        """The runtime Agent for ``agent_id`` (a fresh object); AgentNotFound lists the ids."""
        cfg = self.configuration.agents.get(agent_id)
        if cfg is None:
            raise AgentNotFound(agent_id, self.agent_ids)
        from baton.models import Agent

        return Agent.from_config(agent_id, cfg)


def configured_workflow(configuration: Configuration, workflow_id: str) -> Workflow | None:
    """The workflow ``workflow_id`` from the configuration, else the built-in one with its
    roles bound to the configured agents (built-ins are the lowest layer), else None."""
    cfg = configuration.workflows.get(workflow_id)
    if cfg is not None:
        from baton.models import Workflow

        return Workflow.from_config(workflow_id, cfg)
    from baton.workflows.catalog import builtin_workflow

    return builtin_workflow(workflow_id, configuration.agents)


def find_config(start: Path) -> Path | None:
    """``baton.yaml`` in ``start`` or the nearest parent that has one."""
    here = start.absolute()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_FILENAME
        if candidate.is_file():
            return candidate
    return None


def load_configuration(
    path: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    cwd: Path | None = None,
    required: bool = True,
    resolvers: Mapping[str, Resolver] | None = None,
    lazy: bool = False,
) -> LoadedConfig:
    """Load, merge, interpolate and validate the configuration.

    ``path`` is the project file (default: ``baton.yaml`` in ``cwd`` or a parent; a
    directory means its ``baton.yaml``). ``env`` replaces ``os.environ`` (the ``.env``
    beside the project file fills in what it lacks). ``overrides`` is the top layer;
    dotted keys nest. ``resolvers`` expand ``${prefix:NAME}`` references, e.g.
    ``{"secret": store.get}``; by default ``${secret:NAME}`` is read from the local
    secrets store (:mod:`baton.secrets`), and ``resolvers={}`` keeps it as written.
    Without a project file, ``required=False`` loads the user file and defaults only.
    Every problem is raised as a located :class:`ConfigError`.

    ``lazy=True`` (``baton run``) leaves out the checks that parse each workflow's text
    (templates, conditions, output schemas, the steps they name): they are made for one
    workflow when :meth:`LoadedConfig.workflow` (or ``check_workflow``) is asked for it, with
    the same located errors. Everything else is checked as in a full load.
    """
    loader = _Load(
        cwd=(cwd or Path.cwd()).absolute(),
        env=os.environ if env is None else env,
        resolvers=default_resolvers() if resolvers is None else resolvers,
    )
    try:
        return loader.run(path, overrides or {}, required, lazy)
    except RecursionError:
        raise ConfigFileError("configuration is nested too deeply", file=loader.current or None) from None


@dataclass(frozen=True)
class StoreLocation:
    """Where a project's store is: ``global.database_url`` (None: the SQLite file under
    ``root``) as the full load would give it."""

    database_url: str | None
    root: Path


def load_store_location(path: Path | None = None, *, cwd: Path | None = None) -> StoreLocation:
    """The store the configuration names, without validating the rest of it: the commands
    that only read executions (``baton status``) start without the configuration models.

    The same files, ``.env``, ``BATON_*`` variables and ``${...}`` interpolation decide the
    URL as in :func:`load_configuration`; anything unusual (a ``global`` that is not a
    mapping, a URL that is not text) takes the full load, so its errors are the same.
    """
    loader = _Load(cwd=(cwd or Path.cwd()).absolute(), env=os.environ, resolvers=default_resolvers())
    found = loader.store_location(path)
    if found is not None:
        return found
    loaded = load_configuration(path, cwd=cwd)
    return StoreLocation(loaded.configuration.global_.database_url, loaded.root)


def default_resolvers() -> dict[str, Resolver]:
    """The ``secret:`` resolver of the local secrets store (imported and opened only when a
    reference is met: most loads, and ``baton status``, meet none)."""
    return {"secret": _resolve_secret}


def _resolve_secret(name: str) -> str:
    from baton.secrets import resolve_secret

    return resolve_secret(name)


class _Load:
    """One load: the state shared by its steps."""

    def __init__(self, cwd: Path, env: Mapping[str, str], resolvers: Mapping[str, Resolver] | None) -> None:
        self.cwd = cwd
        self.real_env = env
        self.resolvers = resolvers
        self.sources: list[Path] = []
        self.current = ""
        self.cache = ParseCache(None)

    def shown(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.cwd))
        except ValueError:
            return str(path)

    def run(
        self, path: Path | None, overrides: Mapping[str, Any], required: bool, lazy: bool
    ) -> LoadedConfig:
        project = self._project_path(path, required)
        root = project.parent if project is not None else self.cwd
        env = self._environment(root if project is not None else None)
        interpolator = Interpolator(env, self.resolvers)
        self.cache = ParseCache.from_env(env)

        layers: list[Layer] = []
        if project is None:
            layers.append(Layer(kind="defaults", label="built-in defaults", data=BUILTIN_DEFAULTS))
        user = self._user_path(env)
        if user is not None:
            layers.append(self._file_layer("user", user, interpolator))
        text: str | None = None
        if project is not None:
            project_layer = self._file_layer("project", project, interpolator)
            text = project_layer.text
            layers.append(project_layer)
            layers.extend(self._workflow_layers(root, project_layer, interpolator))
        layers.append(env_layer(env))
        if overrides:
            layers.append(override_layer(overrides))

        from pydantic import ValidationError

        from baton.config.diagnostics import Locator, validation_error
        from baton.models import Configuration
        from baton.models.workflow import DEFER_TEXT_CHECKS

        data = merge_layers(layers)
        locator = Locator(layers)
        if any(PROMPT_PREFIX in (lay.text if lay.text is not None else str(lay.data)) for lay in layers):
            data, prompts = resolve_includes(data, root / PROMPTS_DIR, locator, self.shown)
            self.sources.extend(prompts)
        data = self._resolve_paths(data, layers, root)
        try:
            configuration = Configuration.model_validate(
                data, context={"root": root, DEFER_TEXT_CHECKS: lazy})
        except ValidationError as exc:
            raise validation_error(exc, data, locator) from None
        return LoadedConfig(
            unchecked=set(configuration.workflows) if lazy else set(),
            configuration=configuration,
            path=project,
            root=root,
            sources=tuple(self.sources),
            text=text,
            data=data,
            locator=locator,
        )

    def store_location(self, path: Path | None) -> StoreLocation | None:
        project = self._project_path(path, required=True)
        assert project is not None
        env = self._environment(project.parent)
        interpolator = Interpolator(env, self.resolvers)
        self.cache = ParseCache.from_env(env)
        files = [p for p in (self._user_path(env), project) if p is not None]
        url: Any = None
        for file in files:
            _, parsed = self._read(file)
            settings = parsed.data.get("global", {}) if isinstance(parsed.data, dict) else None
            if not isinstance(settings, dict):
                return None
            if "database_url" in settings:
                url = settings["database_url"]
                if isinstance(url, str) and "$" in url:
                    try:
                        url = interpolator.expand_tree(url, ("global", "database_url"))
                    except UnresolvedAt:
                        return None
        settings = env_layer(env).data.get("global", {})
        url = settings.get("database_url", url)
        if url is not None and not isinstance(url, str):
            return None
        return StoreLocation(url or None, project.parent)

    def _project_path(self, path: Path | None, required: bool) -> Path | None:
        if path is None:
            found = find_config(self.cwd)
            if found is None and required:
                raise ConfigNotFound(
                    f"no {CONFIG_FILENAME} in {self.cwd} or its parents; run `baton init` "
                    "or pass --config FILE"
                )
            return found
        path = path if path.is_absolute() else self.cwd / path
        if path.is_dir():
            path = path / CONFIG_FILENAME
        if not path.is_file():
            raise ConfigNotFound("no such file; run `baton init` to create one", file=self.shown(path))
        return path

    def _environment(self, root: Path | None) -> Mapping[str, str]:
        if root is None or not (root / ".env").is_file():
            return self.real_env
        dotenv_path = root / ".env"
        text = read_text(dotenv_path, self.shown(dotenv_path))
        values = dotenv_values(stream=io.StringIO(text), interpolate=False)
        self.sources.append(dotenv_path)
        merged = {k: v for k, v in values.items() if v is not None}
        merged.update(self.real_env)
        return merged

    def _user_path(self, env: Mapping[str, str]) -> Path | None:
        explicit = env.get(USER_CONFIG_ENV)
        if explicit:
            candidate = Path(explicit).expanduser()
        else:
            base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
            candidate = Path(base) / "baton" / "config.yaml"
        return candidate if candidate.is_file() else None

    def _read(self, path: Path) -> tuple[str, ParsedFile]:
        shown = self.shown(path)
        self.current = shown
        text = read_text(path, shown)
        parsed = self.cache.parse(text, shown)
        self.sources.append(path)
        return text, parsed

    def _file_layer(self, kind: Any, path: Path, interpolator: Interpolator) -> Layer:
        text, parsed = self._read(path)
        shown = self.shown(path)
        data = {} if parsed.data is None else parsed.data
        if not isinstance(data, dict):
            raise _not_a_mapping(text, shown, data)
        layer = Layer(
            kind=kind, label=shown, data=data, path=path, text=text, dollar_paths=parsed.dollar_paths
        )
        return self._interpolated(layer, interpolator)

    def _interpolated(self, layer: Layer, interpolator: Interpolator) -> Layer:
        if layer.text is None or "$" not in layer.text:
            return layer
        try:
            if layer.dollar_paths is not None:
                data = interpolator.expand_paths(layer.data, layer.dollar_paths)
            else:
                data = interpolator.expand_tree(layer.data)
        except UnresolvedAt as exc:
            from baton.config.diagnostics import Locator

            raise Locator([layer]).error(
                InterpolationError,
                exc.error.message,
                exc.path,
                layer=layer,
                at_value=True,
                needle=exc.error.reference[:40],
            ) from None
        return replace(layer, data=data)

    def _workflow_layers(self, root: Path, project: Layer, interpolator: Interpolator) -> list[Layer]:
        from baton.models.agent import ID_PATTERN

        folder = root / WORKFLOWS_DIR
        if not folder.is_dir():
            return []
        files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
        defined: dict[str, Layer] = {}
        project_workflows = project.data.get("workflows")
        if isinstance(project_workflows, dict):
            defined = {str(wid): project for wid in project_workflows}
        layers: list[Layer] = []
        for path in files:
            if not path.is_file():
                continue
            text, parsed = self._read(path)
            shown = self.shown(path)
            data = {} if parsed.data is None else parsed.data
            if not isinstance(data, dict):
                raise _not_a_mapping(text, shown, data, what="a workflow file")
            data = dict(data)
            source = "id" if "id" in data else "file name"
            workflow_id = data.pop("id", path.stem)
            if not isinstance(workflow_id, str) or not re.match(ID_PATTERN, workflow_id):
                raise _at(
                    ConfigValidationError,
                    text,
                    shown,
                    ("id",),
                    f"workflow id {workflow_id!r} (from its {source}) must match {ID_PATTERN}",
                )
            if workflow_id in defined:
                other = defined[workflow_id]
                where = other.label
                if other.text is not None:
                    tree = compose(other.text)
                    if tree is not None:
                        line, col, _ = locate(tree, ("workflows", workflow_id)[len(other.prefix) :])
                        where = f"{other.label}:{line}:{col}"
                raise _at(
                    ConfigValidationError,
                    text,
                    shown,
                    ("id",),
                    f"workflow {workflow_id!r} is already defined in {where}",
                    field_path=f"workflows.{workflow_id}",
                )
            prefix = ("workflows", workflow_id)
            dollars = parsed.dollar_paths
            layer = Layer(
                kind="workflow",
                label=shown,
                data={"workflows": {workflow_id: data}},
                path=path,
                text=text,
                prefix=prefix,
                dollar_paths=None
                if dollars is None
                else [(*prefix, *p) for p in dollars if p[:1] != ("id",)],
            )
            layer = self._interpolated(layer, interpolator)
            defined[workflow_id] = layer
            layers.append(layer)
        return layers

    def _resolve_paths(self, data: dict[str, Any], layers: list[Layer], root: Path) -> dict[str, Any]:
        settings = data.get("global", {})
        if not isinstance(settings, dict):
            return data
        changed: dict[str, Any] = {}
        for path in PATH_SETTINGS:
            name = str(path[1])
            given = name in settings
            value = settings[name] if given else _global_default(name)
            if not isinstance(value, str) or not value:
                continue
            expanded = os.path.expanduser(value)
            if os.path.isabs(expanded):
                resolved = expanded
            else:
                source = owner(layers, path) if given else None
                base = source.path.parent if source is not None and source.path is not None else root
                resolved = os.path.normpath(base / expanded)
            if resolved != value:
                changed[str(path[1])] = resolved
        if not changed:
            return data
        return {**data, "global": {**settings, **changed}}


def _not_a_mapping(text: str, shown: str, data: Any, what: str = "a configuration file") -> ConfigError:
    kind = "a list" if isinstance(data, list) else f"a {type(data).__name__} value"
    return _at(
        ConfigFileError,
        text,
        shown,
        (),
        f"the top level of {what} must be a mapping of settings (got {kind})",
    )


def _at(
    cls: type[ConfigError],
    text: str,
    shown: str,
    path: FieldPath,
    message: str,
    field_path: str | None = None,
) -> ConfigError:
    tree = compose(text)
    if tree is None:
        return cls(message, file=shown, field_path=field_path)
    line, col, _ = locate(tree, path)
    return cls(message, file=shown, line=line, column=col, field_path=field_path)


def _global_default(name: str) -> Any:
    from baton.models import GlobalConfig

    return GlobalConfig.model_fields[name].default
