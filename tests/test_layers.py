"""The package's layers only point down, and no modules import each other in a circle.

Every module of ``wallboard`` belongs to one layer below; a module may import modules of
its own layer or of lower ones, never of a higher one. The import graph read from the
source (every ``import``, also inside functions and under ``TYPE_CHECKING``) must have no
cycle, and the sources are apart: the shared collector code imports no source, and no
source imports another. A new module must be given a layer here, which is the point: the
direction is decided, not drifted into.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "wallboard"

#: Bottom first. A name stands for the module and everything below it.
LAYERS: tuple[tuple[str, ...], ...] = (
    # foundations: no wallboard imports but these
    (
        "wallboard.retry",
        "wallboard.ratelog",
        "wallboard.clock",
        "wallboard.events",
        "wallboard.logs",
        "wallboard.metrics",
        "wallboard.redis_client",
    ),
    # values: the wire codec and limits, raw counters and the KPI formulas over them
    ("wallboard.wire", "wallboard.counters", "wallboard.kpi", "wallboard.staffing", "wallboard.tiles"),
    ("wallboard.config",),
    # the pure core and the I/O adapters every process uses
    (
        "wallboard.state",
        "wallboard.checkpoint",
        "wallboard.freshness",
        "wallboard.admission",
        "wallboard.fold_settings",
        "wallboard.fold",
        "wallboard.snapshot",
        "wallboard.alerts",
        "wallboard.views",
        "wallboard.streams",
        "wallboard.lease",
        "wallboard.redis_server",
        "wallboard.push",
        "wallboard.guard",
        "wallboard.headers",
        "wallboard.access",
        "wallboard.users",
        "wallboard.display_keys",
        "wallboard.tokens",
        "wallboard.audit",
    ),
    # the processes' work: sources, the aggregator, the hub, the report, the supervisor
    (
        "wallboard.collectors",
        "wallboard.ingest",
        "wallboard.aggregator",
        "wallboard.retention",
        "wallboard.hub",
        "wallboard.report",
        "wallboard.supervisor",
        "wallboard.doors",
    ),
    # the web process and its pages
    ("wallboard.layouts", "wallboard.web", "wallboard.workers"),
    # the command line
    ("wallboard.admin", "wallboard.cli", "wallboard.__main__", "wallboard"),
)
SHARED_SOURCE_CODE = ("wallboard.collectors.common", "wallboard.collectors.runtime", "wallboard.collectors")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def covers(name: str, module: str) -> bool:
    return module == name or module.startswith(name + ".")


def layer_of(module: str) -> int:
    best, best_len = -1, -1
    for i, names in enumerate(LAYERS):
        for name in names:
            if covers(name, module) and len(name) > best_len and (name != "wallboard" or module == "wallboard"):
                best, best_len = i, len(name)
    return best


def imports(module: str) -> set[str]:
    """The wallboard modules ``module`` imports (a name imported from a package counts as its submodule)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if covers("wallboard", a.name))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if not covers("wallboard", base):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in MODULES else base)
    found.discard(module)
    return {m for m in found if m in MODULES}


GRAPH = {m: imports(m) for m in MODULES}


def test_every_module_has_a_layer() -> None:
    assert [m for m in MODULES if layer_of(m) < 0] == []


def upward(graph: dict[str, set[str]]) -> list[str]:
    return [
        f"{m} (layer {layer_of(m)}) imports {dep} (layer {layer_of(dep)})"
        for m, deps in graph.items()
        for dep in sorted(deps)
        if layer_of(dep) > layer_of(m)
    ]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for dep in sorted(graph.get(m, ())):
            if state.get(dep) == 1:
                found.append([*path[path.index(dep) :], dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    return found


def source_of(module: str) -> str | None:
    """The source package or module a collectors module belongs to (None for shared code)."""
    if not covers("wallboard.collectors", module) or module == "wallboard.collectors":
        return None
    if any(covers(s, module) for s in SHARED_SOURCE_CODE[:2]):
        return None
    return ".".join(module.split(".")[:3])


def crossings(graph: dict[str, set[str]]) -> list[str]:
    out = []
    for m, deps in graph.items():
        mine = source_of(m)
        shared = mine is None and covers("wallboard.collectors", m) and m != "wallboard.collectors"
        for dep in sorted(deps):
            theirs = source_of(dep)
            if theirs is not None and (shared or (mine is not None and theirs != mine)):
                out.append(f"{m} imports {dep}")
    return out


def test_imports_point_down() -> None:
    assert upward(GRAPH) == []


def test_no_import_cycles() -> None:
    assert cycles(GRAPH) == []


def test_sources_are_apart() -> None:
    assert crossings(GRAPH) == []


def test_the_checks_find_what_they_look_for() -> None:
    """On a graph with one of each mistake, each check names it (the checks are not vacuous)."""
    bad = {
        "wallboard.fold": {"wallboard.collectors.runtime"},  # the core reaching up
        "wallboard.collectors.runtime": {"wallboard.collectors.common.link"},
        "wallboard.collectors.common.link": {"wallboard.collectors.runtime", "wallboard.collectors.freeswitch"},
        "wallboard.collectors.asterisk_ami.session": {"wallboard.collectors.freeswitch.protocol"},
    }
    assert upward(bad) == ["wallboard.fold (layer 3) imports wallboard.collectors.runtime (layer 4)"]
    assert cycles(bad) == [
        ["wallboard.collectors.common.link", "wallboard.collectors.runtime", "wallboard.collectors.common.link"]
    ]
    assert crossings(bad) == [
        "wallboard.collectors.common.link imports wallboard.collectors.freeswitch",
        "wallboard.collectors.asterisk_ami.session imports wallboard.collectors.freeswitch.protocol",
    ]
    assert len(GRAPH) > 30 and sum(map(len, GRAPH.values())) > 60  # the real graph was read
