"""The import rules of docs/design.md ("Layout"), read from the source with `ast`: every
`import` and `from … import` of every project module, at any depth (a function-level import
is an import all the same).

- views/ and ui/ never import sqlalchemy or metricx.models (pages never build SQL);
- metricx.connectors imports nothing from metricx outside metricx.connectors but leaf value
  modules that import nothing from metricx (metricx.totals), so it never reaches the DB;
- metricx.sync does not import metricx.services (the write side sits below the read side);
- metricx never imports workers (workers/ is an entry point on top);
- no import cycles among the project's modules;
- pages cache nothing themselves: every cached read lives in ui/ (one place decides what is
  kept, for how long, and that the workspace is part of the key).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("metricx", "views", "ui", "workers")


@dataclass(frozen=True)
class Import:
    importer: str  # module doing the import
    imported: str  # the module it names, resolved to a project module where it is one
    line: int

    def __str__(self) -> str:
        return f"{self.importer} imports {self.imported} (line {self.line})"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, Path]:
    found = {"app": ROOT / "app.py"}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            found[_module_name(path)] = path
    return found


MODULES = _sources()


def _resolve(name: str) -> str:
    """`name`, or the project module it lives in (`metricx.models.Workspace` → metricx.models)."""
    while name and name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def _imports_of(module: str, path: Path) -> Iterator[Import]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, _resolve(alias.name), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the importer's package, `level` steps up
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield Import(module, _resolve(f"{base}.{alias.name}"), node.lineno)


IMPORTS = [found for module, path in MODULES.items() for found in _imports_of(module, path)]


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(f"{package}.")


def _offending(
    importers: str | tuple[str, ...], forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()
) -> list[str]:
    importers = (importers,) if isinstance(importers, str) else importers
    return sorted(
        {
            str(i)
            for i in IMPORTS
            if any(_within(i.importer, p) for p in importers)
            and any(_within(i.imported, f) for f in forbidden)
            and not any(_within(i.imported, a) for a in allowed)
        }
    )


def test_the_source_is_read_whole():
    # Given the project's packages, when their imports are read,
    # then every package and the modules this file's rules name are there (a rule over
    # nothing would pass for the wrong reason)
    for module in (
        "app",
        "metricx.models",
        "metricx.connectors.meta",
        "metricx.sync.pipeline",
        "metricx.services.connections",
        "metricx.jobs",
        "views.analytics",
        "ui.period",
        "workers.jobs",
    ):
        assert module in MODULES
    assert any(
        i.importer.startswith("views.") and i.imported.startswith("metricx.services")
        for i in IMPORTS
    )


def test_pages_and_ui_never_import_sqlalchemy_or_the_models():
    # Given every page (views/) and the Streamlit glue (ui/)
    # When their imports are read
    offending = _offending(("views", "ui"), ("sqlalchemy", "metricx.models"))
    # Then none names SQLAlchemy or the models: pages call services, never build SQL
    assert offending == [], "pages and ui must go through metricx services:\n" + "\n".join(
        offending
    )


#: What connectors may take from metricx besides their own package: value modules that
#: import nothing from metricx themselves (metricx.totals: the metric columns of a row;
#: metricx.platforms: the platform registry).
CONNECTOR_LEAVES = ("metricx.totals", "metricx.platforms")


def test_connectors_import_nothing_from_metricx_outside_their_package():
    # Given the connectors (httpx clients of Meta, Google Ads, Shopify)
    # When their imports are read
    offending = _offending(
        "metricx.connectors", ("metricx",), allowed=("metricx.connectors", *CONNECTOR_LEAVES)
    )
    # Then they depend on no other part of metricx (so they never touch the DB), and the
    # leaves they may use depend on nothing in metricx either
    offending += _offending(CONNECTOR_LEAVES, ("metricx",))
    assert offending == [], "connectors must stay self-contained:\n" + "\n".join(offending)


def test_the_sync_does_not_import_the_services():
    # Given the write side (metricx.sync)
    # When its imports are read
    offending = _offending("metricx.sync", ("metricx.services",))
    # Then it reads connections and tokens below itself (metricx.connection_store), never
    # through the services, which import the sync
    assert offending == [], "metricx.sync must not import metricx.services:\n" + "\n".join(
        offending
    )


def test_metricx_never_imports_workers():
    # Given the metricx package
    # When its imports are read
    offending = _offending("metricx", ("workers",))
    # Then none names workers/: jobs are queued by reference to metricx.jobs
    assert offending == [], "metricx must not import workers:\n" + "\n".join(offending)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module, or of one importing itself
    (Tarjan's algorithm, iterative: the graph is deep)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(edges[successor]))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in edges[node]:
                        found.append(sorted(component))
    return found


def test_cycles_are_found_when_there_are_some():
    # Given a small graph with one circle (a -> b -> c -> a) and a tail (c -> d)
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    # When its strongly connected components are taken
    # Then the circle is the one found, and the tail is not part of it
    assert _cycles(edges) == [["a", "b", "c"]]


def test_no_import_cycles_among_project_modules():
    # Given the import graph of every project module
    edges: dict[str, set[str]] = {module: set() for module in MODULES}
    for found in IMPORTS:
        if found.imported in MODULES:
            edges[found.importer].add(found.imported)
    # When its strongly connected components are taken
    cycles = _cycles(edges)
    # Then there are none: every module sits on the layer below its importers
    described = []
    for cycle in cycles:
        members = set(cycle)
        described.append(
            " <-> ".join(cycle)
            + ":\n  "
            + "\n  ".join(
                sorted({str(i) for i in IMPORTS if i.importer in members and i.imported in members})
            )
        )
    assert cycles == [], "import cycles:\n" + "\n".join(described)


def test_pages_cache_nothing_themselves():
    # Given every page's source
    pages = {m: p for m, p in MODULES.items() if m.startswith("views.")}
    # When its decorators are read
    caching = [
        f"{module}: {node.name}"
        for module, path in pages.items()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef)
        and any("cache_" in ast.unparse(d) for d in node.decorator_list)
    ]
    # Then none caches a read of its own: cached reads are ui/'s (ui/queries.py, ui/reads.py)
    assert pages and caching == [], "move these cached reads to ui/:\n" + "\n".join(caching)
