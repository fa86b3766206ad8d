"""The ready copy of the replay template (replay/spare.py): made after a replay, used next."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from rally_gitops.config import load
from rally_gitops.files.migrations import discover
from rally_gitops.postgres.embedded import EmbeddedServer
from rally_gitops.replay.cache import PREFIX, SPARE, TEMPLATE, spare_name
from rally_gitops.replay.run import cache_key, replay
from testing.migration_files import make_project, write_migration
from testing.process import run_process


@pytest.fixture
def root() -> Iterator[Path]:
    """A project outside basetemp (its embedded replay server stopped after)."""
    base = Path(tempfile.mkdtemp(prefix="rally-spare-"))
    project = make_project(base / "proj")
    folder = project / "migrations"
    write_migration(folder, "20250101_000000", "one", "CREATE TABLE t1 (id int PRIMARY KEY);")
    write_migration(folder, "20250102_000000", "two", "CREATE TABLE t2 (id int PRIMARY KEY);")
    write_migration(folder, "20250103_000000", "three", "CREATE TABLE t3 (id int PRIMARY KEY);")
    try:
        yield project
    finally:
        if (project / ".rally").exists():
            run_process(["server", "stop"], cwd=project)
        shutil.rmtree(base, ignore_errors=True)


def databases(project: Path, prefix: str) -> set[str]:
    running = EmbeddedServer(project / ".rally" / "replay-pgdata", fast=True).running()
    assert running is not None
    with psycopg.connect(running.url("postgres"), autocommit=True) as conn:
        rows = conn.execute("SELECT datname FROM pg_database").fetchall()
    return {name for (name,) in rows if name.startswith(prefix)}


def wait_for(project: Path, wanted: set[str]) -> None:
    """Until the spares are ``wanted`` and the replays' own databases are gone (both done in
    the background)."""
    deadline = time.monotonic() + 60
    while (databases(project, SPARE), databases(project, PREFIX + "run_")) != (wanted, set()):
        assert time.monotonic() < deadline, f"{databases(project, PREFIX)}, expected {wanted}"
        time.sleep(0.1)


def test_the_next_replay_works_in_the_ready_copy_and_applies_what_it_lacks(root: Path) -> None:
    config = load(root)
    migrations = discover(config.migrations_dir)
    first = replay(config, migrations, [migrations[2]])  # the commit of the third file
    assert (first.findings, first.from_spare, first.applied) == ([], False, 1)
    two = TEMPLATE + cache_key(config, migrations[:2])
    wait_for(root, {spare_name(two)})  # made in the background, after the replay

    # the third file is committed, a fourth needs its table: the copy of the template of two
    # files must get the third before the fourth can run
    write_migration(root / "migrations", "20250104_000000", "four", "ALTER TABLE t3 ADD x int;")
    migrations = discover(config.migrations_dir)
    second = replay(config, migrations, [migrations[3]])
    assert (second.findings, second.from_spare) == ([], True)
    assert (second.cached, second.applied, second.extended_from) == (3, 1, 2)
    three = TEMPLATE + cache_key(config, migrations[:3])
    wait_for(root, {spare_name(three)})  # the used one is gone, the next one made


def test_a_ready_copy_of_other_files_is_not_used(root: Path) -> None:
    """The key of a copy says what it holds: after an edit of a committed file (another key),
    the copy of the old files is not taken."""
    config = load(root)
    migrations = discover(config.migrations_dir)
    replay(config, migrations, [migrations[2]])
    wait_for(root, {spare_name(TEMPLATE + cache_key(config, migrations[:2]))})
    write_migration(root / "migrations", "20250102_000000", "two", "CREATE TABLE t2b (id int);")
    migrations = discover(config.migrations_dir)
    result = replay(config, migrations, [migrations[2]])
    assert (result.findings, result.from_spare, result.cache_hit) == ([], False, False)
