"""Fixtures: one real PostgreSQL per session, a fresh database per test, scratch projects."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.pg import TestServer, start
from testing.process import SAMPLE_MIGRATIONS, URL_VARIABLES, Result


@pytest.fixture(scope="session")
def pg_server() -> Iterator[TestServer]:
    # Not under pytest's basetemp: every pytest session that starts resets /tmp/pytest-of-<user>
    # to mode 0700, which locks the server's unprivileged user out of its own data directory
    # (a PANIC at the next checkpoint) whenever two test sessions run at once.
    base = Path(tempfile.mkdtemp(prefix="rally-test-pg-"))
    server = start(base)
    yield server
    if server.embedded is not None:
        server.embedded.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _hook_servers() -> Iterator[None]:
    """The hook servers that the hooks run by tests start (README, "The hook server") get a
    socket directory of the session's own, and are stopped with it, not left to idle out."""
    base = Path(tempfile.mkdtemp(prefix="rally-test-run-"))
    before = os.environ.get("XDG_RUNTIME_DIR")
    os.environ["XDG_RUNTIME_DIR"] = str(base)
    yield
    if before is None:
        del os.environ["XDG_RUNTIME_DIR"]
    else:
        os.environ["XDG_RUNTIME_DIR"] = before
    for log in base.glob("*/*.log"):
        for line in log.read_text(encoding="utf-8").splitlines():
            if line.endswith(" ready"):
                with contextlib.suppress(OSError):
                    os.kill(int(line.split()[2]), signal.SIGTERM)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def make_database(pg_server: TestServer) -> Iterator:
    """A factory of fresh databases (dropped after the test); returns the URL."""
    created: list[str] = []

    def make(prefix: str = "t") -> str:
        name = pg_server.create_database(prefix)
        created.append(name)
        return pg_server.url(name)

    yield make
    for name in created:
        pg_server.drop_database(name)


@pytest.fixture
def database_url(make_database) -> str:
    """The URL of a fresh, empty database on the test server."""
    return make_database()


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start with no database URLs, no CI variables and no GitHub token of the caller."""
    for name in (
        *URL_VARIABLES,
        "CI",
        "GITHUB_ACTIONS",
        "GITHUB_TOKEN",
        "GITHUB_SHA",
        "GITHUB_RUN_ID",
        "GITHUB_REPOSITORY",
        "GITHUB_ACTOR",
        "GITHUB_API_URL",
        "RALLY_REPLAY_DATABASE_URL",
        "RALLY_DEBUG",
    ):
        monkeypatch.delenv(name, raising=False)
    # deploy and smoke check drift by replaying the migrations on a throwaway server; the tests
    # that look at it (tests/deploy/test_drift_gate.py) turn it back on
    monkeypatch.setenv("RALLY_DRIFT", "off")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A scratch project: pyproject.toml and a copy of the sample migrations."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "scratch"\nversion = "0"\n\n[tool.rally_gitops]\n'
        'lock_timeout = "2s"\ndeploy_lock_wait = 30\n'
        # the tests' projects are no git repositories: test_committed.py turns it back on
        "require_committed = []\n",
        encoding="utf-8",
    )
    shutil.copytree(SAMPLE_MIGRATIONS, root / "migrations")
    return root


@pytest.fixture
def cli(project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Run ``rally-gitops ARGS`` in-process in the scratch project; returns code, stdout, stderr."""
    from rally_gitops.main import main

    def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        if stdin is not None:
            import io

            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = main(["-C", str(project), *args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
