"""Dependencies point one way (docs/architecture.md, "Dependencies point one way").

Two checks: (a) importing each subpackage in a fresh interpreter pulls in only the freqpipe
modules of its own layers (and ``import freqpipe`` neither torch, CuPy nor DALI); (b) every
import statement of every module of each subpackage, those inside functions included, names
only the layers it may depend on. ``pytest -s`` prints the table of (a).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "freqpipe"

#: Layer -> the freqpipe layers its modules may import (itself and ``freqpipe.errors`` always).
#: ``cli``, ``bench`` and ``dali`` sit on top of everything and are not checked.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "transforms": set(),
    "jpeg": {"transforms", "_samples", "freqpipe"},
    "cuda": {"transforms", "freqpipe"},
    "data": {"jpeg", "cuda", "transforms", "_samples", "_nvimgcodec", "freqpipe"},
    "store": {"jpeg", "cuda", "transforms", "_samples", "freqpipe"},
    "models": set(),
}
#: What ``import freqpipe`` itself imports eagerly, and so every ``import freqpipe.X`` too.
ROOT_EAGER = {"freqpipe", "_samples", "errors", "jpeg", "transforms"}
HEAVY = ("torch", "cupy", "nvidia.dali")

_PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps({
    "freqpipe": sorted(m for m in sys.modules if m == "freqpipe" or m.startswith("freqpipe.")),
    "heavy": [h for h in sys.argv[2:] if h in sys.modules],
}))
"""


def _layer(module: str) -> str:
    """``freqpipe.store.kinds.base`` -> ``store``; the root package -> ``freqpipe``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "freqpipe"


def _imported(package: str) -> tuple[list[str], list[str]]:
    """The freqpipe modules and heavy libraries a fresh ``import package`` loads."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, package, *HEAVY],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=True,
    )
    found = json.loads(result.stdout.strip().splitlines()[-1])
    return found["freqpipe"], found["heavy"]


@pytest.fixture(scope="module")
def import_table() -> dict[str, tuple[list[str], list[str]]]:
    """For each subpackage: the freqpipe modules and heavy libraries its import loads."""
    table = {p: _imported(p) for p in ["freqpipe", *(f"freqpipe.{layer}" for layer in ALLOWED)]}
    print(f"\n{'import':<20}{'freqpipe layers pulled in':<48}torch/cupy/dali")
    for package, (modules, heavy) in table.items():
        layers = ", ".join(sorted({_layer(m) for m in modules} - {"freqpipe"}))
        print(f"{package:<20}{layers:<48}{', '.join(heavy) or '-'}")
    return table


def test_import_freqpipe_is_light(import_table: dict[str, tuple[list[str], list[str]]]) -> None:
    modules, heavy = import_table["freqpipe"]
    assert heavy == [], f"import freqpipe loads {heavy}"
    assert {_layer(m) for m in modules} <= ROOT_EAGER


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_importing_a_subpackage_pulls_in_only_its_layers(
    layer: str, import_table: dict[str, tuple[list[str], list[str]]]
) -> None:
    modules, _ = import_table[f"freqpipe.{layer}"]
    allowed = ROOT_EAGER | ALLOWED[layer] | {layer}
    extra = sorted(m for m in modules if _layer(m) not in allowed)
    assert not extra, f"import freqpipe.{layer} pulls in {extra}"


def _resolve(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The modules an import statement names (``from freqpipe import x`` names freqpipe.x)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
        base = ".".join([*parts, *([node.module] if node.module else [])])
    names = []
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        path = REPO / sub.replace(".", "/")
        is_module = path.is_dir() or path.with_suffix(".py").is_file()
        names.append(sub if is_module else base)
    return sorted(set(names))


def _violations() -> list[str]:
    found = []
    for layer, allowed in ALLOWED.items():
        path = PACKAGE / layer
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]
        for file in files:
            rel = file.relative_to(REPO)
            module = ".".join(rel.with_suffix("").parts).removesuffix(".__init__")
            for node in ast.walk(ast.parse(file.read_text(), str(rel))):
                if not isinstance(node, (ast.Import, ast.ImportFrom)):
                    continue
                for name in _resolve(node, module, file.name == "__init__.py"):
                    if name != "freqpipe" and not name.startswith("freqpipe."):
                        continue
                    target = _layer(name)
                    if target not in allowed | {layer, "errors"}:
                        found.append(f"{rel}:{node.lineno}: {layer} imports {name}")
    return found


def test_no_import_crosses_the_layers_the_wrong_way() -> None:
    violations = _violations()
    assert not violations, "imports against the layering:\n" + "\n".join(violations)
