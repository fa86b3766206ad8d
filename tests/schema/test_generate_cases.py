"""compare --sql on the change corpus: each case up and down on a real server, round trips exact."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from rally_gitops.config import load
from rally_gitops.files.migrations import uncomment
from rally_gitops.files.statements import split_statements
from rally_gitops.lint.checker import lint_files
from rally_gitops.schema import migration_files as files
from rally_gitops.schema import report
from rally_gitops.schema.diff import diff
from rally_gitops.schema.model import Enum, Table
from rally_gitops.schema.online import split
from rally_gitops.schema.plan import plan
from rally_gitops.schema.seed import seed
from testing import pg
from testing.generate_cases import CASES, LINT_ERRORS, UNREACHED, UNSEEDED, Case
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
    with psycopg.connect(a_url, autocommit=True) as conn:
        labels = {e.shown: e.labels for e in b.of(Enum) if isinstance(e, Enum)}
        seeded = seed(conn, [t.shown for t in a.of(Table) if t.key in b.objects], labels)
    # every table the change keeps holds a row to keep, or the seeder says why not
    assert [t for t, _ in seeded.unseeded] == list(UNSEEDED.get(case.id, ())), seeded
    before = rows(a_url)
    assert [t for t, n in before.items() if not n] == list(UNSEEDED.get(case.id, ()))
    up = plan(a, b, diff(a, b))
    assert up, "the case must differ"
    assert bool(up.hazards) == case.hazard_up, up.hazards
    # as generate writes it: new enum values the change uses go first, in a file of their own
    for part in files.enum_values_first([files.plain(up, plan(b, a, diff(b, a)))]):
        run(a_url, files.up_text(part), part.no_transaction)
    applied = model(a_url, "")
    assert residue(applied, b) == list(UNREACHED.get(case.id, ()))
    # idempotent: nothing left to do (but the column order no ALTER reaches)
    assert not [s for s in plan(applied, b, diff(applied, b)).steps if s.statements]
    if not case.hazard_up:
        kept = rows(a_url)
        assert {t: kept[t] for t in before if t in kept} == before
    down = plan(b, a, diff(b, a))
    assert bool(down.hazards) == case.hazard_down, down.hazards
    back = model(a_url, down.sql())
    left = residue(back, a)
    # a column dropped and added again comes back last: its position is the one residue
    assert all(line.startswith("~ column") and "position" in line for line in left), left


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_online_files_round_trip_and_lint(
    pair: tuple[str, str], case: Case, tmp_path: Path
) -> None:
    a_url, b_url = pair
    with psycopg.connect(a_url, autocommit=True) as conn:
        reset(conn)
    a = model(a_url, case.before + case.seed)
    b = model(b_url, case.after, fresh=True)
    parts = files.enum_values_first(split(plan(a, b, diff(a, b)), plan(b, a, diff(b, a)), a, b))
    for part in parts:
        run(a_url, files.up_text(part), part.no_transaction)
    assert residue(model(a_url, ""), b) == list(UNREACHED.get(case.id, ()))
    for part in reversed(parts):
        run(a_url, uncomment(files.down_text(part)), part.no_transaction)
    left = residue(model(a_url, ""), a)
    assert all(line.startswith("~ column") and "position" in line for line in left), left
    (tmp_path / "pyproject.toml").write_text("[tool.rally_gitops]\n", encoding="utf-8")
    written = files.render(
        parts, tmp_path / "migrations", slug="c", description="c", stamp=dt.datetime(2030, 1, 1)
    )
    (tmp_path / "migrations").mkdir()
    for path, text in written:
        path.write_text(text, encoding="utf-8")
    findings = lint_files(load(tmp_path), [p for p, _ in written])
    errors = sorted({f.code for f in findings if f.severity == "error"})
    assert errors == sorted(LINT_ERRORS.get(case.id, ())), [
        f.message for f in findings if f.severity == "error"
    ]


def run(url: str, sql: str, no_transaction: bool) -> None:
    """A file's SQL as deploy runs it: whole, or statement by statement outside a transaction."""
    texts = [s.sql for s in split_statements(sql)] if no_transaction else [sql]
    with psycopg.connect(url, autocommit=True) as conn:
        for text in texts:
            conn.execute(text.encode())
