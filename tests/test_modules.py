"""The package's shape: every module imports on its own in a fresh interpreter, in either order (no import cycle
hidden behind a function-local import), and each category's output models have exactly its public fields."""

from __future__ import annotations

import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import netlookup
from netlookup.categories import CATEGORIES, SPECS

# Entry points that act when imported (they are run, not imported): the CLI's __main__ and uvicorn's app.
ENTRY_POINTS = ("netlookup.__main__", "netlookup.asgi")
MODULES = sorted(
    info.name for info in pkgutil.walk_packages(netlookup.__path__, "netlookup.") if info.name not in ENTRY_POINTS
)


@pytest.mark.parametrize("order", ["alphabetical", "reverse"])
def test_every_module_imports_in_a_fresh_interpreter(order: str) -> None:
    names = MODULES if order == "alphabetical" else MODULES[::-1]
    script = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    result = subprocess.run([sys.executable, "-c", script, *names], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert len(MODULES) > 40


@pytest.mark.parametrize("name", MODULES)
def test_each_module_imports_first(name: str) -> None:
    """Imported before anything else of the package: a cycle shows up as a partially initialised module."""
    result = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("category", CATEGORIES)
def test_output_models_have_the_categorys_public_fields(category: str) -> None:
    spec = SPECS[category]  # type: ignore[index]
    assert tuple(spec.record_model.model_fields) == spec.public_fields
    extra = ("prefix_len", "matched_on") if spec.address_field else ("prefix_len",)
    assert tuple(spec.match_model.model_fields) == spec.public_fields + extra
    assert set(spec.table.columns.keys()) >= set(spec.public_fields)
    input_fields = set(spec.input_model.model_fields)
    assert input_fields == set(spec.public_fields) - {"id", "source"}


def test_the_module_map_names_every_module() -> None:
    page = (Path(__file__).resolve().parents[1] / "docs" / "development.md").read_text()
    start = page.index("Module map of `src/netlookup/`")
    module_map = page[start : page.index("```", start)]
    package = Path(netlookup.__file__).parent
    missing = [
        str(path.relative_to(package))
        for path in sorted(package.rglob("*.py"))
        if path.name not in ("__init__.py", "__main__.py") and path.name not in module_map
    ]
    assert missing == [], f"the module map (docs/development.md) does not mention {missing}"
    for named in re.findall(r"`([\w/]+\.py)`", module_map):
        assert list(package.rglob(Path(named).name)), f"the module map names {named}, which does not exist"
