"""What ``compare`` and ``compare --sql`` leave out because it is not needed (issues 10, 11 speed):
imports, scans of texts nobody asked about, a filter with nothing to filter."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys

import pytest
from pglast.keywords import RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS

from rally_gitops.commands.compare import compare
from rally_gitops.config import load
from rally_gitops.schema import keywords
from rally_gitops.schema.filters import Filter
from rally_gitops.schema.model import quote_ident
from testing.schema_cases import model

SCHEMA = """
CREATE TABLE teams (id int PRIMARY KEY, name text NOT NULL DEFAULT 'x');
CREATE TABLE users (id int PRIMARY KEY, team_id int REFERENCES teams (id), email text);
CREATE INDEX users_email_idx ON users (lower(email));
CREATE VIEW team_users AS SELECT t.name, u.email FROM teams t JOIN users u ON u.team_id = t.id;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN PERFORM 1 FROM public.teams; RETURN NEW; END$$;
CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();
"""


def test_the_keywords_quote_ident_quotes_are_pglasts() -> None:
    assert keywords.RESERVED == {k.upper() for k in RESERVED_KEYWORDS}
    assert keywords.TYPE_FUNC_NAME == {k.upper() for k in TYPE_FUNC_NAME_KEYWORDS}
    assert [quote_ident(n) for n in ("user", "join", "text", "Users", "a$b")] == [
        '"user"',
        '"join"',
        "text",
        '"Users"',
        "a$b",
    ]


@pytest.mark.parametrize(
    ("extra", "same", "expected"),
    [
        ((), False, (1, "+ table public.users")),
        (("--sql",), True, (0, "")),
        # the names of the view, the index, the defaults and the function body: by the small
        # scanner of schema/lexer.py, not pglast's
        (("--sql",), False, (1, "CREATE VIEW public.team_users")),
    ],
    ids=["report", "sql-of-identical", "sql-of-a-difference"],
)
def test_comparing_two_databases_imports_neither_pglast_psycopg_nor_the_replay(
    make_database, tmp_path, extra: tuple[str, ...], same: bool, expected: tuple[int, str]
) -> None:
    left, right = make_database("fast_a"), make_database("fast_b")
    model(right, SCHEMA)
    if same:
        left = right
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    probe = (
        "import json, sys\n"
        "from rally_gitops.main import main\n"
        f"code = main(['compare', {left!r}, {right!r}, *{list(extra)!r}])\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('pglast', 'psycopg')"
        " or m.startswith(('rally_gitops.replay', 'rally_gitops.lint', 'sqlglot', 'git')))\n"
        "print(json.dumps([code, loaded]))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "RALLY_"))}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    *printed, last = result.stdout.splitlines()
    assert json.loads(last) == [expected[0], []]
    assert expected[1] in "\n".join(printed)


def test_a_filter_without_schemas_or_globs_selects_nothing_out() -> None:
    assert not Filter(skip_schemas=("rally_gitops",)).selects
    assert Filter(schemas=("public",)).selects
    assert Filter(exclude=("public.tmp_*",)).selects


def test_compare_runs_without_the_cyclic_collector_and_turns_it_back_on(
    project, make_database, capsys
) -> None:
    left, right = make_database("gc_a"), make_database("gc_b")
    model(right, SCHEMA)
    config = load(project)
    collections: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.collect()
    gc.callbacks.append(count)
    try:
        code = compare(config, source=left, target=right, as_sql=True)
    finally:
        gc.callbacks.remove(count)
    assert code == 1
    assert "CREATE TABLE public.users" in capsys.readouterr().out
    # at most the one collection of the young objects, once the collector is back on (the code
    # before ran ten here)
    assert collections in ([], [0])
    assert gc.isenabled()


RICH = """
CREATE SCHEMA "Sales";
CREATE TYPE "Sales"."Mood" AS ENUM ('sad', 'ok');
CREATE DOMAIN positive AS int CHECK (VALUE > 0) DEFAULT 1 NOT NULL;
CREATE TYPE pair AS (a int, b text COLLATE "C");
CREATE SEQUENCE counter START 5 INCREMENT 2 MAXVALUE 99 CYCLE;
CREATE TABLE "Sales"."Order" (
  id bigint GENERATED ALWAYS AS IDENTITY (START 7), mood "Sales"."Mood", qty positive,
  tags text[] DEFAULT '{}', total numeric(10, 2) GENERATED ALWAYS AS (qty * 2) STORED,
  PRIMARY KEY (id));
ALTER TABLE "Sales"."Order" ADD CONSTRAINT "Order_qty_check" CHECK (qty < 1000) NOT VALID;
ALTER TABLE "Sales"."Order" ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON "Sales"."Order" FOR SELECT TO PUBLIC USING (qty > 1);
COMMENT ON COLUMN "Sales"."Order".qty IS 'how many';
GRANT SELECT ON "Sales"."Order" TO PUBLIC;
"""


def test_the_libpq_reader_and_psycopg_read_the_same_model(make_database) -> None:
    """``compare`` reads through libpq directly, ``generate``'s verification through psycopg:
    both must see one model, value types (booleans, numbers, nested arrays, NULLs) included."""
    from rally_gitops.postgres.db import connect_reader
    from rally_gitops.schema.introspect import introspect

    url = make_database("fast_rich")
    through_psycopg = model(url, SCHEMA + RICH)
    with connect_reader(url) as conn:
        through_libpq = introspect(conn, Filter(skip_schemas=("rally_gitops",)))
    assert through_libpq == through_psycopg
    assert through_libpq.server_version >= 130000
    found = {(o.KIND, getattr(o, "table", ""), o.name): o for o in through_libpq.objects.values()}
    counter = found["sequence", "", "counter"]
    assert (counter.start, counter.increment, counter.maximum, counter.cycle) == (5, 2, 99, True)
    positive = found["domain", "", "positive"]
    assert (positive.not_null, positive.default) == (True, "1")
    assert positive.constraints == (("positive_check", "CHECK ((VALUE > 0))"),)
    assert found["composite type", "", "pair"].members == (
        ("a", "integer", None),
        ("b", "text", 'pg_catalog."C"'),
    )
    assert found["enum", "", "Mood"].labels == ("sad", "ok")
    check = found["constraint", "Order", "Order_qty_check"]
    assert (check.validated, check.type) == (False, "check")
    qty = found["column", "Order", "qty"]
    assert (qty.position, qty.comment, qty.default) == (3, "how many", None)
    ident = found["column", "Order", "id"]
    assert (ident.identity, ident.not_null) == ("always", True)
