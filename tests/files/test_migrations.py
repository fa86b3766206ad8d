"""Migration files: names, sections, statements, transaction handling, checksums, discovery."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rally_gitops.errors import ConfigError, MigrationFileError
from rally_gitops.files.migrations import discover, parse, parse_name, uncomment
from rally_gitops.files.statements import split_statements

SEED = """-- Migration: 20241208_143000_add_user_preferences
-- Description: Add user preferences table
-- Generated: 2024-12-08T14:30:00

BEGIN;

CREATE TABLE user_preferences (id bigint PRIMARY KEY, user_id bigint NOT NULL);
CREATE INDEX idx_user_preferences_user_id ON user_preferences(user_id);

COMMIT;

-- Rollback script (uncomment if needed):
-- BEGIN;
-- DROP TABLE user_preferences;
-- COMMIT;
"""


def migration(text: str | bytes, name: str = "20241208_143000_add_user_preferences.sql"):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return parse(Path("migrations") / name, data)


def sqls(statements) -> list[str]:
    return [s.sql for s in statements]


def test_seed_file_header_body_and_rollback() -> None:
    m = migration(SEED)
    assert m.version == "20241208_143000"
    assert m.slug == "add_user_preferences"
    assert m.name == "20241208_143000_add_user_preferences"
    assert m.description == "Add user preferences table"
    assert m.header["generated"] == "2024-12-08T14:30:00"
    assert not m.no_transaction
    assert sqls(m.body()) == [
        "CREATE TABLE user_preferences (id bigint PRIMARY KEY, user_id bigint NOT NULL)",
        "CREATE INDEX idx_user_preferences_user_id ON user_preferences(user_id)",
    ]
    assert [(s.line, s.column) for s in m.body()] == [(7, 1), (8, 1)]
    assert "DROP TABLE" not in m.up
    assert sqls(m.rollback_statements()) == ["DROP TABLE user_preferences"]
    assert m.rollback_statements()[0].line == 14


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("20241208_143000_add_prefs.sql", True),
        ("20241208_143000_v2_fix.sql", True),
        ("20241208_143000_Add_Prefs.sql", False),
        ("20241208_143000-add_prefs.sql", False),
        ("2024120_143000_add.sql", False),
        ("20241208_143000_.sql", False),
        ("20241208_143000_add prefs.sql", False),
        ("V1__init.sql", False),
    ],
)
def test_file_names(name: str, ok: bool) -> None:
    if ok:
        assert parse_name(name)[0] == "20241208_143000"
    else:
        with pytest.raises(MigrationFileError, match="bad migration file name"):
            parse_name(name)


def test_last_statement_without_semicolon() -> None:
    m = migration("CREATE TABLE a (id int);\nCREATE TABLE b (id int)")
    assert sqls(m.body()) == ["CREATE TABLE a (id int)", "CREATE TABLE b (id int)"]
    m = migration("BEGIN;\nCREATE TABLE a (id int);\nCOMMIT")
    assert sqls(m.body()) == ["CREATE TABLE a (id int)"]


def test_dollar_quoted_bodies_with_begin_end_inside() -> None:
    m = migration(
        "BEGIN;\n"
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n  NEW.x := 1; -- a comment; with a semicolon\n  RETURN NEW;\nEND;\n$$;\n"
        "DO $body$ BEGIN COMMIT; END $body$;\n"
        "CREATE TABLE a (id int);\n"
        "COMMIT;\n"
    )
    body = m.body()
    assert len(body) == 3
    assert body[0].sql.endswith("END;\n$$")
    assert body[1].sql == "DO $body$ BEGIN COMMIT; END $body$"
    assert body[2].line == 9


def test_begin_atomic_sql_function() -> None:
    text = (
        "BEGIN;\n"
        "CREATE FUNCTION add_two(a int) RETURNS int LANGUAGE sql\n"
        "BEGIN ATOMIC\n  SELECT a + 1;\n  SELECT a + 2;\nEND;\n"
        "CREATE TABLE a (id int);\n"
        "COMMIT;\n"
    )
    body = migration(text).body()
    assert len(body) == 2
    assert body[0].sql.startswith("CREATE FUNCTION") and body[0].sql.endswith("END")
    assert body[1].line == 7


def test_begin_atomic_in_a_file_with_a_syntax_error_still_splits_right() -> None:
    """The scanner fallback must not mistake the body's END for a COMMIT mid-file."""
    text = (
        "BEGIN;\n"
        "CREATE FUNCTION add_one(a int) RETURNS int LANGUAGE sql\n"
        "BEGIN ATOMIC\n  SELECT a + 1;\nEND;\n"
        "CREATE TABLE a (id int) oops;\n"
        "COMMIT;\n"
    )
    body = migration(text).body()
    assert sqls(body)[1] == "CREATE TABLE a (id int) oops"
    assert body[1].line == 6


