"""Configuration layers and how they merge.

Lowest first: built-in defaults, the user file, the project file (``baton.yaml``), the
project's ``.baton/workflows/*.yaml``, ``BATON_*`` environment variables, and explicit
overrides. Mappings merge key by key; lists and scalars from a higher layer replace the
lower one's. Each layer remembers where it came from so an error can point into it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from baton.config.errors import ConfigError
from baton.config.yamlio import FieldPath, PathSeg

CONFIG_SECTIONS = ("global", "agents", "workflows", "observability", "deployment", "api")
ENV_PREFIX = "BATON_"
# Environment variables that name a setting directly rather than by its nested path.
ENV_ALIASES: dict[str, FieldPath] = {"BATON_DATABASE_URL": ("global", "database_url")}

LayerKind = Literal["defaults", "user", "project", "workflow", "env", "override"]


@dataclass(frozen=True, slots=True)
class Layer:
    """One source of configuration, rooted at the configuration's top level.

    ``prefix`` is where a file's own root sits in the configuration (a workflow file is
    rooted at ``workflows.<id>``); ``origins`` names the variable or override that set
    each path of a non-file layer; ``dollar_paths``, when known, lists the strings that
    may need ``${}`` interpolation.
    """

    kind: LayerKind
    label: str
    data: dict[str, Any]
    path: Path | None = None
    text: str | None = None
    prefix: FieldPath = ()
    origins: dict[FieldPath, str] = field(default_factory=dict)
    dollar_paths: list[FieldPath] | None = None

    @property
    def is_file(self) -> bool:
        return self.text is not None


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """A new mapping: ``over`` on top of ``base``, merging nested mappings key by key."""
    if not base:
        return dict(over)
    out = dict(base)
    for key, value in over.items():
        below = out.get(key)
        if isinstance(below, dict) and isinstance(value, dict):
            out[key] = deep_merge(below, value)
        else:
            out[key] = value
    return out


def merge_layers(layers: Iterable[Layer]) -> dict[str, Any]:
    """All layers merged, lowest first."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged = deep_merge(merged, layer.data)
    return merged


def _set_path(target: dict[str, Any], path: Sequence[PathSeg], value: Any) -> None:
    node = target
    for seg in path[:-1]:
        child = node.get(str(seg))
        if not isinstance(child, dict):
            child = {}
            node[str(seg)] = child
        node = child
    node[str(path[-1])] = value


def scalar(text: str) -> Any:
    """A value as YAML reads it (``4`` → 4, ``false`` → False); the text itself if not YAML."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def env_path(name: str) -> FieldPath | None:
    """The configuration path a ``BATON_*`` variable sets, or None if it sets none.

    ``BATON_GLOBAL__MAX_CONCURRENT_EXECUTIONS`` → ``global.max_concurrent_executions``:
    a double underscore nests, keys are lowercased, and the first key must be a section.
    """
    if name in ENV_ALIASES:
        return ENV_ALIASES[name]
    if not name.startswith(ENV_PREFIX) or "__" not in name:
        return None
    parts = name[len(ENV_PREFIX) :].lower().split("__")
    if parts[0] not in CONFIG_SECTIONS or not all(parts):
        return None
    return tuple(parts)


def env_layer(env: Mapping[str, str]) -> Layer:
    """The layer set by ``BATON_*`` environment variables (others are ignored)."""
    data: dict[str, Any] = {}
    origins: dict[FieldPath, str] = {}
    for name in sorted(env):
        path = env_path(name)
        if path is None:
            continue
        _set_path(data, path, scalar(env[name]))
        origins[path] = f"env {name}"
    return Layer(kind="env", label="environment", data=data, origins=origins)


def override_layer(overrides: Mapping[str, Any]) -> Layer:
    """The layer of explicit overrides; a dotted key (``global.cache.enabled``) nests."""
    data: dict[str, Any] = {}
    origins: dict[FieldPath, str] = {}
    for key, value in overrides.items():
        path = tuple(part for part in str(key).split("."))
        if not all(path):
            raise ConfigError(f"override key {key!r} is not a dotted path like global.cache.enabled")
        nested: dict[str, Any] = {}
        _set_path(nested, path, dict(value) if isinstance(value, Mapping) else value)
        data = deep_merge(data, nested)
        origins[path] = f"override {key}"
    return Layer(kind="override", label="overrides", data=data, origins=origins)


def parse_assignments(items: Sequence[str]) -> dict[str, Any]:
    """``["global.cache.enabled=false"]`` → ``{"global.cache.enabled": False}`` (for --set)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects KEY=VALUE (e.g. global.cache.enabled=false), got {item!r}")
        out[key.strip()] = scalar(value)
    return out


def owner(layers: Sequence[Layer], path: Sequence[PathSeg]) -> Layer:
    """The layer that supplied the value at ``path`` in the merged configuration.

    Mappings are merged, so the walk narrows to the layers that define each key; a list or
    scalar belongs wholly to the highest layer that defines it. When the path is missing,
    the answer is the highest file layer that defines the deepest existing parent.
    """
    current: list[tuple[Layer, Any]] = [(layer, layer.data) for layer in layers]
    for seg in path:
        nxt = [(layer, _child(node, seg)) for layer, node in current if _has(node, seg)]
        if not nxt:
            files = [layer for layer, _ in current if layer.is_file]
            return files[-1] if files else current[-1][0]
        top_layer, top_value = nxt[-1]
        if not isinstance(top_value, dict):
            return top_layer
        current = nxt
    return current[-1][0]


def _has(node: Any, seg: PathSeg) -> bool:
    if isinstance(node, dict):
        return seg in node
    if isinstance(node, list):
        return isinstance(seg, int) and 0 <= seg < len(node)
    return False


def _child(node: Any, seg: PathSeg) -> Any:
    return node[seg]


def origin_of(layer: Layer, path: Sequence[PathSeg]) -> str:
    """The variable or override (of a non-file layer) that set ``path`` or its parent."""
    key = tuple(path)
    while key:
        if key in layer.origins:
            return layer.origins[key]
        key = key[:-1]
    wanted = tuple(path)
    for origin_path, name in layer.origins.items():
        if origin_path[: len(wanted)] == wanted:
            return name
    return next(iter(layer.origins.values()), layer.label)
