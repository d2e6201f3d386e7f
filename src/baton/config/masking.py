"""Hide credentials in configuration data and text before it is shown, logged or stored.

A setting holds a credential when its key names one (``api_key``, ``github_token``,
``password``, ``Authorization``...; ``max_tokens`` is not one). Its value is replaced by
:data:`MASK`, unless it is an unexpanded reference such as ``"${OPENAI_API_KEY}"`` or
``"${secret:NAME}"``: a reference names a secret, it is not one. The password inside a
``scheme://user:password@host`` URL is masked too.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MASK = "***"  # the one mask: config show, stored versions, logs, events, errors
_SECRET_KEY = re.compile(
    r"api[_-]?key|access[_-]?key|private[_-]?key|secret|password|passwd|credential|authorization"
    r"|(^|[_-])token$",
    re.I,
)
_URL_PASSWORD = re.compile(r"^([a-z][a-z0-9+.-]*://[^:/@]*:)([^@]*)(@)", re.I)
_REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(:[^}]*)?\}$")


def is_secret_key(key: str) -> bool:
    """Whether a setting named ``key`` holds a credential (``api_key``, ``github_token``...)."""
    return bool(_SECRET_KEY.search(key))


def is_reference(value: Any) -> bool:
    """Whether ``value`` is an unexpanded ``${VAR}`` / ``${secret:NAME}`` reference."""
    return isinstance(value, str) and bool(_REFERENCE.match(value.strip()))


def mask_secrets(data: Any) -> Any:
    """A copy of ``data`` with credential values replaced by ``***``.

    Values under credential-like keys are masked (unset ones stay visible as null, references
    stay as written), and the password inside any ``scheme://user:password@host`` URL is masked.
    """
    if isinstance(data, dict):
        return {
            key: (_mask_value(value) if isinstance(key, str) and is_secret_key(key) else mask_secrets(value))
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [mask_secrets(item) for item in data]
    if isinstance(data, str) and "://" in data and "@" in data:
        return _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", data)
    return data


def _mask_value(value: Any) -> Any:
    if value is None or value == "" or is_reference(value):
        return value
    if isinstance(value, dict):
        return {k: _mask_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_value(v) for v in value]
    return MASK


def mask_yaml_text(text: str) -> str:
    """``text`` (a YAML document) with literal credential values replaced by ``"***"``.

    Everything else — comments, order, ``${VAR}`` references — is kept as written, so the
    result can be stored and diffed in place of the file. Text that is not YAML is returned
    unchanged (the caller validated it already).
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return text
    spans: list[tuple[int, int, str]] = []
    _secret_spans(root, False, spans)
    for start, end, replacement in sorted(spans, reverse=True):
        text = f"{text[:start]}{replacement}{text[end:]}"
    return text


def _secret_spans(node: Node | None, secret: bool, spans: list[tuple[int, int, str]]) -> None:
    if isinstance(node, ScalarNode):
        value = str(node.value)
        where = (node.start_mark.index, node.end_mark.index)
        if secret and value and not is_reference(value):
            spans.append((*where, f'"{MASK}"'))
        elif "://" in value and "@" in value and _URL_PASSWORD.match(value):
            masked = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", value)
            spans.append((*where, json.dumps(masked)))
    elif isinstance(node, SequenceNode):
        for item in node.value:
            _secret_spans(item, secret, spans)
    elif isinstance(node, MappingNode):
        for key, value in node.value:
            named = isinstance(key, ScalarNode) and is_secret_key(str(key.value))
            _secret_spans(value, secret or named, spans)
