"""The ledger: what was applied where, in the target database itself (its writes; the rows and
the reads are ``deploy.records``).

Two tables in the ledger schema (``rally_gitops`` by default):

- ``applied``: the applied set, one row per migration; written in the migration's own transaction.
- ``history``: an append-only log of every event (a trigger refuses UPDATE, DELETE and TRUNCATE).

A no-transaction migration writes a ``start`` event before it runs; if it fails or the process
dies, that event (or the ``failure`` after it) blocks further deploys until ``repair``.
"""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rally_gitops import __version__
from rally_gitops.config import find_root
from rally_gitops.deploy.records import LedgerReader

if TYPE_CHECKING:
    import psycopg

    from rally_gitops.config import Config
    from rally_gitops.files.migrations import Migration

LEDGER_DDL = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.applied (
    version      text PRIMARY KEY,
    name         text NOT NULL,
    checksum     text NOT NULL,
    applied_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    applied_by   text NOT NULL,
    execution_ms integer NOT NULL,
    git_sha      text,
    tool_version text NOT NULL
);
CREATE TABLE IF NOT EXISTS {s}.history (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event        text NOT NULL,
    version      text,
    name         text,
    checksum     text,
    at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor        text NOT NULL,
    git_sha      text,
    ci_run_url   text,
    execution_ms integer,
    blocking     boolean NOT NULL DEFAULT false,
    detail       text,
    tool_version text NOT NULL
);
CREATE OR REPLACE FUNCTION {s}.history_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the rally-gitops history is append-only';
END
$$;
DROP TRIGGER IF EXISTS history_is_append_only ON {s}.history;
CREATE TRIGGER history_is_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {s}.history
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.history_is_append_only();
"""


@dataclass(frozen=True)
class Context:
    """Who and what is deploying: recorded with every ledger row and event."""

    actor: str
    git_sha: str | None
    ci_run_url: str | None


@cache
def context(root: Path | None = None) -> Context:
    """The actor (GitHub actor or user@host), the commit of the project at ``root`` (default: the
    one around the working directory) and the CI run URL, if any."""
    # git only when something is recorded: status and smoke read the ledger without it
    from rally_gitops.git import head_sha

    actor = os.environ.get("GITHUB_ACTOR") or f"{_user()}@{socket.gethostname()}"
    sha = head_sha(root or find_root())
    run_url = None
    if os.environ.get("GITHUB_RUN_ID") and os.environ.get("GITHUB_REPOSITORY"):
        server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
        run_url = (
            f"{server}/{os.environ['GITHUB_REPOSITORY']}/actions/runs/{os.environ['GITHUB_RUN_ID']}"
        )
    return Context(actor=actor, git_sha=sha, ci_run_url=run_url)


class Ledger(LedgerReader):
    """The ledger in one database, through one psycopg connection: reads and writes."""

    conn: psycopg.Connection

    def __init__(
        self, conn: psycopg.Connection, schema: str = "rally_gitops", root: Path | None = None
    ) -> None:
        super().__init__(conn, schema)
        self.root = root  # the project whose commit the rows and events record

    @classmethod
    def for_config(cls, conn: psycopg.Connection, config: Config) -> Ledger:
        """The ledger of ``config``'s schema, recording ``config``'s project commit."""
        return cls(conn, config.ledger_schema, config.root)

    def ensure(self) -> bool:
        """Create the ledger if missing (caller holds the deploy lock). True if it was created.

        Raises ``DatabaseError`` with the GRANTs needed when the role may not write it.
        """
        exists = self.exists()
        if self._rights is not None:
            self._rights.require(write=True)
        if exists:
            return False
        if self.conn.autocommit:  # one round trip: statements sent as one query commit as one
            self.conn.execute(self._q(LEDGER_DDL))
        else:
            with self.conn.transaction():
                self.conn.execute(self._q(LEDGER_DDL))
        self._exists, self._rights = True, None  # we made it: ours to write
        return True

    def record_applied(
        self, migration: Migration, execution_ms: int | None, event: str = "apply"
    ) -> psycopg.Cursor[Any]:
        """Insert the applied row and its history event (in the caller's transaction).

        ``execution_ms=None`` lets the server measure it: the time since the transaction began
        (``now()``), so that the row can go out in the same pipeline as the migration. The
        cursor's one row is the ``execution_ms`` recorded.
        """
        return self.conn.execute(*self.applied_row(migration, execution_ms, event))

    def applied_row(
        self, migration: Migration, execution_ms: int | None = None, event: str = "apply"
    ) -> tuple[str, tuple[Any, ...]]:
        """The query of ``record_applied`` and its parameters (to be sent some other way)."""
        ctx = context(self.root)
        return self._record_applied_sql, (
            execution_ms,
            migration.version,
            migration.name,
            migration.checksum,
            ctx.actor,
            ctx.git_sha,
            __version__,
            event,
            ctx.ci_run_url,
        )

    @cached_property
    def _record_applied_sql(self) -> str:
        # each value is sent once and used in both rows; execution_ms NULL: the server measures it
        return self._q(
            "WITH ms AS (SELECT coalesce(%s::integer,"
            " (extract(epoch FROM clock_timestamp() - now()) * 1000)::integer) AS execution_ms,"
            " %s::text AS version, %s::text AS name,"
            " %s::text AS checksum, %s::text AS actor, %s::text AS git_sha,"
            " %s::text AS tool_version),"
            " row AS (INSERT INTO {s}.applied (version, name, checksum, applied_by, execution_ms,"
            " git_sha, tool_version) SELECT version, name, checksum, actor, execution_ms, git_sha,"
            " tool_version FROM ms)"
            " INSERT INTO {s}.history (event, version, name, checksum, actor, git_sha, ci_run_url,"
            " execution_ms, tool_version) SELECT %s, version, name, checksum, actor, git_sha, %s,"
            " execution_ms, tool_version FROM ms RETURNING execution_ms"
        )

    def remove_applied(self, version: str) -> None:
        """Delete the applied row of ``version`` (rollback; caller's transaction)."""
        self.conn.execute(self._q("DELETE FROM {s}.applied WHERE version = %s"), (version,))

    def record_event(
        self,
        event: str,
        *,
        migration: Migration | None = None,
        version: str | None = None,
        name: str | None = None,
        detail: str | None = None,
        blocking: bool = False,
        execution_ms: int | None = None,
    ) -> None:
        """Append an event to the history (in the caller's transaction, or autocommit)."""
        ctx = context(self.root)
        if migration is not None:
            version, name = migration.version, migration.name
        self.conn.execute(
            self._q(
                "INSERT INTO {s}.history (event, version, name, checksum, actor, git_sha,"
                " ci_run_url, execution_ms, blocking, detail, tool_version)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            ),
            (
                event,
                version,
                name,
                migration.checksum if migration else None,
                ctx.actor,
                ctx.git_sha,
                ctx.ci_run_url,
                execution_ms,
                blocking,
                detail,
                __version__,
            ),
        )


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid{os.getuid()}"
