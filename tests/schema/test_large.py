"""A large real schema (the benchmarks' 300-migration history) compared with itself."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from rally_gitops.postgres.db import connect
from rally_gitops.schema.filters import Filter
from rally_gitops.schema.introspect import introspect
from testing.process import REPO
from testing.schema_cases import drop_replay_databases

sys.path.insert(0, str(REPO / "bench"))
from corpus import generate, write_rally  # noqa: E402


def test_a_deployed_300_migration_history_equals_its_replay(
    cli, project: Path, make_database, pg_server, monkeypatch
) -> None:
    for old in (project / "migrations").iterdir():
        old.unlink()
    write_rally(project / "migrations", generate(300))
    staging = make_database("big")
    monkeypatch.setenv("RALLY_REPLAY_DATABASE_URL", make_database("replay"))
    env = {"DATABASE_STAGING_URL": staging}
    try:
        assert cli("deploy", "--env", "staging", env=env).code == 0
        result = cli("compare", "migrations", "staging", env=env)
    finally:
        drop_replay_databases(pg_server.admin_url)
    assert (result.code, result.err) == (0, "")
    assert result.out.startswith("no differences (migrations → staging")
    with connect(staging, autocommit=True) as conn:
        model = introspect(conn, Filter(skip_schemas=("rally_gitops",)))
    kinds = Counter(obj.kind for obj in model)
    # large enough to mean something: every table, column, index, function, trigger and view
    assert kinds["table"] >= 100 and kinds["column"] >= 1000 and kinds["index"] >= 400, kinds
    assert kinds["function"] >= 40 and kinds["trigger"] >= 30 and kinds["view"] >= 15, kinds