def test_bom_and_crlf_are_normalised() -> None:
    plain = migration(SEED)
    messy = migration(b"\xef\xbb\xbf" + SEED.replace("\n", "\r\n").encode())
    assert messy.up == plain.up
    assert messy.checksum == plain.checksum
    assert sqls(messy.body()) == sqls(plain.body())
    assert [s.line for s in messy.body()] == [s.line for s in plain.body()]
    assert messy.description == "Add user preferences table"
    assert sqls(messy.rollback_statements()) == ["DROP TABLE user_preferences"]


def test_checksum_is_content_sensitive_and_ignores_the_rollback_section() -> None:
    base = migration(SEED).checksum
    assert len(base) == 64
    assert migration(SEED.replace("bigint NOT NULL", "integer NOT NULL")).checksum != base
    assert migration(SEED.replace("-- Generated:", "-- Generated at:")).checksum != base
    assert migration(SEED.replace("\nCOMMIT;", "\n\nCOMMIT;")).checksum != base
    # fixing a typo in the commented rollback does not make an applied migration "changed"
    assert migration(SEED.replace("-- DROP TABLE", "--   DROP TABLE")).checksum == base


def test_migration_starts_and_ends_here_markers() -> None:
    text = (
        "-- Migration: 20241208_143000_add_user_preferences\n"
        "-- Description: prefs\n"
        "-- Migration starts here\n"
        "BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\n"
        "-- Migration ends here\n"
        "-- Rollback script (uncomment if needed):\n"
        "-- BEGIN;\n-- DROP TABLE a;\n-- COMMIT;\n"
    )
    m = migration(text)
    assert m.description == "prefs"
    assert sqls(m.body()) == ["CREATE TABLE a (id int)"]
    assert "Migration ends here" not in m.up
    assert sqls(m.rollback_statements()) == ["DROP TABLE a"]
    assert m.rollback_statements()[0].line == 10


def test_ends_here_marker_without_rollback_section() -> None:
    m = migration("CREATE TABLE a (id int);\n-- Migration ends here\n-- trailing notes\n")
    assert sqls(m.body()) == ["CREATE TABLE a (id int)"]
    assert m.rollback is None
    assert m.rollback_statements() == ()


def test_rollback_uncommenting() -> None:
    assert uncomment("-- DROP TABLE a;\n--DROP TABLE b;\n  --   x\nplain") == (
        "DROP TABLE a;\nDROP TABLE b;\n  x\nplain"
    )
    m = migration(
        SEED.replace("-- DROP TABLE user_preferences;", "-- DROP TABLE a;\n-- DROP TABLE b;")
    )
    assert sqls(m.rollback_statements()) == ["DROP TABLE a", "DROP TABLE b"]


def test_a_comment_starting_with_rollback_inside_the_up_part_is_not_the_marker() -> None:
    m = migration(
        "BEGIN;\nCREATE TABLE a (id int);\n-- rollback plan: drop a by hand\n"
        "CREATE TABLE b (id int);\nCOMMIT;\n"
    )
    assert sqls(m.body()) == ["CREATE TABLE a (id int)", "CREATE TABLE b (id int)"]
    assert m.rollback is None


