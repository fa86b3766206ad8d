"""The observation skips the probe only after statements that provably touch no relation that
existed before their migration (replay/inert.py, replay/catalog.py): never one that took a lock."""

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

USERS = 'public."Users"'


@pytest.fixture
def mig(project: Path) -> Path:
    shutil.rmtree(project / "migrations")
    (project / "migrations").mkdir()
    return project / "migrations"


def observed(project: Path, mig: Path, url: str, *, batch: bool = False) -> list[MigrationMeasure]:
    """Apply the files of ``mig`` under observation (one at a time, as replay does, or in one
    ``apply_all``: pipelined batches, as rehearse does) on a database with the table "Users"
    (1000 analyzed rows) and billing.invoices (empty); the measures."""
    observer = Observer()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute('CREATE TABLE "Users" (id int PRIMARY KEY, age int, email text)')
        conn.execute(
            """INSERT INTO "Users" SELECT g, g % 90, 'u' || g FROM generate_series(1, 1000) g"""
        )
        conn.execute('ANALYZE "Users"')
        conn.execute("CREATE SCHEMA billing")
        conn.execute("CREATE TABLE billing.invoices (id int PRIMARY KEY, total int)")
        Ledger(conn).ensure()
        applier = Applier(conn, config_mod.load(project), report=lambda _: None, observer=observer)
        if batch:
            applier.apply_all(discover(mig), lambda *_: None)
        else:
            for migration in discover(mig):
                applier.apply(migration)
    return observer.measures


def effects(measure: MigrationMeasure) -> list[tuple[bool, list[tuple[str, str, bool, bool]]]]:
    """Per statement: probed?, and each effect's (relation, lock, newly, scan)."""
    return [
        (s.probed, [(e.relation, e.lock, e.newly, e.scan) for e in s.effects])
        for s in measure.statements
    ]


def test_a_new_table_referencing_an_existing_one_is_probed_its_index_and_comment_not(
    project: Path, mig: Path, database_url: str
) -> None:
    write_migration(
        mig,
        "20250101_000000",
        "orders",
        'CREATE TABLE orders (id int PRIMARY KEY, user_id int REFERENCES "Users" (id));\n'
        "CREATE INDEX orders_user_idx ON orders (user_id);\n"
        "COMMENT ON TABLE orders IS 'one per purchase';",
    )
    (measure,) = observed(project, mig, database_url)
    assert effects(measure) == [
        (
            True,
            [
                (USERS, "ShareRowExclusiveLock", True, False),
                ('public."Users_pkey"', "AccessShareLock", True, False),
            ],
        ),
        (False, []),
        (False, []),
    ]
    assert all(s.seconds > 0 for s in measure.statements)


def test_a_view_over_an_existing_table_is_probed(
    project: Path, mig: Path, database_url: str
) -> None:
    write_migration(
        mig,
        "20250101_000000",
        "view",
        "CREATE SEQUENCE tickets_seq;\n"
        # a double quote in a string literal must not hide the name after it
        """CREATE VIEW adults AS SELECT '"' AS q, id FROM "Users" WHERE age >= 18;""",
    )
    (measure,) = observed(project, mig, database_url)
    assert effects(measure) == [(False, []), (True, [(USERS, "AccessShareLock", True, False)])]


def test_a_new_table_then_an_index_on_an_existing_one(
    project: Path, mig: Path, database_url: str
) -> None:
    write_migration(
        mig,
        "20250101_000000",
        "mixed",
        "CREATE TABLE audit (id bigint PRIMARY KEY, at timestamptz);\n"
        'CREATE INDEX users_age_idx ON "Users" (age);\n'
        "CREATE TABLE audit_2 (id bigint);",
    )
    (measure,) = observed(project, mig, database_url)
    assert effects(measure) == [
        (False, []),
        (True, [(USERS, "ShareLock", True, True)]),
        (True, []),  # after an index build over existing rows (it may run functions): probed
    ]


