"""``parsing.parse_sql``: pglast's tree without its per-attribute validation, node for node equal.

The fast path must never give the rules a different tree than ``pglast.parser.parse_sql``: every
statement of the rule cases, of both generated corpora and of the sample migrations is parsed
both ways and compared attribute by attribute, locations included (pglast's own ``==`` ignores
them, so the comparison is on the serialised trees).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pglast import ast, parser

from bench.corpus import generate, generate_prisma, rally_text
from rally_gitops.lint.parsing import parse_sql
from testing.rule_cases import FLAG, OK

ROOT = Path(__file__).resolve().parents[2]
# node kinds the corpora may lack: every constant, non-ASCII text (character vs byte offsets),
# multi-dimensional lists, bit strings, NULL, arrays, a function body, DO, COPY
EDGE_CASES = [
    "SELECT 1, -2, 3.5, 1e10, 'é', B'101', X'1F', true, NULL, ARRAY[[1, 2], [3, 4]], $1::int",
    "INSERT INTO \"Tëam\" (\"nâme\") VALUES ('ü'), ('日本') RETURNING *;",
    "CREATE TABLE t (a int[] DEFAULT '{}', b numeric(12, 2) CHECK (b > 0), c bit(3));",
    "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;",
    "DO $$ BEGIN RAISE NOTICE 'x'; END $$;",
    "COPY t (a) FROM STDIN WITH (FORMAT csv);",
    "SELECT * FROM a JOIN b USING (id) WHERE x IN (SELECT 1) ORDER BY 1 LIMIT 2 FOR UPDATE;",
    "ALTER TABLE t ALTER COLUMN a TYPE bigint USING a::bigint, DROP CONSTRAINT c CASCADE;",
    "GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader; SET search_path = app, public;",
    "CREATE INDEX CONCURRENTLY i ON t USING gin (a) WHERE b IS NOT NULL;",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r;",
]


def _corpus() -> list[str]:
    texts = [body for _, body, _ in FLAG] + [body for _, body in OK] + EDGE_CASES
    texts += [rally_text(m) for m in generate(120)]
    texts += [rally_text(m) for m in generate_prisma(240, seed=3)]
    texts += [p.read_text() for p in sorted((ROOT / "migrations").glob("*.sql"))]
    return texts


def _tree(stmts: tuple[Any, ...]) -> list[Any]:
    return [raw(depth=None) for raw in stmts]  # every attribute, locations included


def test_fast_parse_builds_the_same_tree_as_pglast() -> None:
    texts = _corpus()
    assert len(texts) > 650
    parsed = 0
    for text in texts:
        try:
            expected = parser.parse_sql(text)
        except parser.ParseError as exc:
            with pytest.raises(parser.ParseError) as caught:
                parse_sql(text)
            assert caught.value.args == exc.args
            continue
        got = parse_sql(text)
        assert _tree(got) == _tree(expected), text
        assert all(type(a.stmt) is type(b.stmt) for a, b in zip(got, expected, strict=True))
        parsed += 1
    assert parsed > 650


def test_fast_parse_restores_pglast_and_keeps_checked_nodes_elsewhere() -> None:
    parse_sql("SELECT 1;")
    with pytest.raises(parser.ParseError):
        parse_sql("SELEC 1;")
    assert vars(parser)["ast"] is ast
    # nodes built by hand are still validated: the fast path changed no class
    with pytest.raises(ValueError, match="Bad value"):
        ast.RangeVar(relname=1)


def test_fast_parse_locations_are_character_offsets() -> None:
    (raw,) = parse_sql("SELECT 'ééé', x")
    target = raw.stmt.targetList[1]
    assert target.location == len("SELECT 'ééé', ")


def test_written_constructors_build_the_same_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    # from a class's _GENERATE_AFTER-th node on, a function written for it builds its nodes:
    # here from the first, for every class the corpus has
    from rally_gitops.lint import parsing

    monkeypatch.setattr(parsing, "_GENERATE_AFTER", 1)
    monkeypatch.setattr(parsing, "_UNCHECKED", parsing._Unchecked())
    parsed = 0
    for text in _corpus():
        try:
            expected = parser.parse_sql(text)
        except parser.ParseError:
            continue
        got = parse_sql(text)  # the first node of a class by the loop, every later one written
        assert _tree(got) == _tree(expected), text
        assert _tree(parse_sql(text)) == _tree(expected), text
        parsed += 1
    assert parsed > 650
    written = vars(parsing._UNCHECKED)
    assert written["ColumnDef"].__code__.co_argcount == len(ast.ColumnDef.__slots__)
    assert len(written) > 60
