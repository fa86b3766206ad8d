"""Each test's own record of the argv of the client programs it started (pgtools.STARTED)."""

from __future__ import annotations

import collections
from collections.abc import Iterator

import pytest

from rally_gitops.postgres import tools as pgtools


@pytest.fixture(autouse=True)
def started_argv() -> Iterator[collections.deque[tuple[str, ...]]]:
    """Cleared before every test: a check of it sees this test's programs only, in any order."""
    pgtools.STARTED.clear()
    yield pgtools.STARTED
    pgtools.STARTED.clear()
