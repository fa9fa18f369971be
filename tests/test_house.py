"""The house rules of the package, read from its source: layers, no import cycle, sizes,
and a light ``vatjax.collect``.

Layers (DESIGN.md, Folders): base (errors, taxonomy) <- core <- engine <- named <-
workflows (data, bayes, collect, testing) <- cli; a module imports only from its own
layer or below, and the package root (the lazy public API) from nowhere inside.
"""

import ast
import pathlib
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "vatjax"
LAYERS = {
    "errors": 0, "taxonomy": 0, "core": 1, "engine": 2, "named": 3,
    "data": 4, "bayes": 4, "collect": 4, "testing": 4, "cli": 5,
}  # fmt: skip
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 400, 80


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


SOURCES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> int:
    """The layer of a module; the package root sits above everything."""
    parts = module.split(".")
    return LAYERS[parts[1]] if len(parts) > 1 else max(LAYERS.values()) + 1


def imports(module: str) -> set[str]:
    """The vatjax modules a module imports, anywhere in it (lazy imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(SOURCES[module].read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found |= {n for n in names if n in SOURCES and n != module}
    return found


GRAPH = {m: imports(m) for m in SOURCES}


def test_every_package_has_a_layer():
    assert {m.split(".")[1] for m in SOURCES if "." in m} <= set(LAYERS)


@pytest.mark.parametrize("module", sorted(SOURCES))
def test_no_import_from_a_higher_layer(module):
    upward = sorted(m for m in GRAPH[module] if layer(m) > layer(module))
    assert upward == [], f"{module} (layer {layer(module)}) imports {upward}"


def test_no_import_cycle():
    """Depth-first search over the module graph (a package imports its __init__'s names)."""
    state: dict[str, int] = {}

    def visit(m, path):
        state[m] = 1
        for n in GRAPH[m]:
            if state.get(n) == 1:
                raise AssertionError(" -> ".join([*path[path.index(n) :], n]))
            if n not in state:
                visit(n, [*path, n])
        state[m] = 2

    for m in sorted(GRAPH):
        if m not in state:
            visit(m, [m])


def test_the_graph_is_read():
    """The checks above see real edges (a reader that found none would pass them all)."""
    assert "vatjax.core.metrics" in GRAPH["vatjax.named.vat"]
    assert "vatjax.engine.run" in GRAPH["vatjax.engine"]


@pytest.mark.parametrize("module", sorted(SOURCES))
def test_sizes(module):
    src = SOURCES[module].read_text()
    assert src.count("\n") <= MAX_MODULE_LINES, f"{module}: {src.count(chr(10))} lines"
    long = [
        f"{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for node in ast.walk(ast.parse(src))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == [], module


@pytest.mark.parametrize("module", ["vatjax", "vatjax.collect", "vatjax.taxonomy"])
def test_light_imports_do_not_load_jax(module):
    code = f"import sys, {module}; assert 'jax' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)
