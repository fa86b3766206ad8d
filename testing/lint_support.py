"""Helpers for the lint tests: well-formed migration text, scratch projects, stand-in rules."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from rally_gitops.config import load
from rally_gitops.lint.checker import Checker
from rally_gitops.lint.model import FileContext, Finding, Rule, RuleDocs, Severity, Violation

NAME = "20250101_120000_add_things"
GOOD = """-- Migration: {name}
-- Description: Add things
BEGIN;
CREATE TABLE things (id bigint PRIMARY KEY);
COMMIT;
-- Rollback script (uncomment if needed):
-- BEGIN;
-- DROP TABLE things;
-- COMMIT;
"""


def good(name: str = NAME, body: str | None = None) -> str:
    """A clean migration; ``body`` replaces the CREATE TABLE line."""
    text = GOOD.format(name=name)
    if body is not None:
        text = text.replace("CREATE TABLE things (id bigint PRIMARY KEY);", body)
    return text


def project(root: Path, lint_settings: str = "") -> Path:
    """A scratch project with an empty migrations dir and optional [tool.rally_gitops.lint]."""
    root.mkdir(parents=True, exist_ok=True)
    table = f"\n[tool.rally_gitops.lint]\n{lint_settings}\n" if lint_settings else ""
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "scratch"\nversion = "0"\n\n[tool.rally_gitops]\n{table}',
        encoding="utf-8",
    )
    (root / "migrations").mkdir(exist_ok=True)
    return root


def write(root: Path, text: str | bytes, name: str = NAME + ".sql") -> Path:
    """Write a file into the project's migrations dir."""
    path = root / "migrations" / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def lint(root: Path, paths: Sequence[Path], rules: Sequence[Rule] | None = ()) -> list[Finding]:
    """Lint ``paths`` with the project's settings and only the given rules (None: the rules of
    the index, as the CLI runs them)."""
    return Checker(load(root), rules=rules).check(list(paths))


def lint_text(
    tmp_path: Path,
    text: str | bytes,
    *,
    name: str = NAME + ".sql",
    settings: str = "",
    rules: Sequence[Rule] | None = (),
) -> list[Finding]:
    """Write one file into a fresh project and lint it."""
    root = project(tmp_path / "proj", settings)
    return lint(root, [write(root, text, name)], rules)


def codes(findings: Sequence[Finding]) -> list[str]:
    """The codes, in report order."""
    return [f.code for f in findings]


def stand_in_rule(
    code: str = "no-select-star", *, severity: Severity = "error", enabled: bool = True
) -> Rule:
    """A tiny rule with the real rules' shape: flags statements containing ``SELECT *``."""

    def no_select_star(ctx: FileContext) -> Iterator[Violation]:
        for st in ctx.statements:
            if "select *" in st.sql.lower():
                yield Violation(st, "SELECT * reads every column", "name the columns")

    docs = RuleDocs("why", "name the columns", "SELECT * FROM t;", "SELECT a FROM t;")
    return Rule(code, severity, no_select_star, "SELECT * in a migration", docs, enabled)


def crashing_rule() -> Rule:
    """A rule that raises, to prove a crash becomes an ``internal-error`` finding."""

    def always_crashes(ctx: FileContext) -> Iterator[Violation]:
        raise ZeroDivisionError("boom")
        yield  # pragma: no cover

    return Rule("always-crashes", "error", always_crashes, "crashes", RuleDocs("", "", "", ""))
