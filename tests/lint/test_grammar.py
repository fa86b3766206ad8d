"""Layer 2: PostgreSQL's grammar, errors with the right line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from rally_gitops.lint.grammar import syntax_errors
from testing.lint_support import codes, good, lint_text


def position(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column of ``needle`` in ``text``."""
    offset = text.index(needle)
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


@pytest.mark.parametrize(
    ("body", "at"),
    [
        ("CREATE TABLE x (id int,);", ",);"),  # sqlglot accepts this
        ("DROP TABLEE x;", "TABLEE"),  # and this
        ("SELECT 1;\n  ALTER TABLE x ADD COLUMN;", ";\n-- Rollback"),
        ("CREATE TABLE x (name text DEFAULT 'é€', y nmeric numeric);", "numeric);"),
    ],
)
def test_syntax_error_line_and_column(tmp_path: Path, body: str, at: str) -> None:
    text = good(body=body)
    findings = lint_text(tmp_path, text)
    assert codes(findings) == ["syntax-error"]
    expected = position(text, at)
    if at == ",);":
        expected = (expected[0], expected[1] + 1)  # pglast points at the ")"
    if at.startswith(";\n"):
        expected = position(text, "ADD COLUMN;")
        expected = (expected[0], expected[1] + len("ADD COLUMN"))
    assert (findings[0].line, findings[0].column) == expected
    assert findings[0].severity == "error"


@pytest.mark.parametrize(
    "body",
    [
        "DROP INDEX a, b;",  # sqlglot rejects this valid PostgreSQL
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a) WHERE b IN ('x', 'y');",
        "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID;",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;",
        "DO $$ BEGIN RAISE NOTICE 'x;'; END $$;",
        "CREATE TYPE mood AS ENUM ('sad', 'ok');\nALTER TYPE mood ADD VALUE 'happy';",
        "COMMENT ON TABLE t IS 'it''s -- not a comment';",
    ],
)
def test_valid_postgresql_is_not_flagged(tmp_path: Path, body: str) -> None:
    assert lint_text(tmp_path, good(body=body)) == []


def test_every_error_is_reported_not_only_the_first(tmp_path: Path) -> None:
    body = "SELEC 1;\nCREATE TABLE ok (id int);\nDROP TABLEE x;\nALTER TABLE t ADD COLUMN;"
    text = good(body=body)
    findings = lint_text(tmp_path, text)
    assert codes(findings) == ["syntax-error"] * 3
    assert [(f.line, f.column) for f in findings] == [
        position(text, "SELEC "),
        position(text, "TABLEE"),
        (position(text, "ADD COLUMN;")[0], position(text, "ADD COLUMN;")[1] + 10),
    ]


def test_multibyte_characters_before_the_error(tmp_path: Path) -> None:
    body = "INSERT INTO t VALUES ('日本語テキスト'); DROP TABLEE x;"
    text = good(body=body)
    [finding] = lint_text(tmp_path, text)
    assert (finding.line, finding.column) == position(text, "TABLEE")


def test_unterminated_quotes_are_one_error_with_a_short_message(tmp_path: Path) -> None:
    body = "SELECT 'abc;\n" + "x" * 5000 + "\nSELECT 1;"
    [finding] = lint_text(tmp_path / "a", good(body=body))
    assert finding.code == "syntax-error"
    assert "unterminated quoted string" in finding.message
    assert len(finding.message) < 300 and "\n" not in finding.message
    [dollar] = lint_text(tmp_path / "b", good(body="DO $$ BEGIN NULL; END;"))
    assert "unterminated dollar-quoted string" in dollar.message


def test_rollback_section_is_parsed_with_file_positions(tmp_path: Path) -> None:
    text = good().replace("-- DROP TABLE things;", "--   DROP TABLEE things;")
    [finding] = lint_text(tmp_path, text)
    assert finding.code == "rollback-syntax-error"
    assert (finding.line, finding.column) == position(text, "TABLEE")


def test_rollback_prose_needs_double_comment(tmp_path: Path) -> None:
    prose = good().replace("-- BEGIN;", "-- this undoes it\n-- BEGIN;")
    assert codes(lint_text(tmp_path / "a", prose)) == ["rollback-syntax-error"]
    fixed = good().replace("-- BEGIN;", "-- -- this undoes it\n-- BEGIN;")
    assert lint_text(tmp_path / "b", fixed) == []


def test_syntax_errors_offsets_are_characters() -> None:
    assert syntax_errors("SELECT 'é';\nDROP TABLEE x;") == [
        (17, 'syntax error at or near "TABLEE"')
    ]
    assert syntax_errors("DROP INDEX a, b;") == []
    assert syntax_errors("SELECT (") == [(8, "syntax error at end of input")]


def test_an_up_part_that_parses_is_parsed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the grammar check and the rules share one parse of the up part (parsing.parse_whole); the
    # error-by-error parse runs only where that one fails, and on the rollback section
    from pglast import parser

    seen: list[str] = []
    real = parser.parse_sql_json
    monkeypatch.setattr(parser, "parse_sql_json", lambda sql: seen.append(sql) or real(sql))
    text = good(body="CREATE INDEX i ON users (email);")
    assert codes(lint_text(tmp_path / "a", text, rules=None)) == ["require-concurrent-index"]
    assert seen == ["BEGIN;\nDROP TABLE things;\nCOMMIT;\n"]  # the rollback section only
    seen.clear()
    bad = good(body="DROP TABLEE x;")
    assert codes(lint_text(tmp_path / "b", bad, rules=None)) == ["syntax-error"]
    # the whole up part, the rest after the failing statement, the rollback section
    assert len(seen) == 3 and "DROP TABLEE x;" in seen[0]
    assert seen[1:] == ["COMMIT;\n", "BEGIN;\nDROP TABLE things;\nCOMMIT;\n"]
