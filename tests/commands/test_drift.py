"""``rally-gitops drift``: hand-made changes on a deployed database, found and named."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from rally_gitops.replay import cache
from testing.schema_cases import drop_replay_databases, migration_file

PENDING = "20250101_000000_pending.sql"
HAND_MADE = """
ALTER TABLE users DROP COLUMN last_seen_at;
CREATE INDEX users_created_at_idx ON users (created_at);
CREATE OR REPLACE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := clock_timestamp();
    RETURN NEW;
END;
$$;
"""


@pytest.fixture
def deployed(cli, make_database, pg_server, monkeypatch):
    """The sample migrations deployed to staging; the environment to pass to ``cli``."""
    monkeypatch.setenv("RALLY_REPLAY_DATABASE_URL", make_database("replay"))
    env = {"DATABASE_STAGING_URL": make_database("stg")}
    assert cli("deploy", "--env", "staging", env=env).code == 0
    yield env
    drop_replay_databases(pg_server.admin_url)


def test_a_clean_deployment_has_no_drift(cli, project: Path, deployed) -> None:
    # a pending file is not part of what staging should look like
    (project / "migrations" / PENDING).write_text(
        migration_file(PENDING[:-4], "CREATE TABLE x ();")
    )
    result = cli("drift", "--env", "staging", env=deployed)
    url = deployed["DATABASE_STAGING_URL"]
    assert (result.code, result.err) == (0, "")
    assert result.out == f"no drift: staging ({url}) matches its 6 applied migration(s)\n"


def test_hand_made_changes_are_drift(cli, deployed) -> None:
    with psycopg.connect(deployed["DATABASE_STAGING_URL"], autocommit=True) as conn:
        conn.execute(HAND_MADE)
    result = cli("drift", "--env", "staging", env=deployed)
    assert result.code == 1
    url = deployed["DATABASE_STAGING_URL"]
    assert result.out.splitlines() == [
        "- column public.users.last_seen_at",
        "",
        "+ index public.users_created_at_idx",
        "",
        "~ function public.touch_updated_at(): body differs",
        f"drift on staging ({url}): 3 differences: 1 added, 1 changed, 1 dropped",
    ]
    data = json.loads(cli("drift", "--env", "staging", "--json", env=deployed).out)
    assert (data["environment"], data["applied"], data["identical"]) == ("staging", 6, False)
    assert [(c["action"], c["name"]) for c in data["changes"]] == [
        ("dropped", "public.users.last_seen_at"),
        ("added", "public.users_created_at_idx"),
        ("changed", "public.touch_updated_at()"),
    ]


def test_an_edited_applied_file_is_refused(cli, project: Path, deployed) -> None:
    path = project / "migrations" / "20241203_101500_create_matches.sql"
    path.write_text(path.read_text().replace("BEGIN;", "BEGIN;\n-- edited", 1))
    result = cli("drift", "--env", "staging", env=deployed)
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "error: staging: 20241203_101500_create_matches.sql was edited after it was applied "
        "(its checksum differs from the ledger's): drift cannot rebuild the schema it expects; "
        "restore the applied version of the file\n"
    )
    path.unlink()
    missing = cli("drift", "--env", "staging", env=deployed)
    assert missing.err == (
        "error: staging: 20241203_101500_create_matches is recorded in its ledger but is not in "
        "migrations/: drift cannot rebuild the schema it expects (restore the file from git)\n"
    )


def test_drift_reads_the_cached_replay_in_place(cli, deployed, monkeypatch) -> None:
    assert cli("drift", "--env", "staging", env=deployed).code == 0  # builds the template
    made: list[tuple[str, str | None]] = []
    real = cache.create_database

    def create(admin: psycopg.Connection, name: str, template: str | None) -> None:
        made.append((name, template))
        real(admin, name, template)

    monkeypatch.setattr(cache, "create_database", create)
    result = cli("drift", "--env", "staging", env=deployed)
    assert (result.code, result.err) == (0, ""), result.out
    # the template of the 6 is read where it is: no copy of it, no database made
    assert made == []
    # and a hand-made change is still found there
    with psycopg.connect(deployed["DATABASE_STAGING_URL"], autocommit=True) as conn:
        conn.execute("CREATE TABLE by_hand (id int)")
    result = cli("drift", "--env", "staging", env=deployed)
    assert (result.code, made) == (1, [])
    assert result.out.splitlines()[0] == "+ table public.by_hand"
