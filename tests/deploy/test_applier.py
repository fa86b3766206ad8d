"""The Applier driven directly (no CLI): its injected failure behaviour and the failed statement."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from rally_gitops import config as config_mod
from rally_gitops.deploy.applier import Applier
from rally_gitops.deploy.failure import Failure
from rally_gitops.deploy.ledger import Ledger
from rally_gitops.errors import DeployError
from rally_gitops.files.migrations import discover
from testing.migration_files import ledger_rows, write_migration


class Stop(Exception):
    """What the test's failure handler makes the applier raise."""


def test_the_applier_raises_what_its_failure_handler_returns(
    project: Path, mig: Path, database_url: str
) -> None:
    write_migration(mig, "20250101_000000", "ok", "CREATE TABLE ok_t (id int);")
    write_migration(mig, "20250102_000000", "bad", "CREATE TABLE bad_t (id int);\nSELECT 1 / 0;")
    config = config_mod.load(project)
    seen: list[Failure] = []

    def handler(failure: Failure) -> BaseException:
        seen.append(failure)
        return Stop(failure.migration.filename)

    applied: list[str] = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        Ledger(conn).ensure()
        applier = Applier(conn, config, report=lambda _: None, on_failure=handler)
        with pytest.raises(Stop, match="20250102_000000_bad.sql"):
            applier.apply_all(discover(mig), lambda m, _ms: applied.append(m.filename))
        events = Ledger(conn).history()
    assert applied == ["20250101_000000_ok.sql"]
    (failure,) = seen  # called once: a handler's failure is never retried
    assert (failure.statement.line, failure.statement.sql, failure.blocking) == (
        7,
        "SELECT 1 / 0",
        False,
    )
    assert getattr(failure.error, "sqlstate", None) == "22012"
    assert [e.event for e in events] == ["apply"]  # this handler writes no failure event
    assert ledger_rows(database_url) == [("20250101_000000", "20250101_000000_ok")]


def test_the_default_handler_records_a_failure_event(
    project: Path, mig: Path, database_url: str
) -> None:
    write_migration(mig, "20250101_000000", "bad", "SELECT 1 / 0;")
    config = config_mod.load(project)
    with psycopg.connect(database_url, autocommit=True) as conn:
        Ledger(conn).ensure()
        with pytest.raises(DeployError) as caught:
            Applier(conn, config, report=lambda _: None).apply_all(discover(mig), lambda *_: None)
        (event,) = Ledger(conn).history()
    assert str(caught.value) == (
        "20250101_000000_bad.sql:6: division by zero [SQLSTATE 22012] "
        "(the migration was rolled back)"
    )
    assert (event.event, event.version, event.detail) == (
        "failure",
        "20250101_000000",
        "line 6: division by zero [SQLSTATE 22012]",
    )
