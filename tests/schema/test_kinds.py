"""Every object kind: two databases that differ in exactly that give exactly that difference."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rally_gitops.schema import report
from rally_gitops.schema.diff import ADDED, DROPPED
from testing import pg
from testing.schema_cases import CASES, COMMENTED, COMMENTS, Case, compare, differences, model


@pytest.fixture(scope="module")
def pair(pg_server: pg.TestServer) -> Iterator[tuple[str, str]]:
    """Two scratch databases for the whole module, emptied before each use."""
    names = [pg_server.create_database("schema_a"), pg_server.create_database("schema_b")]
    yield pg_server.url(names[0]), pg_server.url(names[1])
    for name in names:
        pg_server.drop_database(name)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_one_difference_of_each_kind(pair: tuple[str, str], case: Case) -> None:
    left, right = compare(pair, case)
    assert report.lines(differences(left, right)) == list(case.lines)
    # the other way round: added is dropped, changed swaps its values
    back = report.lines(differences(right, left))
    assert len(back) == len(case.lines)
    assert [ln[:1] for ln in back] == [
        {"+": "-", "-": "+"}.get(ln[:1], ln[:1]) for ln in case.lines
    ]
    assert differences(left, left).changes == ()


def test_added_and_dropped_name_the_object(pair: tuple[str, str]) -> None:
    case = next(c for c in CASES if c.id == "table-added")
    left, right = compare(pair, case)
    result = differences(left, right)
    # the table's columns, constraint and index are in the diff (generate needs them) ...
    assert [(c.action, c.obj.kind, c.obj.shown) for c in result.changes] == [
        (ADDED, "table", "public.t"),
        (ADDED, "column", "public.t.a"),
        (ADDED, "column", "public.t.b"),
        (ADDED, "constraint", "public.t.t_pkey"),
        (ADDED, "index", "public.t_pkey"),
    ]
    # ... and one line says it all
    assert report.summary(result) == "1 difference: 1 added, 0 changed, 0 dropped"
    assert [c.action for c in differences(right, left).changes] == [DROPPED] * 5


def test_identical_schemas_of_every_kind_give_no_difference(pair: tuple[str, str]) -> None:
    sql = COMMENTED + "".join(f"COMMENT ON {what} IS 'hi';" for what, _ in COMMENTS)
    left, right = (model(url, sql, fresh=True) for url in pair)
    assert len(left) == len(right) == 17  # one of each kind; every extension member left out
    assert differences(left, right).changes == ()
    commented = {o.shown for o in left if o.comment == "hi"}
    assert len(commented) == len(COMMENTS)


@pytest.mark.parametrize("what,shown", COMMENTS, ids=[w for w, _ in COMMENTS])
def test_a_comment_on_every_kind(pair: tuple[str, str], what: str, shown: str) -> None:
    left = model(pair[0], COMMENTED, fresh=True)
    right = model(pair[1], COMMENTED + f"COMMENT ON {what} IS 'hi';", fresh=True)
    before = "" if ": comment " in shown else ": comment none"
    assert report.lines(differences(left, right)) == [f"~ {shown}{before} → hi"]
