"""Fixtures of the deploy engine's tests: an empty migrations directory, staging on a fresh
database."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture
def mig(project: Path) -> Path:
    """The scratch project's migrations directory, emptied."""
    shutil.rmtree(project / "migrations")
    (project / "migrations").mkdir()
    return project / "migrations"


@pytest.fixture
def staging(cli, database_url):
    """``cli`` bound to a fresh database as the staging environment."""

    def run(*args: str, **kwargs):
        env = {"DATABASE_STAGING_URL": database_url, **kwargs.pop("env", {})}
        return cli(*args, "--env", "staging", env=env, **kwargs)

    run.url = database_url
    return run
