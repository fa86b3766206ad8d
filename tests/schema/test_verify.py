"""The proof generate runs before writing: a migration that misses is refused with its residue."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from rally_gitops.config import load
from rally_gitops.errors import RallyError
from rally_gitops.schema.seed import Seeded, seed
from rally_gitops.schema.verify import verify
from testing.schema_cases import SELECTION, model


def test_a_migration_that_misses_the_target_is_refused_with_the_residue(
    project: Path, make_database
) -> None:
    source_url, target_url, copy = make_database("src"), make_database("dst"), make_database("cp")
    source = model(source_url, "CREATE TABLE t (id int)")
    target = model(target_url, "CREATE TABLE t (id int, extra text)")
    model(copy, "CREATE TABLE t (id int)")
    with pytest.raises(RallyError) as raised:
        verify(
            load(project),
            copy,
            SELECTION,
            source=source,
            target=target,
            ups=[("SELECT 1", False)],
            downs=[],
            keeps_rows=True,
        )
    assert str(raised.value) == (
        "the generated migration does not reach the target: + column public.t.extra"
    )


def test_a_rollback_that_does_not_restore_the_source_is_refused(
    project: Path, make_database
) -> None:
    source_url, target_url, copy = make_database("src"), make_database("dst"), make_database("cp")
    source = model(source_url, "CREATE TABLE t (id int)")
    target = model(target_url, "CREATE TABLE t (id int, extra text)")
    model(copy, "CREATE TABLE t (id int); INSERT INTO t VALUES (1)")
    with pytest.raises(RallyError) as raised:
        verify(
            load(project),
            copy,
            SELECTION,
            source=source,
            target=target,
            ups=[("ALTER TABLE t ADD COLUMN extra text", False)],
            downs=[("SELECT 1", False)],
            keeps_rows=True,
        )
    assert str(raised.value) == (
        "the generated rollback does not restore the source: - column public.t.extra"
    )


SHAPES = (
    "CREATE TYPE mood AS ENUM ('sad', 'ok'); CREATE DOMAIN pos AS int CHECK (VALUE > 0);"
    "CREATE TABLE c (id int PRIMARY KEY, p_id int NOT NULL REFERENCES p, amount pos NOT NULL,"
    " n int NOT NULL CHECK (n > 50), at timestamptz NOT NULL, tags text[] NOT NULL);"
)
PARENT = "CREATE TABLE p (id int PRIMARY KEY, name text NOT NULL, m mood NOT NULL);"


def test_seeding_fills_not_null_columns_foreign_keys_enums_domains_and_checks(
    make_database,
) -> None:
    url = make_database("seed")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SHAPES.replace("CREATE TABLE c", PARENT + "CREATE TABLE c"))
        # the child is listed first: its parent is seeded before it anyway
        seeded = seed(conn, ["public.c", "public.p"])
        assert seeded == Seeded(("public.p", "public.c"), ())
        assert conn.execute("SELECT id, name, m::text FROM p ORDER BY id").fetchall() == [
            (1, "x", "sad"),
            (2, "a", "sad"),
        ]
        # the check refuses 1, 2 and 0: the fourth candidate passes (and no second row does)
        assert conn.execute("SELECT id, p_id, amount, n, tags FROM c").fetchall() == [
            (100, 1, 100, 100, [])
        ]


def test_a_change_that_loses_the_seeded_rows_of_a_not_null_foreign_key_table_is_caught(
    project: Path, make_database
) -> None:
    schema = SHAPES.replace("CREATE TABLE c", PARENT + "CREATE TABLE c")
    source = model(make_database("src"), schema)
    target = model(make_database("dst"), schema + "ALTER TABLE c ADD COLUMN extra text;")
    copy = make_database("cp")
    model(copy, schema)
    with pytest.raises(RallyError) as raised:
        verify(
            load(project),
            copy,
            SELECTION,
            source=source,
            target=target,
            ups=[("DELETE FROM c; ALTER TABLE c ADD COLUMN extra text", False)],
            downs=[],
            keeps_rows=True,
        )
    assert str(raised.value) == "the generated migration loses rows of public.c"


def test_tables_without_a_row_are_reported_with_the_reason(project: Path, make_database) -> None:
    schema = (
        "CREATE TYPE pair AS (x int, y int); CREATE TABLE odd (v pair NOT NULL);"
        "CREATE TABLE t (id int PRIMARY KEY, a int);"
    )
    source = model(make_database("src"), schema)
    changed = schema + "ALTER TABLE t ADD CONSTRAINT a_big CHECK (a > 5000000);"
    target = model(make_database("dst"), changed)
    copy = make_database("cp")
    model(copy, schema)
    proof = verify(
        load(project),
        copy,
        SELECTION,
        source=source,
        target=target,
        ups=[("ALTER TABLE t ADD CONSTRAINT a_big CHECK (a > 5000000)", False)],
        downs=[("ALTER TABLE t DROP CONSTRAINT a_big", False)],
        keeps_rows=True,
    )
    assert proof.unseeded == (
        ("public.odd", "no value for NOT NULL column v of type pair"),
        (
            "public.t",
            'the change refuses the row seeded: check constraint "a_big" of relation "t" '
            "is violated by some row",
        ),
    )
