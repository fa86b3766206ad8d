"""``status`` and the deploy's first read log into a database given by its URL while the
migration files are read (``postgres.db.beside``): the server's login overlaps the scan."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from rally_gitops import config
from rally_gitops.commands import status as status_command
from rally_gitops.deploy import pipeline
from rally_gitops.errors import DatabaseError


def connected_before_the_files(
    monkeypatch: pytest.MonkeyPatch, module: Any, reads_files: str
) -> list[bool]:
    """Whether each call of ``module.<reads_files>`` met a connection already under way."""
    connecting = threading.Event()
    seen: list[bool] = []
    real_connect, real_read = module.connect_reader, getattr(module, reads_files)

    def connect(*args: Any, **kwargs: Any) -> Any:
        connecting.set()
        return real_connect(*args, **kwargs)

    def read(*args: Any, **kwargs: Any) -> Any:
        seen.append(connecting.wait(10))
        return real_read(*args, **kwargs)

    monkeypatch.setattr(module, "connect_reader", connect)
    monkeypatch.setattr(module, reads_files, read)
    return seen


def test_status_and_deploy_connect_while_reading_the_files(
    cli, project: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    env = {"DATABASE_STAGING_URL": database_url}
    assert cli("deploy", "--env", "staging", "--no-backup", env=env).code == 0
    cfg = config.load(project)

    seen = connected_before_the_files(monkeypatch, status_command, "scan")
    capsys.readouterr()
    assert status_command.status(cfg, envs=["staging"], as_json=False) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith(": 6 applied, 0 pending") and len(out) == 7
    assert seen == [True]

    seen = connected_before_the_files(monkeypatch, pipeline, "discover")
    reported: list[str] = []
    done = pipeline.deploy_pending(cfg, "staging", report=reported.append, approve=None)
    assert (done.pending, done.applied) == ([], [])
    assert reported == [f"{done.target.label}: up to date (6 applied), nothing to deploy"]
    assert seen == [True]


def test_an_error_of_the_early_read_is_raised_where_it_was(
    project: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a bad migration file is still the first error, then the connection's
    (project / "migrations" / "20300101_000000_latin1.sql").write_bytes(b"-- caf\xe9\n")
    monkeypatch.setenv("DATABASE_STAGING_URL", database_url.replace("/t", "/no_such_db_", 1))
    cfg = config.load(project)
    with pytest.raises(Exception, match="not UTF-8"):
        pipeline.deploy_pending(cfg, "staging", report=print, approve=None)
    (project / "migrations" / "20300101_000000_latin1.sql").unlink()
    with pytest.raises(DatabaseError, match=r"^cannot connect to .*no_such_db_"):
        pipeline.deploy_pending(cfg, "staging", report=print, approve=None)