def test_quoted_mixed_case_and_schema_qualified_names_are_existing(
    project: Path, mig: Path, database_url: str
) -> None:
    write_migration(
        mig,
        "20250101_000000",
        "names",
        "CREATE TABLE users (id int);\n"  # "Users" exists, users does not: skipped
        "COMMENT ON COLUMN \"Users\".email IS 'login';\n",
    )
    write_migration(
        mig,
        "20250102_000000",
        "billing",
        "CREATE INDEX invoices_total_idx ON billing.invoices (total);",
    )
    write_migration(
        mig,
        "20250103_000000",
        "function",
        "CREATE FUNCTION newest() RETURNS int LANGUAGE plpgsql AS $$\n"
        "BEGIN RETURN (SELECT count(*) FROM invoices); END $$;\n"
        "CREATE FUNCTION other() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 2; END $$;",
    )
    first, second, third = observed(project, mig, database_url)
    assert effects(first) == [
        (False, []),
        (True, [(USERS, "ShareUpdateExclusiveLock", True, False)]),
    ]
    assert effects(second) == [(True, [("billing.invoices", "ShareLock", True, True)])]
    # "invoices" names a relation of another schema: probed all the same
    assert [s.probed for s in third.statements] == [True, False]


def test_after_a_rename_a_new_name_may_be_an_existing_relation(
    project: Path, mig: Path, database_url: str
) -> None:
    write_migration(
        mig,
        "20250101_000000",
        "rename",
        'ALTER TABLE "Users" RENAME TO people;\nCREATE INDEX people_age_idx ON people (age);',
    )
    (measure,) = observed(project, mig, database_url)
    assert effects(measure) == [
        (True, [("public.people", "AccessExclusiveLock", True, False)]),
        (True, [("public.people", "AccessExclusiveLock", False, True)]),
    ]


def test_code_and_dml_are_always_probed(project: Path, mig: Path, database_url: str) -> None:
    write_migration(
        mig,
        "20250101_000000",
        "code",
        "DO $$ BEGIN PERFORM 1; END $$;\nSELECT 1;\nCREATE TABLE later (id int);",
    )
    (measure,) = observed(project, mig, database_url)
    assert [s.probed for s in measure.statements] == [True, True, True]


def test_a_partition_whose_bound_calls_a_function_is_probed(
    project: Path, mig: Path, database_url: str
) -> None:
    # the bound is evaluated as the partition is created: the function's UPDATE of "Users" is
    # that statement's, although its text names no existing relation
    write_migration(
        mig,
        "20250101_000000",
        "partition",
        'CREATE FUNCTION low() RETURNS int LANGUAGE plpgsql AS $$ BEGIN UPDATE "Users" SET age = '
        "age WHERE id <= 3; RETURN 0; END $$;\n"
        "CREATE TABLE parts (a int) PARTITION BY RANGE (a);\n"
        "CREATE TABLE parts_low PARTITION OF parts FOR VALUES FROM (low()) TO (10);",
    )
    (measure,) = observed(project, mig, database_url)
    assert [s.probed for s in measure.statements] == [True, False, True]
    assert [(e.relation, e.lock, e.newly, e.updated) for e in measure.statements[2].effects] == [
        (USERS, "RowExclusiveLock", True, 3),
        ('public."Users_pkey"', "RowExclusiveLock", True, 0),
    ]


def test_the_later_migrations_of_a_batch_are_probed(
    project: Path, mig: Path, database_url: str
) -> None:
    write_migration(mig, "20250101_000000", "create", "CREATE TABLE fresh (id int);")
    write_migration(mig, "20250102_000000", "index", "CREATE INDEX fresh_idx ON fresh (id);")
    first, second = observed(project, mig, database_url, batch=True)
    assert effects(first) == [(False, [])]
    # the table the batch's first file created exists for the second one
    assert effects(second) == [(True, [("public.fresh", "ShareLock", True, True)])]


