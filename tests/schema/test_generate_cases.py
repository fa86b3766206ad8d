"""compare --sql on the change corpus: each case up and down on a real server, round trips exact."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from rally_gitops.schema import report
from rally_gitops.schema.diff import diff
from rally_gitops.schema.plan import plan
from testing import pg
from testing.generate_cases import CASES, Case
from testing.schema_cases import model, reset

COUNTS = (
    "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
    "WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'rally_gitops') ORDER BY 1"
)


@pytest.fixture(scope="module")
def pair(pg_server: pg.TestServer) -> Iterator[tuple[str, str]]:
    names = [pg_server.create_database("gen_a"), pg_server.create_database("gen_b")]
    yield pg_server.url(names[0]), pg_server.url(names[1])
    for name in names:
        pg_server.drop_database(name)


def rows(url: str) -> dict[str, int]:
    """Row count of every user table."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [t for (t,) in conn.execute(COUNTS).fetchall()]
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def residue(left, right) -> list[str]:
    return report.lines(diff(left, right))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_up_and_down_round_trip(pair: tuple[str, str], case: Case) -> None:
    a_url, b_url = pair
    with psycopg.connect(a_url, autocommit=True) as conn:
        reset(conn)
    a = model(a_url, case.before + case.seed)
    b = model(b_url, case.after, fresh=True)
    before = rows(a_url)
    up = plan(a, b, diff(a, b))
    assert up, "the case must differ"
    assert bool(up.hazards) == case.hazard_up, up.hazards
    applied = model(a_url, up.sql())
    assert residue(applied, b) == []
    assert not plan(applied, b, diff(applied, b))  # idempotent: nothing left to do
    if not case.hazard_up:
        kept = rows(a_url)
        assert {t: kept[t] for t in before if t in kept} == before
    down = plan(b, a, diff(b, a))
    assert bool(down.hazards) == case.hazard_down, down.hazards
    back = model(a_url, down.sql())
    left = residue(back, a)
    # a column dropped and added again comes back last: its position is the one residue
    assert all(line.startswith("~ column") and "position" in line for line in left), left