@pytest.mark.parametrize(
    ("gap", "marker"),
    [
        (" " * 70, "Rollback script (uncomment if needed):"),  # past the 64 characters looked at
        ("\u2003", "ROLLBACK"),  # any whitespace the regex takes for \s
        ("\n", "rollback:"),  # a line break too
        ("  ", "Migration ends here"),
    ],
)
def test_the_markers_are_found_after_any_whitespace(gap: str, marker: str) -> None:
    # comment lines are first told by the letter after "--" (m or r) before the regex runs
    text = f"CREATE TABLE a (id int);\n-- a note\n-- more\n--{gap}{marker}\n-- DROP TABLE a;\n"
    m = migration(text)
    assert m.up == "CREATE TABLE a (id int);\n-- a note\n-- more\n"


def test_empty_rollback_section_means_no_rollback() -> None:
    m = migration("CREATE TABLE a (id int);\n-- Rollback script (uncomment if needed):\n-- \n")
    assert m.rollback is None


def test_no_transaction_header() -> None:
    text = (
        "-- Migration: 20241212_080000_index\n-- rally:no-transaction\n\n"
        "CREATE INDEX CONCURRENTLY i ON t (a);\nCREATE INDEX CONCURRENTLY j ON t (b)\n"
    )
    m = migration(text, "20241212_080000_index.sql")
    assert m.no_transaction
    assert sqls(m.body()) == [
        "CREATE INDEX CONCURRENTLY i ON t (a)",
        "CREATE INDEX CONCURRENTLY j ON t (b)",
    ]
    # the marker only counts in the header, not in the middle of the SQL
    later = migration("CREATE TABLE a (id int);\n-- rally:no-transaction\nCREATE TABLE b (id int);")
    assert not later.no_transaction


def test_no_transaction_file_with_begin_is_refused() -> None:
    m = migration(
        "-- rally:no-transaction\nBEGIN;\nCREATE INDEX CONCURRENTLY i ON t (a);\nCOMMIT;\n"
    )
    with pytest.raises(
        MigrationFileError, match=r":2: transaction control \(BEGIN\) in a no-transaction"
    ):
        m.body()


@pytest.mark.parametrize(
    ("text", "line", "word"),
    [
        (
            "BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\n"
            "BEGIN;\nCREATE TABLE b (id int);\nCOMMIT;\n",
            3,
            "COMMIT",
        ),
        ("CREATE TABLE a (id int);\nCOMMIT;\nCREATE TABLE b (id int);\n", 2, "COMMIT"),
        (
            "BEGIN;\nCREATE TABLE a (id int);\nROLLBACK;\nCREATE TABLE b (id int);\nCOMMIT;\n",
            3,
            "ROLLBACK",
        ),
        ("CREATE TABLE a (id int);\nSTART TRANSACTION;\nCREATE TABLE b (id int);\n", 2, "START"),
    ],
)
def test_transaction_control_in_the_middle_is_refused(text: str, line: int, word: str) -> None:
    with pytest.raises(MigrationFileError, match=rf":{line}: transaction control \({word}\)"):
        migration(text).body()


def test_begin_without_commit_is_refused() -> None:
    with pytest.raises(MigrationFileError, match="BEGIN without a matching COMMIT"):
        migration("BEGIN;\nCREATE TABLE a (id int);\n").body()


def test_savepoints_and_end_as_commit_are_fine() -> None:
    m = migration("BEGIN;\nSAVEPOINT s;\nCREATE TABLE a (id int);\nRELEASE SAVEPOINT s;\nEND;\n")
    assert sqls(m.body()) == ["SAVEPOINT s", "CREATE TABLE a (id int)", "RELEASE SAVEPOINT s"]


def test_live_sql_after_the_up_part_is_refused() -> None:
    m = migration(
        "BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\n"
        "-- Rollback script (uncomment if needed):\nDROP TABLE a;\n"
    )
    assert m.live_sql_after_up == 5
    with pytest.raises(MigrationFileError, match=r":5: SQL after the end of the up part"):
        m.body()


