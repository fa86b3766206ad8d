"""What replay/catalog.py sends around a migration's statements: which queries are probes,
clocks, guarded ones, and up to which relation the probes read."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg

from rally_gitops import config as config_mod
from rally_gitops.deploy.applier import Applier
from rally_gitops.deploy.ledger import Ledger
from rally_gitops.files.migrations import Migration, discover
from rally_gitops.files.statements import Statement
from rally_gitops.replay import probe
from rally_gitops.replay.catalog import Catalog, Relation
from rally_gitops.replay.observe import Observer
from testing.migration_files import version_at, write_migration

USERS = Relation(1, 1000.0, "r", 'public."Users"', 0, (0, 0, 0, 0), 0)


def catalog() -> Catalog:
    """What an observer knows of a database with the one table "Users" (oid 16400), its
    queries prepared (generation 7), no event trigger."""
    return Catalog(
        known={16400: USERS}, fresh=True, names={"Users"}, triggers=False, prepared=1, generation=7
    )


def body(*sql: str) -> tuple[Statement, ...]:
    return tuple(Statement(text, number + 1, 1, 0) for number, text in enumerate(sql))


def test_only_the_first_of_consecutive_skipped_statements_is_guarded() -> None:
    texts, skipped = catalog().queries(
        body(
            'CREATE TABLE o (u int REFERENCES "Users")',  # probed: names "Users"
            "CREATE INDEX o_u ON o (u)",  # skipped, after a probed one: guarded
            "CREATE INDEX o_v ON o (u DESC)",  # skipped, after a skipped one: a plain clock
            "COMMENT ON TABLE o IS 'x'",
        ),
        first=True,
    )
    assert texts == (
        "EXECUTE rally_gitops_clock_7",
        "EXECUTE rally_gitops_probe_guarded_7(16400)",
        "EXECUTE rally_gitops_clock_7",
        "EXECUTE rally_gitops_clock_7",
        "EXECUTE rally_gitops_new_7(16400)",
    )
    assert skipped == {1, 2, 3}  # the queries before the skipped statements (Script.skipped)


def test_a_skipped_statement_after_a_probed_one_is_guarded_again() -> None:
    texts, skipped = catalog().queries(
        body(
            "CREATE TABLE a (id int)",  # skipped first: guarded (an earlier file may have made one)
            'CREATE VIEW v AS SELECT * FROM "Users"',  # probed: it may have run code
            "CREATE TABLE b (id int)",
        ),
        first=True,
    )
    assert texts == (
        "EXECUTE rally_gitops_clock_guarded_7",
        "EXECUTE rally_gitops_clock_7",
        "EXECUTE rally_gitops_probe_guarded_7(16400)",
        "EXECUTE rally_gitops_new_7(16400)",
    )
    assert skipped == {0, 2}


def test_the_query_after_skipped_last_statements_is_planned_once_and_reads_by_index(
    project: Path, database_url: str
) -> None:
    # it runs after every migration ending in skipped statements: a plan per execution (the
    # planner preferring one for each value of the newest oid) or a scan of all of pg_class
    # cost more than the statements themselves
    shutil.rmtree(project / "migrations")
    for number in range(8):
        write_migration(
            project / "migrations",
            version_at(number),
            f"t{number}",
            f"CREATE TABLE t{number} (id int);",
        )
    config = config_mod.load(project)
    observer = Observer()
    with psycopg.connect(database_url, autocommit=True) as conn:
        Ledger(conn).ensure()
        applier = Applier(conn, config, report=lambda _: None, observer=observer)
        for migration in discover(project / "migrations"):
            applier.apply(migration)
        name = f"rally_gitops_new_{observer._catalog.generation}"
        plans = conn.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = %s",
            (name,),
        ).fetchone()
        plan = "\n".join(r[0] for r in conn.execute(f"EXPLAIN EXECUTE {name}(16384)"))
    assert [s.probed for m in observer.measures for s in m.statements] == [False] * 8
    assert plans == (3, 5)  # five custom plans to compare with, then the generic one
    assert "Seq Scan on pg_class" not in plan
    assert "Cond: ((oid > (InitPlan 1).col1)" in plan  # an index condition of pg_class_oid_index


def tables_files(project: Path, count: int) -> list[Migration]:
    """``count`` migrations of 30 tables each (60 relations with their keys)."""
    shutil.rmtree(project / "migrations")
    for number in range(count):
        tables = "\n".join(f"CREATE TABLE t{number}_{n} (id int PRIMARY KEY);" for n in range(30))
        write_migration(project / "migrations", version_at(number), f"t{number}", tables)
    return discover(project / "migrations")


def prepared_names(conn: psycopg.Connection) -> set[str]:
    rows = conn.execute(
        "SELECT name FROM pg_prepared_statements WHERE name LIKE 'rally_gitops_%'"
    ).fetchall()
    return {row[0] for row in rows}


def test_the_queries_are_prepared_again_when_the_relations_have_more_than_doubled(
    project: Path, database_url: str
) -> None:
    # a generic plan is made once, for the catalog's sizes at the sixth execution: one made
    # while the database was small (a hash join over all of pg_index) stays as it grows
    migrations = tables_files(project, 6)
    observer = Observer()
    generations = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        Ledger(conn).ensure()
        applier = Applier(conn, config_mod.load(project), report=lambda _: None, observer=observer)
        for migration in migrations:
            applier.apply(migration)
            generations.append(observer._catalog.generation)
        observer.ready(conn)
        generations.append(observer._catalog.generation)
        names = prepared_names(conn)
    # 60 relations a migration (and the ledger's own): prepared at the start, again past 100
    # relations (after the 2nd file), again once those have doubled (after the 5th)
    assert len(set(generations)) == 3
    assert generations == sorted(generations)
    assert names == {f"rally_gitops_{kind}_{generations[-1]}" for kind in probe.PREPARED}
    assert len(observer.measures) == 6


def test_preparing_again_copes_with_queries_the_session_lost(
    project: Path, database_url: str
) -> None:
    # psycopg sends DEALLOCATE ALL after a rollback once it has prepared statements of its own
    # (the replay's round trips): the observer's queries are gone without its knowing, and
    # DEALLOCATE of a missing one would fail the replay
    *before, last = tables_files(project, 3)
    observer = Observer()
    with psycopg.connect(database_url, autocommit=True) as conn:
        Ledger(conn).ensure()
        applier = Applier(conn, config_mod.load(project), report=lambda _: None, observer=observer)
        for migration in before:
            applier.apply(migration)
        generation = observer._catalog.generation
        conn.execute("DEALLOCATE ALL")  # unseen by the observer
        applier.apply(last)  # past 100 relations: prepared again first
        names = prepared_names(conn)
    assert observer._catalog.generation == generation + 1
    assert names == {f"rally_gitops_{kind}_{generation + 1}" for kind in probe.PREPARED}
    assert len(observer.measures) == 3
