"""A batch of migrations as one simple-query string (``deploy.script``): which migrations
committed and which statement failed, read from the results alone."""

from __future__ import annotations

from pathlib import Path

from testing.migration_files import ledger_rows, tables, version_at, write_migration

# write_migration: header (2 lines), blank, BEGIN, blank: the first statement is on line 6


def test_a_syntax_error_in_a_later_migration_of_a_batch(staging, mig: Path) -> None:
    """The server parses the whole string first, so a syntax error in the third migration
    (batches 1, then 2) means nothing of its batch ran: the second is applied again alone,
    then the third fails alone, at its line."""
    write_migration(mig, version_at(0), "t_0", "CREATE TABLE t_0 (id int);")
    write_migration(mig, version_at(1), "t_1", "CREATE TABLE t_1 (id int);")
    write_migration(
        mig, version_at(2), "t_2", "CREATE TABLE t_2 (id int);\nCREATE TABEL t_3 (id int);"
    )
    result = staging("deploy", "--no-backup")
    assert result.code == 1
    assert f'error: {version_at(2)}_t_2.sql:7: syntax error at or near "TABEL"' in result.err
    assert "2 of 3 migration(s) applied to staging before the failure" in result.err
    assert tables(staging.url) == {"t_0", "t_1"}
    assert [v for v, _ in ledger_rows(staging.url)] == [version_at(0), version_at(1)]


def test_an_error_position_in_a_later_migration_of_a_batch(staging, mig: Path) -> None:
    """The server's position counts from the start of the whole string: mapped back to the
    second migration's statement and line."""
    write_migration(mig, version_at(0), "a", "CREATE TABLE a (id int);")
    write_migration(mig, version_at(1), "b", "CREATE TABLE b (id int);\nCREATE TABLE bb (x int);")
    write_migration(
        mig,
        version_at(2),
        "c",
        "CREATE TABLE c (id int);\nCREATE TABLE cc (\n    id int,\n    name txet\n);",
    )
    result = staging("deploy", "--no-backup")
    assert result.code == 1
    assert f'error: {version_at(2)}_c.sql:9: type "txet" does not exist' in result.err
    assert tables(staging.url) == {"a", "b", "bb"}


def test_an_error_without_position_is_found_by_counting_results(staging, mig: Path) -> None:
    """No position (a runtime error): the first error result is the failing statement."""
    write_migration(mig, version_at(0), "first", "CREATE TABLE first (n int);")
    write_migration(
        mig,
        version_at(1),
        "second",
        "CREATE TABLE second (n int);\nSELECT 1;\nSELECT count(*) FROM second;\n"
        "INSERT INTO second SELECT 1 / (n - n) FROM (VALUES (3)) v(n);\nSELECT 2;",
    )
    result = staging("deploy", "--no-backup")
    assert result.code == 1
    assert f"error: {version_at(1)}_second.sql:9: division by zero [SQLSTATE 22012]" in result.err
    assert tables(staging.url) == {"first"}


def test_copy_from_stdin_without_its_rows_fails_instead_of_waiting(staging, mig: Path) -> None:
    write_migration(mig, version_at(0), "copy", "CREATE TABLE c (n int);\nCOPY c FROM stdin;")
    result = staging("deploy", "--no-backup")
    assert result.code == 1
    assert f"error: {version_at(0)}_copy.sql:7: COPY from stdin failed: COPY FROM STDIN" in (
        result.err
    )
    assert tables(staging.url) == set()
    assert ledger_rows(staging.url) == []
