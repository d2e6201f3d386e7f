"""The packages that offer names loaded on first use (baton.lazy): importing one loads none of
the modules its names come from; each name resolves when first asked for and is kept."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

from baton.lazy import lazy_names

PACKAGES = ["baton.config", "baton.models", "baton.engine", "baton.workflows", "baton.store"]

PROBE = """
import importlib, json, sys
before = set(sys.modules)
package = importlib.import_module(sys.argv[1])
print(json.dumps(sorted(set(sys.modules) - before)))
"""


@pytest.mark.parametrize("package", PACKAGES)
def test_importing_a_package_loads_none_of_its_names_modules(package: str) -> None:
    out = subprocess.run([sys.executable, "-c", PROBE, package], capture_output=True, text=True, check=True)
    loaded = {name for name in json.loads(out.stdout) if name.split(".")[0] in ("baton", "pydantic")}
    assert loaded == {"baton", "baton.lazy", package}, loaded


@pytest.mark.parametrize("package", PACKAGES)
def test_every_offered_name_is_its_modules_object(package: str) -> None:
    module = importlib.import_module(package)
    for name in module.__all__:
        value = getattr(module, name)  # a name mapped to the wrong module raises here
        assert module.__dict__[name] is value  # kept: the next access is a plain attribute
    with pytest.raises(AttributeError, match=f"module '{package}' has no attribute 'nope'"):
        module.nope  # noqa: B018


def test_a_name_not_listed_is_an_attribute_error_and_a_listed_one_is_imported_once() -> None:
    module = type(sys)("lazy_probe")
    sys.modules["lazy_probe"] = module
    try:
        getter = lazy_names("lazy_probe", {"dumps": "json"})
        assert getter("dumps") is json.dumps and module.dumps is json.dumps
        with pytest.raises(AttributeError, match="module 'lazy_probe' has no attribute 'loads'"):
            getter("loads")
    finally:
        del sys.modules["lazy_probe"]
