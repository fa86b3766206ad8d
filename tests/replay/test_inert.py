"""Which statements replay/inert.py calls inert, and which names it finds in a statement."""

from __future__ import annotations

import pytest

from rally_gitops.replay.inert import inert_kind, names_no_relation

NAMES = {"Users", "teams", "invoices", "a$b", "café€", "x" * 63}


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("CREATE TABLE t (id int)", "CreateStmt"),
        ("create unique index i on t (lower(x))", "IndexStmt"),
        ("CREATE OR REPLACE VIEW v AS SELECT 1", "ViewStmt"),
        ("CREATE SEQUENCE s", "CreateSeqStmt"),
        ("CREATE TYPE c AS (a int)", "CompositeTypeStmt"),
        ("CREATE TYPE e AS ENUM ('a')", "CreateEnumStmt"),
        ("CREATE DOMAIN d AS int CHECK (VALUE > 0)", "CreateDomainStmt"),
        (
            "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$",
            "CreateFunctionStmt",
        ),
        ("COMMENT ON TABLE t IS 'x'", "CommentStmt"),
        ("GRANT SELECT ON t TO PUBLIC", "GrantStmt"),
        ("REVOKE SELECT ON t FROM PUBLIC", "GrantStmt"),
        # runs code, reads or writes rows, or names no relation it touches
        ("CREATE TABLE t AS SELECT 1", ""),
        ("CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (f()) TO (10)", ""),  # f() runs
        ("CREATE TABLE p1 PARTITION OF p DEFAULT", ""),
        ("CREATE TABLE p (a int) PARTITION BY RANGE (a)", "CreateStmt"),
        ("CREATE MATERIALIZED VIEW m AS SELECT 1", ""),
        ("CREATE INDEX CONCURRENTLY i ON t (x)", ""),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'", ""),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END", ""),
        ("GRANT SELECT ON ALL TABLES IN SCHEMA public TO PUBLIC", ""),
        ("CREATE EVENT TRIGGER e ON ddl_command_end EXECUTE FUNCTION f()", ""),
        ("CREATE EXTENSION hstore", ""),
        ("CREATE TRIGGER g BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f()", ""),
        ("DO $$ BEGIN END $$", ""),
        ("SELECT 1", ""),
        ("INSERT INTO t VALUES (1)", ""),
        ("ALTER TABLE t ADD COLUMN x int", ""),
        ("CREATE TABLE t (id int); CREATE TABLE u (id int)", ""),
        ("CREATE TABLE t (", ""),
    ],
)
def test_inert_kinds(sql: str, kind: str) -> None:
    assert inert_kind(sql) == kind


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE o (u int REFERENCES teams (id))",
        "CREATE TABLE o (u int REFERENCES TEAMS (id))",  # folded to teams
        'CREATE VIEW v AS SELECT * FROM "Users"',
        """CREATE VIEW v AS SELECT '"' AS q, * FROM "Users" WHERE x = '"'""",  # quotes in strings
        "CREATE VIEW v AS SELECT * FROM billing.invoices",
        "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN "
        "(SELECT count(*) FROM invoices); END $$",
        "COMMENT ON TABLE o IS 'copied from teams'",  # in a string: counted all the same
        "CREATE INDEX i ON a$b (x)",
        "CREATE INDEX i ON café€ (x)",
        "CREATE INDEX i ON " + "X" * 70 + " (x)",  # cut to 63 bytes, as PostgreSQL does
        'CREATE INDEX i ON U&"\\0074eams" (x)',  # escapes: never decided as free
        "CREATE TABLE o (c text DEFAULT E'\\x41')",
        'CREATE TABLE "a""b" (id int)',
    ],
)
def test_a_name_of_an_existing_relation_or_an_escape_is_found(sql: str) -> None:
    assert not names_no_relation(sql, NAMES)


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE users (id int)",  # "Users" is another relation
        "CREATE TABLE teams_2 (team_id int)",
        'CREATE INDEX i ON "USERS" (x)',  # quoted: not folded to "Users"
        "COMMENT ON TABLE o IS 'one per team'",
    ],
)
def test_other_names_are_free(sql: str) -> None:
    assert names_no_relation(sql, NAMES)
