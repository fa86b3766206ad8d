"""Rules that decide from the committed history: the catalog of earlier migrations (issue 8)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rally_gitops.lint import schema_history
from rally_gitops.lint.catalog import SqlType, Stored, Table
from rally_gitops.lint.rules.changing_column_type import binary_coercible
from testing.rule_cases import check

INVOICE = (
    'CREATE TABLE "Invoice" ("id" TEXT NOT NULL, "amount" INTEGER NOT NULL, '
    '"ref" BIGINT, "code" VARCHAR(20), "note" VARCHAR(50), "price" DECIMAL(10,2), '
    'CONSTRAINT "Invoice_pkey" PRIMARY KEY ("id"));'
)


def earlier(tmp_path: Path, sql: str, version: str = "20231201_000000") -> None:
    """An earlier migration in the directory ``check`` writes its file to."""
    name = f"{version}_earlier"
    (tmp_path / f"{name}.sql").write_text(
        f"-- Migration: {name}\n-- Description: x\nBEGIN;\n{sql}\nCOMMIT;\n", encoding="utf-8"
    )


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ('"amount" TYPE numeric(65,30)', "integer to numeric(65, 30) is not binary-coercible"),
        ('"ref" TYPE text', "bigint to text is not binary-coercible"),
        ('"note" TYPE varchar(20)', "varchar(50) to varchar(20) is not binary-coercible"),
        ('"price" TYPE numeric(12,3)', "numeric(10, 2) to numeric(12, 3) is not binary-coercible"),
        ('"code" TYPE varchar(40) USING "code"::varchar(40)', "USING recomputes every row"),
    ],
)
def test_type_change_from_the_history_is_an_error(tmp_path: Path, change: str, why: str) -> None:
    earlier(tmp_path, INVOICE)
    sql = f'ALTER TABLE "Invoice" ALTER COLUMN {change};'
    [found] = check(tmp_path, "changing-column-type", sql)
    column = change.split(" TYPE ")[0].strip('"')  # shown bare: it folds to itself
    assert found.message.startswith(f'changing "Invoice".{column} to ')
    assert found.message.endswith(
        f'rewrites "Invoice" and its indexes and blocks reads and writes until done ({why})'
    )
    assert check(tmp_path, "changing-column-type-widening", sql) == []


@pytest.mark.parametrize(
    "change",
    [
        '"code" TYPE varchar(50)',
        '"code" TYPE text',
        '"code" TYPE varchar',
        '"price" TYPE numeric(14,2)',
        '"price" TYPE numeric',
        '"amount" TYPE integer',
    ],
)
def test_binary_coercible_change_from_the_history_passes(tmp_path: Path, change: str) -> None:
    earlier(tmp_path, INVOICE)
    sql = f'ALTER TABLE "Invoice" ALTER COLUMN {change};'
    assert check(tmp_path, "changing-column-type", sql) == []
    assert check(tmp_path, "changing-column-type-widening", sql) == []


def test_unknown_current_type_says_so(tmp_path: Path) -> None:
    earlier(tmp_path, INVOICE)
    # "Amount" is not "amount": the history does not know that column
    sql = 'ALTER TABLE "Invoice" ALTER COLUMN "Amount" TYPE numeric(65,30);'
    assert check(tmp_path, "changing-column-type", sql) == []
    [warning] = check(tmp_path, "changing-column-type-widening", sql)
    assert warning.message.startswith(
        'changing "Invoice"."Amount" to numeric(65, 30): its current type is not in the history'
    )
    [error] = check(tmp_path, "changing-column-type", "ALTER TABLE t ALTER COLUMN c TYPE bigint;")
    assert error.message.endswith("(its current type is not in the earlier migrations)")


def test_type_known_from_the_same_file_and_renames(tmp_path: Path) -> None:
    earlier(tmp_path, "CREATE TABLE accounts (id bigint, score integer);")
    earlier(tmp_path, "ALTER TABLE accounts RENAME TO users;", version="20231202_000000")
    earlier(tmp_path, "ALTER TABLE users RENAME score TO points;", version="20231203_000000")
    [found] = check(tmp_path, "changing-column-type", "ALTER TABLE users ALTER points TYPE text;")
    assert "(integer to text is not binary-coercible)" in found.message
    body = (
        "ALTER TABLE users ADD COLUMN label varchar(10);\nALTER TABLE users ALTER label TYPE text;"
    )
    assert check(tmp_path, "changing-column-type", body) == []
    assert check(tmp_path, "changing-column-type-widening", body) == []


def test_binary_coercible_list() -> None:
    varchar = SqlType("varchar", (20,))
    assert binary_coercible(varchar, SqlType("varchar", (21,)))
    assert not binary_coercible(SqlType("varchar", (21,)), varchar)
    assert binary_coercible(varchar, SqlType("text"))
    assert binary_coercible(SqlType("varchar"), SqlType("text"))
    assert binary_coercible(SqlType("numeric", (10, 2)), SqlType("numeric", (11, 2)))
    assert not binary_coercible(SqlType("numeric", (10,)), SqlType("numeric", (11, 2)))
    assert not binary_coercible(SqlType("numeric"), SqlType("numeric", (11, 2)))
    assert not binary_coercible(SqlType("int4"), SqlType("int8"))
    assert not binary_coercible(varchar, SqlType("varchar", (30,), array=True))
    assert SqlType("int4").shown == "integer" and SqlType("Role").shown == '"Role"'


def test_set_not_null_needs_the_exact_column(tmp_path: Path) -> None:
    # issue 8: CHECK ("userid" IS NOT NULL) does not cover "userId"
    earlier(
        tmp_path,
        'ALTER TABLE "Post" ADD CONSTRAINT "Post_userid_nn" CHECK ("userid" IS NOT NULL) '
        'NOT VALID;\nALTER TABLE "Post" VALIDATE CONSTRAINT "Post_userid_nn";',
    )
    [found] = check(tmp_path, "setting-not-null", 'ALTER TABLE "Post" ALTER "userId" SET NOT NULL;')
    assert found.message.startswith('SET NOT NULL on "Post"."userId" blocks reads and writes')
    assert (
        check(tmp_path, "setting-not-null", 'ALTER TABLE "Post" ALTER "userid" SET NOT NULL;') == []
    )


PRISMA_TABLES = (
    'CREATE TABLE "User" ("id" TEXT NOT NULL, "email" TEXT NOT NULL, '
    'CONSTRAINT "User_pkey" PRIMARY KEY ("id"));\n'
    'CREATE TABLE "Post" ("id" TEXT NOT NULL, "authorId" TEXT NOT NULL, '
    'CONSTRAINT "Post_pkey" PRIMARY KEY ("id"));\n'
    'ALTER TABLE "Post" ADD CONSTRAINT "Post_authorId_fkey" FOREIGN KEY ("authorId") '
    'REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;'
)


def test_drop_primary_key_cascade_names_what_it_takes(tmp_path: Path) -> None:
    earlier(tmp_path, PRISMA_TABLES)
    sql = 'ALTER TABLE "User" DROP CONSTRAINT "User_pkey" CASCADE;'
    [found] = check(tmp_path, "ban-drop-constraint", sql)
    assert found.severity == "error"
    assert found.message == (
        'dropping primary key "User_pkey" from "User" with CASCADE is destructive: rows may be '
        "duplicated and foreign keys lose their target; "
        'CASCADE also drops "Post"."Post_authorId_fkey"'
    )


def test_drop_constraint_severities(tmp_path: Path) -> None:
    earlier(tmp_path, PRISMA_TABLES)
    [fk] = check(
        tmp_path, "ban-drop-constraint", 'ALTER TABLE "Post" DROP CONSTRAINT "Post_authorId_fkey";'
    )
    assert (fk.severity, fk.message) == (
        None,
        'dropping foreign key "Post_authorId_fkey" from "Post" '
        "removes a guarantee readers may rely on",
    )
    [pk] = check(tmp_path, "ban-drop-constraint", 'ALTER TABLE "Post" DROP CONSTRAINT "Post_pkey";')
    assert pk.severity == "error" and "primary key" in pk.message and "CASCADE" not in pk.message
    [unknown] = check(tmp_path, "ban-drop-constraint", "ALTER TABLE t DROP CONSTRAINT c CASCADE;")
    assert unknown.severity == "error"
    assert unknown.message.endswith(
        "CASCADE also drops every foreign key of other tables that depends on it"
    )


def test_dropping_the_not_null_helper_after_set_not_null_passes(tmp_path: Path) -> None:
    earlier(
        tmp_path,
        "ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;",
    )
    body = (
        "ALTER TABLE users VALIDATE CONSTRAINT users_email_nn;\n"
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n"
        "ALTER TABLE users DROP CONSTRAINT users_email_nn;"
    )
    assert check(tmp_path, "ban-drop-constraint", body) == []
    assert (
        len(
            check(
                tmp_path, "ban-drop-constraint", "ALTER TABLE users DROP CONSTRAINT users_email_nn;"
            )
        )
        == 1
    )


def test_history_is_folded_once_per_file_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    earlier(tmp_path, "CREATE TABLE a (x integer);")
    earlier(tmp_path, "CREATE TABLE b (y integer);", version="20231201_000001")
    run: dict[str, object] = {}
    first = schema_history.history(tmp_path, "20231201_000001_earlier.sql", run=run)
    assert set(first.tables) == {("public", "a")}
    first.tables.clear()  # callers get a copy
    folded: list[str] = []
    real = schema_history._shaping_nodes

    def counted(path: str, version: schema_history.Version) -> list[object]:
        folded.append(Path(path).name)
        return real(path, version)

    monkeypatch.setattr(schema_history, "_shaping_nodes", counted)
    # the same run extends its fold by the one file in between
    again = schema_history.history(tmp_path, "20240101_000000_t.sql", run=run)
    assert set(again.tables) == {("public", "a"), ("public", "b")}
    assert folded == ["20231201_000001_earlier.sql"]
    # a file added since is seen by the next run, not by this one (it lists the directory once)
    earlier(tmp_path, "ALTER TABLE a ALTER x TYPE bigint;", version="20231202_000000")
    assert schema_history.history(tmp_path, "20240101_000000_t.sql", run=run).table(
        ("public", "a")
    ).columns == {"x": SqlType("int4")}
    assert schema_history.history(tmp_path, "20240101_000000_t.sql").table(
        ("public", "a")
    ).columns == {"x": SqlType("int8")}


def test_folded_history_is_kept_between_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    earlier(tmp_path, 'CREATE TABLE "Invoice" ("amount" INTEGER);')
    store = tmp_path / ".rally" / "lint-history.json"
    run: dict[str, object] = {}
    first = schema_history.history(tmp_path, "20240101_000000_t.sql", store, run)
    assert first.table(("public", "Invoice")).columns == {"amount": SqlType("int4")}
    assert not store.exists()  # written once, when the run ends
    schema_history.keep(schema_history.folds(run))
    assert store.is_file()
    # a new process: nothing in memory, and the stored fold answers without parsing any file
    monkeypatch.setattr(schema_history, "_NODES", {})

    def no_parse(*_: object) -> list[object]:
        raise AssertionError("the stored history was not used")

    monkeypatch.setattr(schema_history, "_shaping_nodes", no_parse)
    again = schema_history.history(tmp_path, "20240101_000000_t.sql", store, {})
    assert again.table(("public", "Invoice")).columns == {"amount": SqlType("int4")}
    store.write_text("{not json", encoding="utf-8")  # a broken store is only a cache miss
    assert schema_history._load(store) == ((), None)


def test_stored_tables_are_built_where_they_are_read(tmp_path: Path) -> None:
    earlier(tmp_path, INVOICE)
    earlier(tmp_path, 'CREATE TABLE "Other" ("x" INTEGER);', version="20231201_000001")
    run: dict[str, object] = {}
    folded = schema_history.history(tmp_path, "20240101_000000_t.sql", run=run)
    rows = schema_history.to_json(folded)
    stored = schema_history.from_json(rows)
    assert all(isinstance(t, Stored) for t in stored.tables.values())
    assert schema_history.to_json(stored) == rows  # kept as read until used
    invoice = stored.table(("public", "Invoice"))
    assert invoice == folded.table(("public", "Invoice"))
    assert isinstance(stored.tables[("public", "Other")], Stored)  # not read, not built
    assert list(stored.tables) == list(folded.tables)  # building keeps the order
    assert schema_history.to_json(stored) == rows
    # a row that is not a table is a table of unknown contents, not a crash
    broken = schema_history.from_json([["public", "t", True, [["a", "int4", ["x"], False]], []]])
    assert broken.table(("public", "t")) == Table(complete=False)
    with pytest.raises(ValueError):
        schema_history.from_json([["public", "t"]])
