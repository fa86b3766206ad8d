"""The observation of migrations as the deploy engine applies them, on a table with rows."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest

from rally_gitops import config as config_mod
from rally_gitops.deploy.applier import Applier
from rally_gitops.deploy.ledger import Ledger
from rally_gitops.files.migrations import discover
from rally_gitops.replay.observe import Effect, MigrationMeasure, Observer
from testing.migration_files import write_migration

AEL = "AccessExclusiveLock"
USERS = 'public."Users"'


def table(lock: str, newly: bool, rewrite: bool, scan: bool, **rows: int) -> Effect:
    """An effect on the test's table of 1000 rows."""
    counts = {"inserted": 0, "updated": 0, "deleted": 0, **rows}
    return Effect(USERS, "table", lock, newly, rewrite, scan, rows_before=1000, **counts)


def index(lock: str, newly: bool, rewrite: bool) -> Effect:
    """An effect on the primary key of the test's table (1000 entries; no sequential scans)."""
    return Effect('public."Users_pkey"', "index", lock, newly, rewrite, False, 0, 0, 0, 1000)


@pytest.fixture
def mig(project: Path) -> Path:
    shutil.rmtree(project / "migrations")
    (project / "migrations").mkdir()
    return project / "migrations"


def observed(project: Path, mig: Path, url: str) -> list[MigrationMeasure]:
    """Apply the migrations of ``mig`` under observation on a database whose table "Users"
    has 1000 analyzed rows and an index; the measures."""
    observer = Observer()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute('CREATE TABLE "Users" (id int PRIMARY KEY, age int, email text)')
        conn.execute(
            """INSERT INTO "Users" SELECT g, g % 90, 'u' || g FROM generate_series(1, 1000) g"""
        )
        conn.execute('ANALYZE "Users"')
        Ledger(conn).ensure()
        applier = Applier(conn, config_mod.load(project), report=lambda _: None, observer=observer)
        applier.apply_all(discover(mig), lambda *_: None)
    return observer.measures


def test_a_type_change_is_measured_as_a_rewrite(
    project: Path, mig: Path, database_url: str
) -> None:
    write_migration(
        mig, "20250101_000000", "widen", 'ALTER TABLE "Users" ALTER COLUMN age TYPE bigint;'
    )
    (measure,) = observed(project, mig, database_url)
    (statement,) = measure.statements
    assert (measure.filename, statement.line, statement.text) == (
        "20250101_000000_widen.sql",
        6,
        'ALTER TABLE "Users" ALTER COLUMN age TYPE bigint',
    )
    assert statement.effects == (
        table(AEL, newly=True, rewrite=True, scan=True),
        index(AEL, newly=True, rewrite=True),
    )
    assert statement.seconds > 0
    assert measure.seconds == statement.seconds
    assert measure.lock_seconds() == {
        USERS: measure.seconds,
        'public."Users_pkey"': measure.seconds,
    }


def test_not_null_and_a_validating_check_are_measured_as_scans(
    project: Path, mig: Path, database_url: str
) -> None:
    write_migration(
        mig,
        "20250101_000000",
        "tighten",
        'ALTER TABLE "Users" ALTER COLUMN age SET NOT NULL;\n'
        'ALTER TABLE "Users" ADD CONSTRAINT age_range CHECK (age >= 0);\n'
        "UPDATE \"Users\" SET email = 'x' WHERE id <= 10;",
    )
    (measure,) = observed(project, mig, database_url)
    assert [(s.line, list(s.effects)) for s in measure.statements] == [
        (6, [table(AEL, newly=True, rewrite=False, scan=True)]),
        (7, [table(AEL, newly=False, rewrite=False, scan=True)]),
        # the primary key serves the WHERE: no scan, and the index's own lock is new
        (
            8,
            [
                table(AEL, newly=False, rewrite=False, scan=False, updated=10),
                index("RowExclusiveLock", newly=True, rewrite=False),
            ],
        ),
    ]
    (first, second, third) = measure.statements
    assert measure.lock_seconds() == {USERS: pytest.approx(measure.seconds)}
    assert measure.lock_seconds("RowExclusiveLock") == {
        USERS: pytest.approx(measure.seconds),
        'public."Users_pkey"': pytest.approx(third.seconds),
    }
    assert first.seconds > 0 and second.seconds > 0


