"""The ledger's rows and the reads of them, through any connection that runs a query.

``status`` and a deploy with nothing pending read through ``postgres.libpq`` (no psycopg
import); everything else through psycopg. Writes are ``deploy.ledger.Ledger``'s.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, NamedTuple

from rally_gitops.deploy.rights import ledger_rights

if TYPE_CHECKING:
    from rally_gitops.deploy.rights import LedgerRights
    from rally_gitops.postgres.libpq import Reader


class Applied(NamedTuple):
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


class Event(NamedTuple):
    """One row of the history."""

    id: int
    event: str
    version: str | None
    name: str | None
    at: dt.datetime
    actor: str
    detail: str | None


def quote_ident(name: str) -> str:
    """``name`` as a quoted SQL identifier (what psycopg's ``sql.Identifier`` sends)."""
    return '"' + name.replace('"', '""') + '"'


class LedgerReader:
    """The ledger of one database, read through one connection."""

    def __init__(self, conn: Reader, schema: str = "rally_gitops") -> None:
        self.conn = conn
        self.schema = schema
        self._exists = False  # once seen, the tables stay: no need to ask again
        self._rights: LedgerRights | None = None  # read with the first exists()

    def _q(self, text: str) -> str:
        """``text`` with ``{s}`` as the quoted ledger schema."""
        return text.format(s=quote_ident(self.schema))

    def exists(self) -> bool:
        """True once the ledger tables were created in this database."""
        if not self._exists:
            # from the catalogs: to_regclass itself fails where the role lacks USAGE
            self._rights = ledger_rights(self.conn, self.schema)
            self._rights.require(write=False)
            self._exists = self._rights.exists
        return self._exists

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
