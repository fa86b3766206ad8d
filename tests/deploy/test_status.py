"""The pure parts of the deploy engine: ``compare``, ``refuse_unsafe``, ``refuse_statements``.

No database: files are parsed from bytes, ledger rows are made by hand.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from rally_gitops.deploy.records import Applied, Event
from rally_gitops.deploy.status import Status, compare, refuse_statements, refuse_unsafe
from rally_gitops.errors import DeployError
from rally_gitops.files.migrations import Migration, parse

WHEN = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC)


def migration(
    version: str, slug: str, sql: str = "CREATE TABLE t (id int);", *, header: str = ""
) -> Migration:
    text = f"-- Migration: {header or f'{version}_{slug}'}\n\nBEGIN;\n{sql}\nCOMMIT;\n"
    return parse(Path(f"migrations/{version}_{slug}.sql"), text.encode())


def applied(m: Migration, *, name: str | None = None, checksum: str | None = None) -> Applied:
    return Applied(
        m.version, name or m.name, checksum or m.checksum, WHEN, "me@host", 3, None, "0.1.0"
    )


def test_compare_sorts_files_and_rows_into_applied_pending_changed_missing() -> None:
    one, two, three = (migration(f"2025010{i}_000000", f"m{i}") for i in (1, 2, 3))
    gone = migration("20250104_000000", "gone")
    edited = migration("20250102_000000", "m2", "CREATE TABLE other (id int);")
    rows = {m.version: applied(m) for m in (one, two, gone)}
    status = compare([one, edited, three], rows)
    assert [r.version for r in status.applied] == [one.version, two.version, gone.version]
    assert status.pending == [three]
    assert status.changed == [(edited, rows[two.version])]
    assert status.missing == [rows[gone.version]]
    assert status.out_of_order == [three]  # older than the newest applied row (gone)
    assert not status.clean


def test_compare_counts_a_renamed_applied_file_as_changed() -> None:
    original = migration("20250101_000000", "add_users")
    # the file renamed, its content (header included) untouched
    renamed = migration("20250101_000000", "create_users", header=original.name)
    assert renamed.checksum == original.checksum  # same content, only the slug differs
    row = applied(original)
    status = compare([renamed], {row.version: row})
    assert (status.changed, status.pending, status.missing) == ([(renamed, row)], [], [])
    with pytest.raises(DeployError) as caught:
        refuse_unsafe(status, allow_out_of_order=False, env="staging")
    assert str(caught.value) == (
        "staging: already-applied migration(s) were edited: 20250101_000000_create_users.sql "
        "(renamed from 20250101_000000_add_users.sql). Revert the edit (or the rename) and put "
        "the change in a new migration (`rally-gitops new`)."
    )


def test_compare_of_identical_files_and_rows_is_clean() -> None:
    files = [migration(f"2025010{i}_000000", f"m{i}") for i in (1, 2)]
    status = compare(files, {m.version: applied(m) for m in files})
    assert status.clean and status.pending == [] and len(status.applied) == 2


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (
            Status(
                blocked=Event(
                    7, "failure", "20250101_000000", "20250101_000000_x", WHEN, "ci", None
                )
            ),
            "staging: no-transaction migration 20250101_000000_x failed at 2025-01-01 12:00 (ci) "
            "and may have left partial changes; fix the database by hand, then run "
            "`rally-gitops repair --env staging`",
        ),
        (
            Status(missing=[applied(migration("20250101_000000", "gone"))]),
            "staging: applied migration(s) no longer exist in the repository: "
            "20250101_000000_gone.sql. Restore the file(s); applied migrations are never deleted.",
        ),
        (
            Status(out_of_order=[migration("20250101_000000", "late")]),
            "staging: pending migration(s) older than the newest applied one: "
            "20250101_000000_late.sql. Rename them to a newer version, or deploy with "
            "--allow-out-of-order.",
        ),
    ],
)
def test_refuse_unsafe_names_what_a_deploy_must_not_hide(status: Status, message: str) -> None:
    with pytest.raises(DeployError) as caught:
        refuse_unsafe(status, allow_out_of_order=False, env="staging")
    assert str(caught.value) == message


def test_refuse_unsafe_lets_out_of_order_through_when_allowed() -> None:
    status = Status(out_of_order=[migration("20250101_000000", "late")])
    refuse_unsafe(status, allow_out_of_order=True, env="staging")  # no exception


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (
            "CREATE TABLE t (id int);\nPREPARE TRANSACTION 'x';",
            "20250101_000000_m.sql:5: PREPARE TRANSACTION in a migration",
        ),
        ("COMMIT PREPARED 'x';", "20250101_000000_m.sql:4: COMMIT PREPARED in a migration"),
        ("rollback   prepared 'x';", "20250101_000000_m.sql:4: ROLLBACK PREPARED in a migration"),
        (
            "DROP SCHEMA rally_gitops CASCADE;",
            "20250101_000000_m.sql:4: the statement touches the ledger schema rally_gitops",
        ),
        (  # unquoted: folded to lower case, as the server does
            "ALTER TABLE Rally_Gitops.applied ADD note text;",
            "20250101_000000_m.sql:4: the statement touches the ledger schema rally_gitops",
        ),
        (
            'DELETE FROM "rally_gitops".applied;',
            "20250101_000000_m.sql:4: the statement touches the ledger schema rally_gitops",
        ),
        (
            "SELECT set_config('search_path', 'rally_gitops, public', false);",
            "20250101_000000_m.sql:4: the statement touches the ledger schema rally_gitops",
        ),
    ],
)
def test_refuse_statements_stops_two_phase_commit_and_the_ledger_schema(
    sql: str, message: str
) -> None:
    with pytest.raises(DeployError) as caught:
        refuse_statements([migration("20250101_000000", "m", sql)], "rally_gitops")
    assert str(caught.value).startswith(message)
    assert str(caught.value).endswith("(nothing was applied)")


def test_refuse_statements_lets_lookalikes_through() -> None:
    harmless = migration(
        "20250101_000000",
        "m",
        "CREATE TABLE rally_gitops_notes (id int);\n"
        "INSERT INTO rally_gitops_notes VALUES (1);\n"
        "-- rally_gitops is mentioned in a comment\n"
        "PREPARE plan AS SELECT 1;",
    )
    refuse_statements([harmless], "rally_gitops")  # no exception
    refuse_statements([migration("20250101_000000", "m", "DROP SCHEMA ledger;")], "rally_gitops")