def test_what_skipped_statements_at_the_end_created_is_known_to_the_next_migration(
    project: Path, mig: Path, database_url: str
) -> None:
    write_migration(
        mig,
        "20250101_000000",
        "create",
        "CREATE TABLE fresh (id int);\nCREATE INDEX fresh_idx ON fresh (id);",
    )
    write_migration(mig, "20250102_000000", "alter", "ALTER TABLE fresh ADD COLUMN note text;")
    first, second = observed(project, mig, database_url)
    assert [s.probed for s in first.statements] == [False, False]
    # the index build's scan happened in the first file: not the second one's
    assert second.statements[0].effects == (
        Effect(
            "public.fresh", "table", "AccessExclusiveLock", True, False, False, 0, 0, 0, 0, True
        ),
    )


def test_an_event_trigger_makes_every_statement_probed(
    project: Path, mig: Path, database_url: str
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE ddl_log (tag text)")
        conn.execute(
            "CREATE FUNCTION log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO ddl_log VALUES (tg_tag); END $$"
        )
        conn.execute("CREATE EVENT TRIGGER log_ddl ON ddl_command_end EXECUTE FUNCTION log_ddl()")
    try:
        write_migration(mig, "20250101_000000", "create", "CREATE TABLE fresh (id int);")
        (measure,) = observed(project, mig, database_url)
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("DROP EVENT TRIGGER log_ddl")
    # the trigger's INSERT into an existing table is the statement's
    assert effects(measure) == [(True, [("public.ddl_log", "RowExclusiveLock", True, False)])]


def test_an_event_trigger_created_before_a_skipped_statement_sends_the_file_again(
    project: Path, mig: Path, database_url: str
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE ddl_log (tag text)")
        conn.execute(
            "CREATE FUNCTION log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO ddl_log VALUES (tg_tag); END $$"
        )
    write_migration(
        mig,
        "20250101_000000",
        "trigger",
        "CREATE TABLE first (id int);\n"
        "CREATE EVENT TRIGGER log_ddl ON ddl_command_end EXECUTE FUNCTION log_ddl();\n"
        "CREATE TABLE second (id int);",
    )
    # what the observer knows still says "no event trigger": this CREATE TABLE is sent skipped,
    # its guard fails, the file is rolled back and sent again with every statement probed
    write_migration(mig, "20250102_000000", "plain", "CREATE TABLE third (id int);")
    try:
        first, second = observed(project, mig, database_url)
        with psycopg.connect(database_url) as conn:
            logged = conn.execute("SELECT tag FROM ddl_log").fetchall()
            applied = conn.execute("SELECT count(*) FROM rally_gitops.applied").fetchone()
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("DROP EVENT TRIGGER IF EXISTS log_ddl")
    # after a statement that may run code, nothing is skipped in the file
    assert effects(first) == [
        (False, []),
        (True, []),
        (True, [("public.ddl_log", "RowExclusiveLock", True, False)]),
    ]
    # the trigger's INSERT is the statement's own
    assert effects(second) == [(True, [("public.ddl_log", "RowExclusiveLock", True, False)])]
    assert logged == [("CREATE TABLE",), ("CREATE TABLE",)]  # the stopped attempt rolled back
    assert applied == (2,)


def test_a_file_that_drops_the_prepared_queries_is_sent_again_without_them(
    project: Path, mig: Path, database_url: str
) -> None:
    write_migration(
        mig,
        "20250101_000000",
        "dealloc",
        # DEALLOCATE spelled so that no look at the text finds it
        "CREATE TABLE a (id int);\nDO $$ BEGIN EXECUTE 'DEALL' || 'OCATE ALL'; END $$;\n"
        "CREATE TABLE b (id int);",
    )
    write_migration(mig, "20250102_000000", "after", "CREATE TABLE c (id int);")
    first, second = observed(project, mig, database_url)
    # statement by statement, every one probed; the next file finds its queries prepared again
    assert [s.probed for s in first.statements] == [True, True, True]
    assert [s.probed for s in second.statements] == [False]
    with psycopg.connect(database_url) as conn:
        tables = conn.execute(
            "SELECT string_agg(relname, ' ' ORDER BY relname) FROM pg_class "
            "WHERE relname IN ('a', 'b', 'c')"
        ).fetchone()
    assert tables == ("a b c",)
