"""The package's shape: one package per concern at the top, and no import circles.

The imports are read with ``ast`` (nothing is imported): every ``import`` and ``from ... import``
of a ``rally_gitops`` module counts, at the top of a module or inside a function, except those
under ``if TYPE_CHECKING:`` (never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rally_gitops"
TOP_MODULES = {
    "__init__", "__main__", "main", "cli", "config", "errors", "error_handler", "redact",
    "steps", "git",
}  # fmt: skip
TOP_PACKAGES = {
    "commands", "files", "postgres", "deploy", "backup", "replay", "lint", "delivery", "schema",
    "templates",
}  # fmt: skip


def modules(package: Path) -> dict[str, Path]:
    """Dotted name → file of every module under ``package`` (a package is its ``__init__``)."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = [package.name, *path.relative_to(package).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _type_checking_only(tree: ast.Module) -> set[int]:
    """The nodes inside ``if TYPE_CHECKING:`` blocks."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                skipped.update(id(inner) for inner in ast.walk(node))
    return skipped


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that module ``name`` imports (its own package's ``__init__`` aside)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skipped = _type_checking_only(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: list[str] = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:  # ``from a import b``: b may be a module of its own
                targets.append(f"{source}.{alias.name}")
    found = set()
    for target in targets:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name and not name.startswith(f"{target}."):
            found.add(target)
    return found


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module → the package's modules it imports."""
    known = modules(package)
    return {name: imports_of(name, path, set(known)) for name, path in known.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of two or more modules (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_no_import_circle() -> None:
    assert circles(import_graph(PACKAGE)) == []


def test_only_the_listed_modules_and_packages_at_the_top() -> None:
    entries = [p for p in PACKAGE.iterdir() if p.name != "__pycache__"]
    top_modules = {p.stem for p in entries if p.suffix == ".py"}
    top_packages = {p.name for p in entries if p.is_dir()}
    assert top_modules - TOP_MODULES == set(), "a new module belongs in its concern's package"
    assert top_packages - TOP_PACKAGES == set(), "a new package needs a place in this list"
    assert {p.name for p in entries} - {f"{m}.py" for m in TOP_MODULES} - TOP_PACKAGES == set()


def write(root: Path, files: dict[str, str]) -> Path:
    package = root / "rally_gitops"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return package


def test_a_circle_through_a_function_level_import_is_found(tmp_path: Path) -> None:
    package = write(
        tmp_path,
        {
            "__init__.py": "",
            "deploy/__init__.py": "",
            "deploy/pipeline.py": "from rally_gitops.backup.take import take\n",
            "backup/__init__.py": "",
            "backup/take.py": "def take():\n    from rally_gitops.deploy import pipeline\n",
            "steps.py": "from rally_gitops.errors import RallyError\n",
            "errors.py": "",
        },
    )
    assert circles(import_graph(package)) == [
        ["rally_gitops.backup.take", "rally_gitops.deploy.pipeline"]
    ]


def test_relative_imports_and_type_checking_blocks(tmp_path: Path) -> None:
    package = write(
        tmp_path,
        {
            "__init__.py": "",
            "lint/__init__.py": "",
            "lint/model.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from rally_gitops.lint.parsing import Parsed\n"
            ),
            "lint/parsing.py": "from . import model\nfrom .model import Finding\n",
            "lint/analysis.py": "from .parsing import parse\nimport rally_gitops.lint.model\n",
        },
    )
    graph = import_graph(package)
    assert graph["rally_gitops.lint.model"] == set()  # annotations only: not a circle
    assert graph["rally_gitops.lint.parsing"] == {"rally_gitops.lint.model"}
    assert graph["rally_gitops.lint.analysis"] == {
        "rally_gitops.lint.parsing",
        "rally_gitops.lint.model",
    }
    assert circles(graph) == []


@pytest.mark.parametrize("name", ["deploy", "cli"])
def test_the_real_graph_is_read(name: str) -> None:
    """Guards against a walker that finds no edge at all (and so never a circle)."""
    graph = import_graph(PACKAGE)
    expected = {
        "deploy": ("rally_gitops.deploy.locked", "rally_gitops.deploy.lock"),
        "cli": ("rally_gitops.cli", "rally_gitops.config"),
    }[name]
    assert expected[1] in graph[expected[0]]


def test_no_command_module_imports_another() -> None:
    """A command parses, calls its concern and prints: shared work lives in the concern's package,
    not in another command (``release`` once ran ``commands.deploy``, ``workflow`` the CLI)."""
    graph = import_graph(PACKAGE)
    crossing = {
        (name, other)
        for name, targets in graph.items()
        if name.startswith("rally_gitops.commands.")
        for other in targets
        if other.startswith("rally_gitops.commands.") or other == "rally_gitops.main"
    }
    assert crossing == set()


def test_the_readme_layout_names_every_package_and_module() -> None:
    """README's Development section lists each package and each module of the concern packages
    (``commands/`` and ``lint/rules/`` are described, not listed)."""
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Development\n", 1)[1].split("\n## ", 1)[0]
    missing = [f"{p.name}/" for p in PACKAGE.iterdir() if p.is_dir() and p.name in TOP_PACKAGES]
    missing = [name for name in missing if name not in section]
    for package in sorted(TOP_PACKAGES - {"commands", "templates"}):
        for path in sorted((PACKAGE / package).glob("*.py")):
            if path.name != "__init__.py" and path.name not in section:
                missing.append(f"{package}/{path.name}")
    missing += [
        f"{m}.py"
        for m in sorted(TOP_MODULES - {"__init__", "__main__"})
        if f"{m}.py" not in section
    ]
    assert missing == []
