"""The whole 300-migration schema of the benchmarks generated from an empty database and back."""

from __future__ import annotations

import sys
from pathlib import Path

from rally_gitops.postgres.db import connect
from rally_gitops.schema import report
from rally_gitops.schema.diff import diff
from rally_gitops.schema.filters import Filter
from rally_gitops.schema.introspect import introspect
from rally_gitops.schema.model import Model
from rally_gitops.schema.plan import plan
from testing.process import REPO

sys.path.insert(0, str(REPO / "bench"))
from corpus import generate, write_rally  # noqa: E402

SELECTION = Filter(skip_schemas=("rally_gitops",))


def read(url: str) -> Model:
    with connect(url, autocommit=True) as conn:
        return introspect(conn, SELECTION)


def run(url: str, sql: str) -> None:
    with connect(url, autocommit=True) as conn:
        conn.execute(sql.encode())


def test_the_300_migration_schema_from_empty_and_back(cli, project: Path, make_database) -> None:
    for old in (project / "migrations").iterdir():
        old.unlink()
    write_rally(project / "migrations", generate(300))
    staging, empty = make_database("big"), make_database("empty")
    assert cli("deploy", "--env", "staging", env={"DATABASE_STAGING_URL": staging}).code == 0
    big, nothing = read(staging), read(empty)
    up = plan(nothing, big, diff(nothing, big))
    assert len(up.steps) > 800  # tables (columns inline), keys, indexes, views, functions...
    run(empty, up.sql())
    built = read(empty)
    assert report.lines(diff(built, big)) == []
    down = plan(built, nothing, diff(built, nothing))
    run(empty, down.sql())
    assert report.lines(diff(read(empty), nothing)) == []
