"""Serialize deploys to one database with a session-level advisory lock.

The lock is polled with ``pg_try_advisory_lock`` outside any transaction: a blocking
``pg_advisory_lock`` would hold a virtual transaction that ``CREATE INDEX CONCURRENTLY`` in another
session waits for, a deadlock the server cannot see.
"""

from __future__ import annotations

import contextlib
import time
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from rally_gitops.errors import DeployError

if TYPE_CHECKING:
    import psycopg

LOCK_CLASS = 0x52414C4C  # "RALL": the first key of the two-int form, shown as classid in pg_locks
POLL_SECONDS = 0.1


def lock_key(schema: str) -> tuple[int, int]:
    """The two int4 keys of the deploy lock for a ledger schema."""
    second = zlib.crc32(schema.encode()) & 0x7FFFFFFF
    return LOCK_CLASS, second


@contextlib.contextmanager
def deploy_lock(conn: psycopg.Connection, schema: str, wait_seconds: float) -> Iterator[None]:
    """Hold the deploy lock of this database for the duration of the block.

    Raises ``DeployError`` naming the holder when it is not free within ``wait_seconds``.
    """
    keys = lock_key(schema)
    deadline = time.monotonic() + wait_seconds
    while True:
        got = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", keys).fetchone()
        if got and got[0]:
            break
        if time.monotonic() >= deadline:
            raise DeployError(
                f"another deploy holds the lock on this database ({holder(conn, schema)}); "
                f"waited {wait_seconds:g}s. Try again when it has finished."
            )
        time.sleep(POLL_SECONDS)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            conn.execute("SELECT pg_advisory_unlock(%s, %s)", keys)


def holder(conn: psycopg.Connection, schema: str) -> str:
    """Who holds the deploy lock: application name, user, client address and since when."""
    keys = lock_key(schema)
    row = conn.execute(
        "SELECT a.pid, a.application_name, a.usename, a.client_addr, a.backend_start"
        " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.granted AND l.database = ("
        "   SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND l.classid = %s AND l.objid = %s AND l.objsubid = 2",
        keys,
    ).fetchone()
    if row is None:
        return "holder unknown"
    pid, app, user, addr, since = row
    where = f" from {addr}" if addr else ""
    return (
        f"held by {app or 'an unnamed session'} (backend pid {pid}, user {user}{where}, "
        f"connected {since:%Y-%m-%d %H:%M:%S %Z})"
    )
