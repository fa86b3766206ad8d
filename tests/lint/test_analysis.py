"""Statement analysis: both ASTs, the fallback from sqlglot to pglast, and robustness."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from rally_gitops.files import migrations
from rally_gitops.lint.analysis import created_prefixes, created_tables, is_new_table
from rally_gitops.lint.facts import column_types, dropped, volatile_call
from rally_gitops.lint.model import FileContext
from rally_gitops.lint.parsing import analyse, parse_pg, parse_sqlglot
from rally_gitops.lint.rules import load_all
from testing.rule_cases import FLAG, OK, body_line, check, write_migration

RULES = load_all()

# Rules that read sqlglot's AST first: each must still work when only sqlglot's AST exists.
SQLGLOT_RULES = {
    "require-concurrent-index",
    "require-concurrent-index-drop",
    "ban-drop-table",
    "ban-drop-column",
    "ban-drop-schema",
    "ban-drop-type",
    "ban-drop-view",
    "ban-drop-database",
    "ban-truncate",
    "unbatched-data-change",
    "identifier-too-long",
    "prefer-jsonb",
    "prefer-bigint",
    "prefer-identity",
    "prefer-timestamptz",
    "prefer-text",
}


def test_analyse_builds_both_asts(tmp_path: Path) -> None:
    from pglast import ast
    from sqlglot import exp

    migration = write_migration(tmp_path, "CREATE TABLE t (a int);\nVACUUM t;\nDROP INDEX a, b;")
    statements = analyse(migration)
    assert [s.sql.split()[0] for s in statements] == ["BEGIN", "CREATE", "VACUUM", "DROP", "COMMIT"]
    assert [s.index for s in statements] == [0, 1, 2, 3, 4]
    assert all(s.in_transaction for s in statements)
    create, vacuum, drop = statements[1:4]
    assert isinstance(create.sqlglot, exp.Create) and isinstance(create.pg, ast.CreateStmt)
    assert vacuum.sqlglot is None  # sqlglot falls back to exp.Command
    assert isinstance(vacuum.pg, ast.VacuumStmt)
    assert drop.sqlglot is None  # sqlglot raises on valid DROP INDEX a, b
    assert isinstance(drop.pg, ast.DropStmt)
    assert create.line == 4


def test_no_transaction_file(tmp_path: Path) -> None:
    migration = write_migration(
        tmp_path, "-- rally:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);"
    )
    [statement] = analyse(migration)
    assert statement.in_transaction is False


def test_broken_sql_gives_no_ast_and_no_exception(tmp_path: Path) -> None:
    migration = write_migration(tmp_path, "CREATE TABLE x (id int,);\nDROP TABLEE x;")
    statements = analyse(migration)
    assert statements[1].pg is None and statements[2].pg is None
    assert parse_sqlglot("") is None and parse_pg("") is None
    assert parse_sqlglot("SELECT 'unterminated") is None


def test_sqlglot_logger_is_silenced(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    analyse(write_migration(tmp_path, "ALTER TYPE s ADD VALUE 'x';"))
    assert not [r for r in caplog.records if r.name.startswith("sqlglot")]


def test_created_tables(tmp_path: Path) -> None:
    migration = write_migration(
        tmp_path,
        'CREATE TABLE Teams (id int);\nCREATE TABLE app."Users" (id int);\n'
        "CREATE TABLE t2 AS SELECT 1;\nCREATE MATERIALIZED VIEW m AS SELECT 1;\n"
        "CREATE INDEX i ON teams (id);\nCREATE VIEW v AS SELECT 1;\n"
        "SET search_path = app, public;\nCREATE TABLE late (id int);",
    )
    statements = analyse(migration)
    # names as written: unquoted folded, quoted kept (and shown quoted)
    assert created_tables(statements) == {"teams", 'app."Users"', "t2", "m", "late"}
    ctx = FileContext(migration, statements)
    assert created_prefixes(ctx)[2] == {("public", "teams")}
    assert created_prefixes(ctx)[-1] == {
        ("public", "teams"),
        ("app", "Users"),
        ("public", "t2"),
        ("public", "m"),
        ("app", "late"),
    }
    view, last = statements[6], statements[-1]  # before and after SET search_path
    assert is_new_table(ctx, view, "TEAMS") and is_new_table(ctx, view, "public.teams")
    assert not is_new_table(ctx, last, "TEAMS")  # now app.teams
    assert is_new_table(ctx, last, "public.teams") and is_new_table(ctx, last, 'app."Users"')
    assert not is_new_table(ctx, last, "app.users") and is_new_table(ctx, last, '"Users"')
    assert not is_new_table(ctx, view, '"Users"') and not is_new_table(ctx, last, "v")
    assert is_new_table(ctx, last, "late") and is_new_table(ctx, last, "app.late")
    for st in statements:
        st.pg = None  # the sqlglot fallback finds the same tables
    assert created_tables(statements) >= {"teams", 'app."Users"', "t2"}


def _sqlglot_parses(sql: str) -> bool:
    return all(parse_sqlglot(s.sql) is not None for s in migrations.split_statements(sql))


# the FLAG cases sqlglot can parse (the others are the pglast fallback's, tested below)
SQLGLOT_FLAG = [c for c in FLAG if c[0] in SQLGLOT_RULES and _sqlglot_parses(c[1])]


def test_most_sqlglot_rule_cases_have_a_sqlglot_ast() -> None:
    assert len(SQLGLOT_FLAG) >= 30
    assert {c[0] for c in SQLGLOT_FLAG} == SQLGLOT_RULES


@pytest.mark.parametrize(("code", "sql", "lines"), SQLGLOT_FLAG, ids=lambda c: str(c)[:50])
def test_sqlglot_path_flags_without_pglast(
    tmp_path: Path, code: str, sql: str, lines: tuple[int, ...]
) -> None:
    found = check(tmp_path, code, sql, drop="pg")
    assert tuple(body_line(v, sql) for v in found) == lines


# types a file creates are read from pglast's nodes (sqlglot has no CREATE TYPE): a statement
# pglast cannot parse cannot create one either
SQLGLOT_OK = [c for c in OK if c[0] in SQLGLOT_RULES and "CREATE TYPE" not in c[1]]


@pytest.mark.parametrize(("code", "sql"), SQLGLOT_OK, ids=lambda c: str(c)[:50])
def test_sqlglot_path_passes_without_pglast(tmp_path: Path, code: str, sql: str) -> None:
    assert check(tmp_path, code, sql, drop="pg") == []


# Valid PostgreSQL that sqlglot turns into exp.Command or rejects: pglast must catch each.
FALLBACK = [
    ("require-concurrent-index-drop", "DROP INDEX a_idx, b_idx;"),
    ("require-concurrent-index", "CREATE INDEX i ON users (email) NULLS NOT DISTINCT;"),
    ("ban-drop-schema", "DROP SCHEMA IF EXISTS a, b CASCADE;"),
    ("ban-drop-type", "DROP TYPE IF EXISTS a, b CASCADE;"),
    ("ban-drop-database", "-- rally:no-transaction\nDROP DATABASE IF EXISTS d WITH (FORCE);"),
    ("prefer-jsonb", "CREATE TEMP TABLE t (j json) ON COMMIT DROP;"),
    ("identifier-too-long", "CREATE TABLE x (j jsonb COMPRESSION lz4, " + "c" * 70 + " int);"),
    (
        "adding-volatile-default",
        "ALTER TABLE users ADD COLUMN c timestamptz DEFAULT clock_timestamp(), "
        "ADD CONSTRAINT x UNIQUE USING INDEX i;",
    ),
    ("renaming-enum-value", "ALTER TYPE match_status RENAME VALUE 'live' TO 'playing';"),
    ("renaming-schema", "ALTER SCHEMA reporting RENAME TO analytics;"),
    ("require-concurrent-reindex", "REINDEX TABLE users;"),
    ("require-concurrent-refresh", "REFRESH MATERIALIZED VIEW standings;"),
    ("ban-cluster", "CLUSTER matches USING matches_scheduled_at_idx;"),
    ("ban-lock-table", "LOCK TABLE users;"),
]


@pytest.mark.parametrize(("code", "sql"), FALLBACK, ids=[c[0] for c in FALLBACK])
def test_pglast_catches_what_sqlglot_cannot_parse(tmp_path: Path, code: str, sql: str) -> None:
    statements = analyse(write_migration(tmp_path, sql))
    body = [s for s in statements if not s.sql.upper().startswith(("BEGIN", "COMMIT"))]
    assert [s.sqlglot for s in body] == [None]
    assert body[0].pg is not None
    assert check(tmp_path, code, sql)


def test_pglast_decides_where_sqlglot_misreads(tmp_path: Path) -> None:
    # sqlglot parses this column rename as a table rename to "display_name"
    sql = "ALTER TABLE users RENAME display_name TO full_name;"
    assert check(tmp_path, "renaming-column", sql)
    assert check(tmp_path, "renaming-table", sql) == []


def test_volatile_call_on_both_asts() -> None:
    for sql, expected in [
        ("random() * 10", "random"),
        ("gen_random_uuid()", "gen_random_uuid"),
        ("md5(clock_timestamp()::text)", "clock_timestamp"),
        ("pg_catalog.random()", "random"),
        ("now()", None),
        ("current_timestamp", None),
        ("'{}'::jsonb", None),
        ("lower('X')", None),
    ]:
        sg = parse_sqlglot(f"SELECT {sql}").expressions[0]
        pg = parse_pg(f"SELECT {sql}").targetList[0].val
        assert volatile_call(sg) == expected, sql
        assert volatile_call(pg) == expected, sql


def test_column_types_agree_between_asts(tmp_path: Path) -> None:
    sql = (
        "CREATE TABLE t (a int, b smallint, c bigint, d json, e jsonb, f timestamp, "
        "g timestamptz, h varchar(3), i varchar, j char(2), k text, l bigserial, m json[]);"
    )
    [statement] = analyse(write_migration(tmp_path, sql))[1:-1]
    with_sqlglot = column_types(statement)
    statement.sqlglot = None
    assert column_types(statement) == with_sqlglot
    assert [c.name for c in with_sqlglot] == [
        "int4", "int2", "int8", "json", "jsonb", "timestamp", "timestamptz", "varchar",
        "varchar", "bpchar", "text", "bigserial", "json",
    ]  # fmt: skip
    assert [c.sized for c in with_sqlglot][7:10] == [True, False, True]


def test_dropped_agrees_between_asts(tmp_path: Path) -> None:
    for sql, kind in [
        ("DROP TABLE s.a, b", "table"),
        ("DROP VIEW v", "view"),
        ("DROP MATERIALIZED VIEW m", "materialized view"),
        ("DROP SCHEMA s", "schema"),
        ("DROP TYPE t", "type"),
        ("DROP INDEX i", "index"),
    ]:
        [statement] = analyse(write_migration(tmp_path, sql + ";"))[1:-1]
        assert statement.sqlglot is not None
        from_sqlglot = dropped(statement)
        statement.sqlglot = None
        assert dropped(statement) == from_sqlglot
        assert from_sqlglot.kind == kind


WORDS = (
    "CREATE TABLE INDEX ALTER DROP ADD COLUMN CONSTRAINT ( ) , ; ' \" $$ -- /* */ users id int "
    "NOT NULL DEFAULT now() random() CONCURRENTLY ON ONLY TYPE json VALID REFERENCES CHECK "
    "UPDATE SET WHERE DELETE FROM TRUNCATE RENAME TO VALUE BEGIN COMMIT é 😀 \\ e'x' :: [ ]"
).split()


def test_no_exception_on_garbled_files(tmp_path: Path) -> None:
    rng = random.Random(4)
    for number in range(150):
        body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 40)))
        body = body.replace(";", rng.choice([";\n", ";"]))
        path = tmp_path / f"20240101_{number:06d}_g.sql"
        path.write_text(f"-- Migration: {path.stem}\n-- Description: g\n{body}\n", "utf-8")
        migration = migrations.parse(path)
        ctx = FileContext(migration, analyse(migration), pg_version=rng.choice([10, 12, 16]))
        for rule in RULES:
            list(rule.function(ctx))


def test_lint_records_and_parsing_import_no_circle() -> None:
    # model holds records only; parsing builds on model; analysis on both (issue 13)
    import ast as python_ast

    package = Path(__file__).resolve().parents[2] / "rally_gitops" / "lint"

    def lint_imports(name: str) -> set[str]:
        tree = python_ast.parse((package / f"{name}.py").read_text(encoding="utf-8"))
        found = set()
        for node in python_ast.walk(tree):
            if isinstance(node, python_ast.ImportFrom) and node.module:
                found.add(node.module)
        return {m.rpartition(".")[2] for m in found if m.startswith("rally_gitops.lint.")}

    assert lint_imports("model") == set()
    assert lint_imports("parsing") == {"model"}
    assert lint_imports("analysis") <= {"model", "parsing", "names"}
