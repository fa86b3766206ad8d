"""The splitter: every statement's text, line and column, on big and tricky inputs."""

from __future__ import annotations

import bisect

import pytest

from rally_gitops.files.statements import Statement, split_statements

TRICKY = """-- Migration: 20240101_000000_tricky
-- Description: comments, dollar quotes, atomic bodies, unicode
BEGIN;
/* a block
   comment; with a semicolon */ CREATE TABLE "ä; b" (id int, note text DEFAULT ';');
SELECT 1;  SELECT 2;   -- two on one line
CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$
BEGIN
  RETURN 1; -- inside the body
END
$body$;
CREATE FUNCTION g() RETURNS int LANGUAGE sql
BEGIN ATOMIC
  SELECT 1;
  SELECT 2;
END;
-- 中文 comment before a statement

    INSERT INTO "ä; b" VALUES (1, E'line\\nbreak; ''quoted''');
COMMIT;
"""


def reference(sql: str, first_line: int, statements: tuple[Statement, ...]) -> list[tuple]:
    """Line and column of each statement's offset, told independently (bisect over newlines)."""
    newlines = [i for i, ch in enumerate(sql) if ch == "\n"]
    rows = []
    for statement in statements:
        before = bisect.bisect_left(newlines, statement.offset)
        line_start = newlines[before - 1] + 1 if before else 0
        rows.append((statement.sql, first_line + before, statement.offset - line_start + 1))
    return rows


def check(sql: str, first_line: int = 1) -> tuple[Statement, ...]:
    statements = split_statements(sql, first_line=first_line)
    assert [(s.sql, s.line, s.column) for s in statements] == reference(sql, first_line, statements)
    for statement in statements:  # the text is where the offset says
        assert sql[statement.offset :].startswith(statement.sql)
    return statements


def test_tricky_file_statements_lines_and_columns() -> None:
    statements = check(TRICKY)
    assert [(s.sql.split()[0], s.line, s.column) for s in statements] == [
        ("BEGIN", 3, 1),
        ("CREATE", 5, 33),  # after the block comment, on its last line
        ("SELECT", 6, 1),
        ("SELECT", 6, 12),
        ("CREATE", 7, 1),
        ("CREATE", 12, 1),
        ("INSERT", 19, 5),
        ("COMMIT", 20, 1),
    ]
    assert statements[5].sql.endswith("END")  # BEGIN ATOMIC ... END stays whole


@pytest.mark.parametrize("first_line", [1, 40])
def test_big_file_lines_match_a_count_from_the_top(first_line: int) -> None:
    rows = []
    for number in range(6000):
        rows.append(f"INSERT INTO t VALUES ({number}, 'x;y', $${number};\n$$);")
        if number % 7 == 0:
            rows.append(f"-- comment {number}\n\n   /* c */ SELECT {number};  SELECT 0;")
    statements = check("\n".join(rows) + "\n", first_line)
    assert len(statements) == 6000 + 2 * 858
    assert (statements[-1].sql, statements[-1].line) == ("SELECT 0", first_line + 14573)


def test_file_that_does_not_parse_splits_with_the_scanner() -> None:
    sql = "SELECT 1;\nCREATE TABLEE x ();\nCREATE FUNCTION g() RETURNS int LANGUAGE sql\n"
    sql += "BEGIN ATOMIC\n  SELECT 1;\nEND;\n\n  SELECT 3;\n"
    statements = check(sql * 300, first_line=5)
    assert len(statements) == 4 * 300
    assert [(s.line, s.column) for s in statements[4:8]] == [(13, 1), (14, 1), (15, 1), (20, 3)]


@pytest.mark.parametrize(
    "sql",
    [
        "-- lead\n  -- more\nBEGIN",
        "  commit  ;",
        "CREATE TABLE t (\n  -- inner comment\n  id int\n)",
        "-- only\n-- comments",
        "SELECT " + "x, " * 5000 + "1\n-- tail\nFROM t",
        "ROLLBACK\n\tTO   SAVEPOINT s",
        "",
    ],
)
def test_first_words_reads_only_the_start(sql: str) -> None:
    from rally_gitops.files.statements import first_words

    lines = [ln for ln in sql.split("\n") if not ln.lstrip().startswith("--")]
    assert first_words(sql) == " ".join(" ".join(lines).split())[:64]