def test_statements_keep_line_and_column_after_comments() -> None:
    statements = split_statements(
        "-- header\n\nSELECT 1;  SELECT 2;\n/* block */ SELECT 3", first_line=10
    )
    assert [(s.sql, s.line, s.column) for s in statements][:2] == [
        ("SELECT 1", 12, 1),
        ("SELECT 2", 12, 12),
    ]
    assert statements[2].sql.endswith("SELECT 3")


def test_comment_only_file_has_no_statements() -> None:
    m = migration("-- Migration: x\n-- nothing yet\n")
    assert m.body() == ()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty migration file"),
        (b"  \n\n", "empty migration file"),
        (b"SELECT 1;\n-- caf\xe9\n", r":2: not UTF-8 \(byte 0xe9"),
        (b"SELECT 1;\x00", "NUL byte"),
    ],
)
def test_bad_file_contents(data: bytes, message: str) -> None:
    with pytest.raises(MigrationFileError, match=message):
        migration(data)


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "20241208_143000_big.sql"
    path.write_bytes(b"SELECT 1;\n" * 20)
    with pytest.raises(MigrationFileError, match="over the 100-byte limit"):
        parse(path, max_bytes=100)


def test_discover_sorts_by_version_and_ignores_other_files(tmp_path: Path) -> None:
    (tmp_path / "20250102_000000_second.sql").write_text("SELECT 2;")
    (tmp_path / "20250101_000000_first.sql").write_text("SELECT 1;")
    (tmp_path / "README.md").write_text("not a migration")
    assert [m.slug for m in discover(tmp_path)] == ["first", "second"]


def test_discover_refuses_duplicate_versions(tmp_path: Path) -> None:
    (tmp_path / "20250101_000000_a.sql").write_text("SELECT 1;")
    (tmp_path / "20250101_000000_b.sql").write_text("SELECT 2;")
    with pytest.raises(MigrationFileError, match="version 20250101_000000 is also used by"):
        discover(tmp_path)


def test_discover_refuses_a_bad_name_and_a_missing_directory(tmp_path: Path) -> None:
    (tmp_path / "add_users.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationFileError, match="add_users.sql: bad migration file name"):
        discover(tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        discover(tmp_path / "nope")


def test_sample_migrations_parse() -> None:
    sample = discover(Path(__file__).resolve().parents[2] / "migrations")
    assert len(sample) >= 5
    for m in sample:
        assert m.body(), m.filename
        assert m.rollback_statements(), f"{m.filename} has no rollback section"
    assert any(m.no_transaction for m in sample)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "BEGIN;\nCREATE TABLE a (id int);\nSELECT 'abc;\nCOMMIT;\n",
            3,
            "unterminated quoted string",
        ),
        (
            "SELECT 1;\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1;\n",
            2,
            "unterminated dollar-quoted string",
        ),
        ("/* a comment\nSELECT 1;\n", 1, "unterminated /* comment"),
    ],
)
def test_unterminated_strings_and_comments_are_named(text: str, line: int, message: str) -> None:
    with pytest.raises(MigrationFileError, match=rf"\.sql:{line}: {re.escape(message)}"):
        migration(text).body()


def test_checksum_is_the_sha256_of_the_up_part_as_written() -> None:
    """Ledgers compare it across versions of the tool: its definition must not drift."""
    import hashlib

    up = SEED[: SEED.index("-- Rollback script")]  # everything before the rollback marker
    expected = hashlib.sha256(up.encode("utf-8")).hexdigest()
    assert expected == "7b9f4476742e378e8e460089bb5b847d29f39c45ca2aec1e62befd4a305c62a0"
    assert migration(SEED).checksum == expected
    # BOM and CRLF are removed before hashing: the same bytes as the LF file's up part
    assert migration(b"\xef\xbb\xbf" + SEED.replace("\n", "\r\n").encode()).checksum == expected
    ends = "-- Migration ends here\n-- anything after this line is not part of the migration\n"
    assert migration(up + ends).checksum == expected
