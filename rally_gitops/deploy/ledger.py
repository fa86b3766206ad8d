"""The ledger: what was applied where, in the target database itself.

Two tables in the ledger schema (``rally_gitops`` by default):

- ``applied``: the applied set, one row per migration; written in the migration's own transaction.
- ``history``: an append-only log of every event (a trigger refuses UPDATE, DELETE and TRUNCATE).

A no-transaction migration writes a ``start`` event before it runs; if it fails or the process
dies, that event (or the ``failure`` after it) blocks further deploys until ``repair``.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import socket
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rally_gitops import __version__
from rally_gitops.config import find_root
from rally_gitops.deploy.rights import ledger_rights

if TYPE_CHECKING:
    import psycopg

    from rally_gitops.config import Config
    from rally_gitops.deploy.rights import LedgerRights
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
class Applied:
    """One row of the applied set."""

    version: str
    name: str
    checksum: str
    applied_at: dt.datetime
    applied_by: str
    execution_ms: int
    git_sha: str | None
    tool_version: str

    def as_json(self) -> dict[str, Any]:
        """The seed's ``applied_migrations.json`` entry."""
        return {
            "version": self.version,
            "name": self.name,
            "filename": f"{self.name}.sql",
            "checksum": self.checksum,
            "applied_at": self.applied_at.isoformat(),
            "applied_by": self.applied_by,
            "execution_ms": self.execution_ms,
            "git_sha": self.git_sha,
            "tool_version": self.tool_version,
        }


@dataclass(frozen=True)
class Event:
    """One row of the history."""

    id: int
    event: str
    version: str | None
    name: str | None
    at: dt.datetime
    actor: str
    detail: str | None


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


class Ledger:
    """The ledger in one database, through one connection."""

    def __init__(
        self, conn: psycopg.Connection, schema: str = "rally_gitops", root: Path | None = None
    ) -> None:
        from psycopg import sql

        self.conn = conn
        self.schema = schema
        self.root = root  # the project whose commit the rows and events record
        self._s = sql.Identifier(schema)
        self._exists = False  # once seen, the tables stay: no need to ask again
        self._rights: LedgerRights | None = None  # read with the first exists()

    @classmethod
    def for_config(cls, conn: psycopg.Connection, config: Config) -> Ledger:
        """The ledger of ``config``'s schema, recording ``config``'s project commit."""
        return cls(conn, config.ledger_schema, config.root)

    def _q(self, text: str) -> Any:
        from psycopg import sql

        return sql.SQL(text).format(s=self._s)

    def exists(self) -> bool:
        """True once the ledger tables were created in this database."""
        if not self._exists:
            # from the catalogs: to_regclass itself fails where the role lacks USAGE
            self._rights = ledger_rights(self.conn, self.schema)
            self._rights.require(write=False)
            self._exists = self._rights.exists
        return self._exists

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

    def applied(self) -> dict[str, Applied]:
        """The applied set by version (empty when there is no ledger yet)."""
        if not self.exists():
            return {}
        rows = self.conn.execute(
            self._q(
                "SELECT version, name, checksum, applied_at, applied_by, execution_ms, git_sha,"
                " tool_version FROM {s}.applied ORDER BY version"
            )
        ).fetchall()
        return {row[0]: Applied(*row) for row in rows}

    def blocking_event(self) -> Event | None:
        """The unresolved failure or interrupted run of a no-transaction migration, if any."""
        if not self.exists():
            return None
        row = self.conn.execute(
            self._q(
                "SELECT id, event, version, name, at, actor, detail, blocking FROM {s}.history"
                " WHERE blocking OR event IN ('repair', 'apply', 'baseline', 'restore')"
                " ORDER BY id DESC LIMIT 1"
            )
        ).fetchone()
        if row is None or not row[7]:
            return None
        return Event(*row[:7])

    def history(self, limit: int = 50) -> list[Event]:
        """The newest events first."""
        rows = self.conn.execute(
            self._q(
                "SELECT id, event, version, name, at, actor, detail FROM {s}.history"
                " ORDER BY id DESC LIMIT %s"
            ),
            (limit,),
        ).fetchall()
        return [Event(*row) for row in rows]

    def record_applied(
        self, migration: Migration, execution_ms: int | None, event: str = "apply"
    ) -> psycopg.Cursor[Any]:
        """Insert the applied row and its history event (in the caller's transaction).

        ``execution_ms=None`` lets the server measure it: the time since the transaction began
        (``now()``), so that the row can go out in the same pipeline as the migration. The
        cursor's one row is the ``execution_ms`` recorded.
        """
        ctx = context(self.root)
        return self.conn.execute(
            self._record_applied_sql,
            (
                execution_ms,
                migration.version,
                migration.name,
                migration.checksum,
                ctx.actor,
                ctx.git_sha,
                __version__,
                event,
                ctx.ci_run_url,
            ),
        )

    @cached_property
    def _record_applied_sql(self) -> Any:
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
