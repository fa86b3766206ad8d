"""What the connected role may do with the ledger, and the GRANTs that would let it.

Read from the catalogs in one round trip, so it works even where the role may not look inside
the ledger schema (``to_regclass`` and every query on the tables fail there with
``permission denied for schema``). ``Ledger`` asks once per connection; ``check`` shows it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

from rally_gitops.errors import DatabaseError

if TYPE_CHECKING:
    from rally_gitops.postgres.libpq import Reader

_RIGHTS_SQL = """
SELECT current_user, current_database(), n.oid IS NOT NULL, pg_get_userbyid(n.nspowner),
       coalesce(has_schema_privilege(n.oid, 'USAGE'), false),
       a.oid IS NOT NULL AND h.oid IS NOT NULL,
       coalesce(has_table_privilege(a.oid, 'SELECT'), false),
       coalesce(has_table_privilege(a.oid, 'INSERT') AND has_table_privilege(a.oid, 'DELETE'),
                false),
       coalesce(has_table_privilege(h.oid, 'SELECT'), false),
       coalesce(has_table_privilege(h.oid, 'INSERT'), false),
       has_database_privilege(current_database(), 'CREATE')
FROM (SELECT 1) AS one
LEFT JOIN pg_namespace n ON n.nspname = %s
LEFT JOIN pg_class a ON a.relnamespace = n.oid AND a.relname = 'applied'
LEFT JOIN pg_class h ON h.relnamespace = n.oid AND h.relname = 'history'
"""
_PLAIN = re.compile(r"^[a-z_][a-z0-9_$]*$")


class LedgerRights(NamedTuple):
    """The connected role's rights on the ledger schema of one database."""

    role: str
    database: str
    schema: str
    owner: str | None  # owner of the ledger schema (None: no schema yet)
    usage: bool
    exists: bool  # both tables are there
    read_applied: bool
    write_applied: bool  # INSERT and DELETE (deploy, rollback)
    read_history: bool
    write_history: bool
    create: bool  # CREATE on the database: may make the ledger when there is none

    @property
    def readable(self) -> bool:
        """May read the applied set and the history (status, check, the start of deploy)."""
        return self.usage and self.read_applied and self.read_history

    @property
    def writable(self) -> bool:
        """May record what it applies (deploy, baseline, repair, rollback)."""
        return self.readable and self.write_applied and self.write_history

    def problem(self, *, write: bool) -> str | None:
        """One sentence with the missing rights and the GRANTs that give them; None when none."""
        if not self.exists:
            if not write or self.create:
                return None
            return (
                f"role {_ident(self.role)} may not create the ledger schema {self.schema} in "
                f"database {self.database}: GRANT CREATE ON DATABASE {_ident(self.database)} TO "
                f"{_ident(self.role)}; (or deploy once with the database owner's role)"
            )
        if self.readable and (self.writable or not write):
            return None
        verb = "write" if self.readable else "read"
        role, s = _ident(self.role), self.schema
        grants = [f"GRANT USAGE ON SCHEMA {s} TO {role}"]
        if write:
            grants += [
                f"GRANT SELECT, INSERT, DELETE ON {s}.applied TO {role}",
                f"GRANT SELECT, INSERT ON {s}.history TO {role}",
            ]
        else:
            grants.append(f"GRANT SELECT ON {s}.applied, {s}.history TO {role}")
        who = f" (as {_ident(self.owner)}, the schema's owner)" if self.owner else ""
        return f"role {role} may not {verb} the ledger schema {s}: " + "; ".join(grants) + f";{who}"

    def require(self, *, write: bool) -> None:
        """Raise ``DatabaseError`` naming the GRANTs when the role lacks what it needs."""
        problem = self.problem(write=write)
        if problem is not None:
            raise DatabaseError(problem)


def ledger_rights(conn: Reader, schema: str) -> LedgerRights:
    """The connected role's rights on ``schema`` (catalog reads only, one round trip)."""
    row = conn.execute(_RIGHTS_SQL, (schema,)).fetchone()
    assert row is not None  # one row from (SELECT 1)
    role, database, has_schema, owner, usage, exists, *tables, create = row
    return LedgerRights(
        role=role,
        database=database,
        schema=schema,
        owner=owner if has_schema else None,
        usage=bool(usage),
        exists=bool(exists),
        read_applied=bool(tables[0]),
        write_applied=bool(tables[1]),
        read_history=bool(tables[2]),
        write_history=bool(tables[3]),
        create=bool(create),
    )


def _ident(name: str) -> str:
    """``name`` as SQL would need it in a GRANT (quoted unless plain lower case)."""
    return name if _PLAIN.match(name) else '"' + name.replace('"', '""') + '"'
