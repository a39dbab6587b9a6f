"""The package's structure, kept by tests: layers by where code runs, no hidden dependencies.

- ``router/`` is pure Python: it imports no other subpackage and no temporalio.
- ``workflows/`` (what runs inside a workflow) imports ``router/`` and temporalio only:
  never ``adapter/`` (the client and worker process side), ``otel/``, ``testing/`` or ``cli/``.
- No import cycle between subpackages, counting every import statement (lazy ones inside
  functions and ``TYPE_CHECKING`` blocks too).
- A subpackage uses another through its ``__init__``; an import of another subpackage's
  private module is allowed only with a comment right above it that says why.
- No private name of temporalio is imported or reached.
- No module is over 600 lines.

See docs/architecture.md for the layers and the walk of a command through them.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

import temporal_router

PACKAGE_DIR = Path(temporal_router.__file__).parent
SUBPACKAGES = ("router", "workflows", "adapter", "otel", "testing", "cli")
#: Which subpackage may import which: the layers, innermost first.
ALLOWED: dict[str, set[str]] = {
    "router": set(),
    "workflows": {"router"},
    "otel": {"router"},
    "testing": {"router", "workflows"},
    "adapter": {"router", "workflows", "otel", "testing"},
    "cli": {"router", "workflows", "adapter", "otel", "testing"},
}
MAX_MODULE_LINES = 600


def _sources() -> list[Path]:
    files = sorted(PACKAGE_DIR.rglob("*.py"))
    assert len(files) > 20, f"no sources found under {PACKAGE_DIR}"
    return files


def _subpackage(path: Path) -> str | None:
    parts = path.relative_to(PACKAGE_DIR).parts
    if len(parts) == 1:
        return "cli" if parts[0] == "cli.py" else None
    return parts[0]


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE_DIR).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(["temporal_router", *parts])


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


class _Import:
    def __init__(self, path: Path, node: ast.ImportFrom | ast.Import, target: str) -> None:
        self.path = path
        self.node = node
        self.target = target  # absolute dotted module name

    def __repr__(self) -> str:
        rel = self.path.relative_to(PACKAGE_DIR.parent)
        return f"{rel}:{self.node.lineno} imports {self.target}"


def _imports(path: Path) -> Iterator[_Import]:
    """Every import in ``path`` with an absolute target, wherever it stands in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module = _module_name(path)
    package = module if _is_package(path) else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield _Import(path, node, alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                absolute = ".".join([*base, node.module] if node.module else base)
            else:
                absolute = node.module or ""
            yield _Import(path, node, absolute)
            # ``from .. import adapter`` imports a subpackage by name
            for alias in node.names:
                yield _Import(path, node, f"{absolute}.{alias.name}")


def _target_subpackage(target: str) -> str | None:
    parts = target.split(".")
    if parts[0] != "temporal_router" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in SUBPACKAGES else None


def _graph() -> dict[str, dict[str, list[_Import]]]:
    graph: dict[str, dict[str, list[_Import]]] = defaultdict(lambda: defaultdict(list))
    for path in _sources():
        source = _subpackage(path)
        if source is None:
            continue
        for imp in _imports(path):
            target = _target_subpackage(imp.target)
            if target is not None and target != source:
                graph[source][target].append(imp)
    return graph


def test_router_imports_no_other_subpackage_and_workflows_never_the_adapter() -> None:
    graph = _graph()
    wrong = [
        imp
        for source, targets in graph.items()
        for target, imports in targets.items()
        if target not in ALLOWED[source]
        for imp in imports
    ]
    assert wrong == []


def test_no_import_cycle_between_subpackages() -> None:
    graph = _graph()
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        for nxt in graph.get(node, {}):
            if nxt in trail:
                cycles.append([*trail[trail.index(nxt) :], nxt])
            else:
                visit(nxt, [*trail, nxt])

    for start in SUBPACKAGES:
        visit(start, [start])
    assert cycles == []


def _comment_above(path: Path, node: ast.stmt) -> bool:
    """True if a comment stands above the block of imports that ``node`` belongs to."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    in_imports = {
        line
        for other in ast.walk(ast.parse(text))
        if isinstance(other, (ast.Import, ast.ImportFrom))
        for line in range(other.lineno, (other.end_lineno or other.lineno) + 1)
    }
    line = node.lineno - 1
    while line in in_imports:
        line -= 1
    return line >= 1 and lines[line - 1].strip().startswith("#")


def test_private_modules_of_other_subpackages_are_imported_only_with_a_reason() -> None:
    unexplained: list[_Import] = []
    for path in _sources():
        source = _subpackage(path)
        for imp in _imports(path):
            target = _target_subpackage(imp.target)
            if target is None or target == source:
                continue
            private = any(part.startswith("_") for part in imp.target.split(".")[2:])
            if private and not _comment_above(path, imp.node):
                unexplained.append(imp)
    assert unexplained == []


def test_no_private_name_of_temporalio() -> None:
    offenders: list[str] = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        temporal_aliases: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "temporalio":
                        temporal_aliases.add((alias.asname or alias.name).split(".")[0])
                        if any(p.startswith("_") for p in alias.name.split(".")):
                            offenders.append(f"{path.name}:{node.lineno} {alias.name}")
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.split(".")[0] != "temporalio":
                    continue
                if any(p.startswith("_") for p in node.module.split(".")):
                    offenders.append(f"{path.name}:{node.lineno} {node.module}")
                for alias in node.names:
                    if alias.name.startswith("_"):
                        offenders.append(f"{path.name}:{node.lineno} {alias.name}")
                    else:
                        temporal_aliases.add(alias.asname or alias.name)
        for node in ast.walk(tree):
            # temporalio.x._private, or a private attribute of a name imported from temporalio
            if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                root: ast.expr = node.value
                while isinstance(root, ast.Attribute):
                    root = root.value
                if (
                    isinstance(root, ast.Name)
                    and root.id in temporal_aliases
                    and not node.attr.startswith("__")
                ):
                    offenders.append(f"{path.name}:{node.lineno} .{node.attr}")
    assert offenders == []


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE_DIR)))
def test_no_module_is_over_the_size_limit(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{lines} lines"


def test_the_checks_see_a_violation() -> None:
    """The parser finds lazy and relative imports, so the checks above can fail."""
    entity = PACKAGE_DIR / "workflows" / "_entity.py"
    targets = {imp.target for imp in _imports(entity)}
    assert "temporal_router.router" in targets
    assert "temporal_router.workflows._messages" in targets
    plugin = PACKAGE_DIR / "adapter" / "_plugin.py"
    assert "temporal_router.otel" in {imp.target for imp in _imports(plugin)}  # lazy