def test_a_column_with_a_constant_default_is_a_lock_without_rewrite(
    project: Path, mig: Path, database_url: str
) -> None:
    write_migration(
        mig,
        "20250101_000000",
        "flag",
        'ALTER TABLE "Users" ADD COLUMN active boolean NOT NULL DEFAULT true;\n'
        "CREATE TABLE audit (id bigint PRIMARY KEY);",
    )
    (measure,) = observed(project, mig, database_url)
    assert [s.effects for s in measure.statements] == [
        (table(AEL, newly=True, rewrite=False, scan=False),),
        (),  # a new table is no existing relation
    ]


def test_create_index_concurrently_holds_no_lock_after_it(
    project: Path, mig: Path, database_url: str
) -> None:
    write_migration(
        mig,
        "20250101_000000",
        "index",
        'CREATE INDEX CONCURRENTLY users_email_idx ON "Users" (email);\n'
        "ALTER TABLE \"Users\" ALTER COLUMN email SET DEFAULT '';\n"
        'ALTER TABLE "Users" ALTER COLUMN age SET DEFAULT 0;\n'
        "SELECT 1;",
        no_transaction=True,
    )
    (measure,) = observed(project, mig, database_url)
    # it scanned the table (twice: build and validate) in transactions of its own, with no lock
    # left; each later statement runs in a transaction of its own, which shows its lock
    assert [(s.line, s.effects) for s in measure.statements] == [
        (5, (table("", newly=False, rewrite=False, scan=True),)),
        (6, (table(AEL, newly=True, rewrite=False, scan=False),)),
        (7, (table(AEL, newly=True, rewrite=False, scan=False),)),
        (8, ()),
    ]
    first, second, third, _last = measure.statements
    assert not measure.transactional
    # each ALTER held its lock only until its own COMMIT
    assert measure.lock_seconds() == {USERS: pytest.approx(second.seconds + third.seconds)}
    with psycopg.connect(database_url) as conn:
        indexes = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'Users' ORDER BY 1"
        ).fetchall()
    assert indexes == [("Users_pkey",), ("users_email_idx",)]


def test_without_an_observer_nothing_is_measured(
    project: Path, mig: Path, database_url: str
) -> None:
    write_migration(
        mig, "20250101_000000", "widen", 'ALTER TABLE "Users" ALTER COLUMN age TYPE bigint;'
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute('CREATE TABLE "Users" (id int PRIMARY KEY, age int, email text)')
        Ledger(conn).ensure()
        applier = Applier(conn, config_mod.load(project), report=lambda _: None)
        applier.apply_all(discover(mig), lambda *_: None)
        assert applier.observer is None
        setting = conn.execute("SELECT current_setting('rally_gitops.observe', true)").fetchone()
    assert setting == (None,)


def test_views_and_toast_tables_are_never_effects(
    project: Path, mig: Path, database_url: str
) -> None:
    write_migration(
        mig,
        "20250101_000000",
        "widen",
        'ALTER TABLE "Users" ALTER COLUMN age TYPE bigint;\n'
        'CREATE VIEW adults AS SELECT id FROM "Users" WHERE age >= 18;',
    )
    write_migration(
        mig,
        "20250102_000000",
        "again",
        'CREATE OR REPLACE VIEW adults AS SELECT id FROM "Users" WHERE age >= 21;\n'
        'ALTER TABLE "Users" ALTER COLUMN email TYPE varchar(200);',
    )
    first, second = observed(project, mig, database_url)
    # the rewrite locked the table's TOAST table too, and the second file replaced the view
    # (created by the first): neither is a relation of the snapshot's kinds
    assert [[e.relation for e in s.effects] for s in second.statements] == [
        [USERS],  # the view's query reads it: a new ACCESS SHARE lock
        [USERS, 'public."Users_pkey"'],
    ]
    assert [[e.relation for e in s.effects] for s in first.statements] == [
        [USERS, 'public."Users_pkey"'],
        [],
    ]
