"""The safety rules: for every rule SQL it must flag and SQL it must not (squawk's ok/err style).

Each case is linted from a real migration file, with both ASTs and again with sqlglot's AST
removed, so the pglast fallback path of every rule is exercised too.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from rally_gitops.files import migrations
from rally_gitops.lint.model import FileContext, Rule
from rally_gitops.lint.parsing import analyse
from rally_gitops.lint.rules import load_all
from testing.rule_cases import BY_CODE, FLAG, OK, body_line, check

RULES = load_all()

REPO = Path(__file__).resolve().parents[2]


def _id(case: tuple[str, ...]) -> str:
    return f"{case[0]}:{case[1][:40]}"


@pytest.mark.parametrize("drop", [None, "sqlglot"], ids=["both-asts", "pglast-only"])
@pytest.mark.parametrize(("code", "sql", "lines"), FLAG, ids=[_id(c) for c in FLAG])
def test_rule_flags(
    tmp_path: Path, code: str, sql: str, lines: tuple[int, ...], drop: str | None
) -> None:
    found = check(tmp_path, code, sql, drop=drop)
    # the code is the rule's; pinned: how many findings, and the line of each
    assert tuple(body_line(v, sql) for v in found) == lines, f"{code}: {sql}"
    for violation in found:
        assert violation.message and violation.help
        assert violation.statement.sql in sql


@pytest.mark.parametrize("drop", [None, "sqlglot"], ids=["both-asts", "pglast-only"])
@pytest.mark.parametrize(("code", "sql"), OK, ids=[_id(c) for c in OK])
def test_rule_passes(tmp_path: Path, code: str, sql: str, drop: str | None) -> None:
    assert check(tmp_path, code, sql, drop=drop) == []


def test_every_rule_has_flag_and_ok_cases() -> None:
    # adding-field-with-default depends on pg_version: see test_constant_default_depends_on_...
    assert {code for code, _, _ in FLAG} == set(BY_CODE) - {"adding-field-with-default"}
    assert {code for code, _ in OK} == set(BY_CODE) - {"adding-field-with-default"}


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_documented_examples(tmp_path: Path, rule: Rule) -> None:
    version = rule.docs.example_pg_version or 16
    if rule.docs.example_history:
        write_earlier(tmp_path, rule.docs.example_history)
    # one finding per flagged column for the type-hygiene rules, else one per example
    expected = 2 if rule.code == "prefer-bigint" else 1
    assert len(check(tmp_path, rule.code, rule.docs.example_bad, pg_version=version)) == expected
    assert check(tmp_path, rule.code, rule.docs.example_ok, pg_version=version) == []


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_rule_module_shape(rule: Rule) -> None:
    # one rule per module, the module and its function named after the kebab-case code
    module = sys.modules[rule.function.__module__]
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.code)
    assert rule.function.__module__ == f"rally_gitops.lint.rules.{rule.code.replace('-', '_')}"
    assert rule.function.__name__ == rule.code.replace("-", "_")
    assert module.RULE is rule
    assert rule.severity in ("error", "warning")
    docs = rule.docs
    for text in (rule.summary, docs.why, docs.safe_alternative, docs.example_bad, docs.example_ok):
        assert isinstance(text, str) and text.strip()
    assert module.__doc__ and rule.function.__doc__


def test_rule_codes_are_unique_and_hygiene_is_opt_in() -> None:
    assert len(BY_CODE) == len(RULES)
    hygiene = {"prefer-bigint", "prefer-identity", "prefer-timestamptz", "prefer-text"}
    assert {r.code for r in RULES if not r.enabled} == hygiene
    assert all(BY_CODE[c].severity == "warning" for c in hygiene)


def test_constant_default_depends_on_target_version(tmp_path: Path) -> None:
    sql = "ALTER TABLE users ADD COLUMN active boolean NOT NULL DEFAULT true;"
    assert check(tmp_path, "adding-field-with-default", sql, pg_version=10)
    assert check(tmp_path, "adding-field-with-default", sql, pg_version=11) == []
    assert check(tmp_path, "adding-field-with-default", sql) == []
    nullable = "ALTER TABLE users ADD COLUMN note text DEFAULT NULL;"
    assert check(tmp_path, "adding-field-with-default", nullable, pg_version=10) == []
    new_table = "CREATE TABLE n (a int);\nALTER TABLE n ADD COLUMN b int DEFAULT 0;"
    assert check(tmp_path, "adding-field-with-default", new_table, pg_version=10) == []


def write_earlier(tmp_path: Path, sql: str, version: str = "20231201_000000") -> None:
    """An earlier migration in the same directory as the one ``check`` writes."""
    name = f"{version}_earlier"
    (tmp_path / f"{name}.sql").write_text(
        f"-- Migration: {name}\n-- Description: x\nBEGIN;\n{sql}\nCOMMIT;\n", encoding="utf-8"
    )


def test_set_not_null_after_the_check_constraint_pattern(tmp_path: Path) -> None:
    write_earlier(
        tmp_path,
        "ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;",
    )
    validate = "ALTER TABLE users VALIDATE CONSTRAINT users_email_nn;\n"
    set_not_null = "ALTER TABLE users ALTER COLUMN email SET NOT NULL;"
    # validated in this migration, then SET NOT NULL: PostgreSQL 12+ skips the scan
    assert check(tmp_path, "setting-not-null", validate + set_not_null) == []
    assert check(tmp_path, "setting-not-null", validate + set_not_null, pg_version=11)
    # the check was never validated: it proves nothing
    assert check(tmp_path, "setting-not-null", set_not_null)
    # validated in a third, earlier migration
    write_earlier(tmp_path, validate, version="20231202_000000")
    assert check(tmp_path, "setting-not-null", set_not_null) == []
    # a check on another column does not help
    assert check(tmp_path, "setting-not-null", "ALTER TABLE users ALTER name SET NOT NULL;")


def test_set_not_null_ignores_commented_out_sql(tmp_path: Path) -> None:
    write_earlier(tmp_path, "-- ALTER TABLE users ADD CONSTRAINT c CHECK (email IS NOT NULL);")
    assert check(tmp_path, "setting-not-null", "ALTER TABLE users ALTER email SET NOT NULL;")


def test_messages_name_the_table_and_consequence(tmp_path: Path) -> None:
    [index] = check(tmp_path, "require-concurrent-index", "CREATE INDEX i ON users (email);")
    assert index.message == "CREATE INDEX locks users against writes while the index builds"
    assert "CONCURRENTLY" in index.help
    [fk] = check(
        tmp_path,
        "require-not-valid-foreign-key",
        "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users (id);",
    )
    assert "orders" in fk.message and "users" in fk.message and "NOT VALID" in fk.help


def test_violation_points_at_the_statement(tmp_path: Path) -> None:
    sql = "CREATE TABLE n (a int);\n\nCREATE INDEX i ON users (email);"
    [found] = check(tmp_path, "require-concurrent-index", sql)
    # header (2 lines) + BEGIN + CREATE TABLE + blank line
    assert found.statement.line == 6
    assert found.statement.sql == "CREATE INDEX i ON users (email)"


def test_sample_migrations_have_no_errors() -> None:
    paths = sorted((REPO / "migrations").glob("*.sql"))
    assert len(paths) == 6
    for path in paths:
        migration = migrations.parse(path)
        ctx = FileContext(migration, analyse(migration))
        for rule in RULES:
            if not rule.enabled or rule.severity != "error":
                continue
            found = list(rule.function(ctx))
            assert found == [], f"{path.name}: {rule.code}: {found[0].message}"


def test_docs_page_is_current_and_lists_every_rule() -> None:
    from rally_gitops.lint.ruledoc import render

    page = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    assert page == render(), "docs/rules.md is stale: run python docs/gen_rules.py"
    for rule in RULES:
        assert f"\n## {rule.code}\n" in page
        assert rule.docs.example_bad in page


def test_violation_points_at_the_offending_line_of_a_long_alter(tmp_path: Path) -> None:
    sql = (
        "ALTER TABLE users\n"
        "    ADD COLUMN nickname text,\n"
        "    ADD COLUMN country text NOT NULL,\n"
        "    ADD CONSTRAINT users_age_check CHECK (age >= 0);"
    )
    [required] = check(tmp_path, "adding-required-field", sql)
    [constraint] = check(tmp_path, "require-not-valid-check", sql)
    assert (required.line_offset, constraint.line_offset) == (2, 3)
    [index] = check(tmp_path, "require-concurrent-index", "CREATE INDEX i\n  ON users (email);")
    assert index.line_offset == 0


def test_ledger_schema_name_comes_from_the_config(tmp_path: Path) -> None:
    from rally_gitops.config import load
    from rally_gitops.lint.checker import Checker
    from testing.lint_support import good, project, write

    root = project(tmp_path / "proj")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            "[tool.rally_gitops]\n", '[tool.rally_gitops]\nledger_schema = "ops_ledger"\n'
        )
    )
    body = "DELETE FROM ops_ledger.applied WHERE version = '1';\nDROP TABLE rally_gitops.x;"
    path = write(root, good(body=body))
    found = [f for f in Checker(load(root)).check([path]) if f.code == "ban-ledger-schema"]
    assert [(f.line, f.severity) for f in found] == [(4, "error")]
    assert "ledger schema ops_ledger" in found[0].message
