"""What a restore does to the ledger, as SQL run in the restore's own transaction.

After the backup is loaded, and before anything commits:

1. the restored ledger must match the manifest's ledger head (number of applied migrations and
   the newest one): a backup cut short loses its ledger rows, which come last, so a partial
   restore is rolled back instead of reported as done;
2. the history is append-only, also across a restore: the events of the database being replaced
   that are newer than the backup (their ids are above the restored history's highest) are
   carried across with their ids, times and actors;
3. a ``restore`` event is appended. It is blocking when the backup's own state was (an
   unresolved no-transaction migration), so ``repair`` still has to clear it; otherwise it
   clears a block that only the carried events had.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from rally_gitops import __version__
from rally_gitops.backup.store import BackupSet
from rally_gitops.deploy.ledger import LEDGER_DDL, context

MISMATCH = "rally-gitops restore check:"  # the check's exception, told apart from others
COLUMNS = (
    ("id", "bigint"),
    ("event", "text"),
    ("version", "text"),
    ("name", "text"),
    ("checksum", "text"),
    ("at", "timestamptz"),
    ("actor", "text"),
    ("git_sha", "text"),
    ("ci_run_url", "text"),
    ("execution_ms", "integer"),
    ("blocking", "boolean"),
    ("detail", "text"),
    ("tool_version", "text"),
)


def current_history(conn: Any, schema: str) -> list[tuple[Any, ...]]:
    """Every history row of the database about to be replaced (none without a ledger)."""
    from psycopg import sql

    exists = conn.execute("SELECT to_regclass(%s)", (_qualified(conn, schema, "history"),))
    if exists.fetchone()[0] is None:
        return []
    names = sql.SQL(", ").join(sql.Identifier(name) for name, _ in COLUMNS)
    query = sql.SQL("SELECT {} FROM {}.history ORDER BY id").format(names, sql.Identifier(schema))
    return list(conn.execute(query).fetchall())


def ledger_sql(
    conn: Any, schema: str, backup: BackupSet, rows: list[tuple[Any, ...]], detail: str, root: Path
) -> str:
    """The postamble: check the restored ledger, carry ``rows`` newer than it, add the event."""
    from psycopg import sql

    s = sql.Identifier(schema)
    body = [_check(conn, schema, backup.manifest.get("ledger_head"))]
    body.append(  # a backup from before the first deploy has no ledger: one holds the history
        sql.SQL("IF to_regclass({}) IS NULL THEN EXECUTE {}; END IF;").format(
            sql.Literal(_qualified(conn, schema, "history")),
            sql.Literal(sql.SQL(LEDGER_DDL).format(s=s).as_string(conn)),
        )
    )
    body.append(
        sql.SQL(
            "SELECT coalesce(max(id), 0) INTO restored_max FROM {s}.history;"
            " SELECT blocking, version, name INTO b_blocking, b_version, b_name FROM {s}.history"
            " WHERE blocking OR event IN ('repair', 'apply', 'baseline', 'restore')"
            " ORDER BY id DESC LIMIT 1;"
        ).format(s=s)
    )
    if rows:
        body.append(_carry(s, rows))
    body.append(_restore_event(conn, schema, detail, root))
    tag = f"$rally_{uuid.uuid4().hex}$"  # no literal inside can end the block early
    return (
        f"DO {tag}\nDECLARE n bigint := 0; newest text; restored_max bigint;"
        " b_blocking boolean; b_version text; b_name text;\nBEGIN\n"
        + "\n".join(part.as_string(conn) for part in body)
        + f"\nEND {tag};\n"
    )


def _check(conn: Any, schema: str, head: dict[str, Any] | None) -> Any:
    """Raise (rolling the restore back) unless the restored ledger is the manifest's."""
    from psycopg import sql

    if head is None:  # not a manifest of ours: nothing to compare with
        return sql.SQL("")
    expected_n, expected_v = int(head.get("applied") or 0), head.get("version")
    shown = f"{expected_n} (newest {expected_v or 'none'})".replace("'", "''").replace("%", "%%")
    return sql.SQL(
        "IF to_regclass({applied}) IS NOT NULL THEN EXECUTE {count} INTO n, newest; END IF;"
        " IF n <> {n} OR newest IS DISTINCT FROM {v} THEN RAISE EXCEPTION"
        " '% the restored ledger has % applied migration(s) (newest %), the manifest says"
        " {shown}', {marker}, n, coalesce(newest, 'none'); END IF;"
    ).format(
        applied=sql.Literal(_qualified(conn, schema, "applied")),
        count=sql.Literal(
            sql.SQL("SELECT count(*), max(version) FROM {}.applied")
            .format(sql.Identifier(schema))
            .as_string(conn)
        ),
        n=sql.Literal(expected_n),
        v=sql.Literal(expected_v),
        shown=sql.SQL(shown),
        marker=sql.Literal(MISMATCH),
    )


def _carry(s: Any, rows: list[tuple[Any, ...]]) -> Any:
    """Insert the replaced database's events above the restored history's highest id."""
    from psycopg import sql

    columns = sql.SQL(", ").join(sql.Identifier(name) for name, _ in COLUMNS)
    typed = sql.SQL(", ").join(  # a column of NULLs in VALUES would be text
        sql.SQL("v.{}::{}").format(sql.Identifier(name), sql.SQL(kind)) for name, kind in COLUMNS
    )
    values = sql.SQL(", ").join(
        sql.SQL("({})").format(sql.SQL(", ").join(sql.Literal(value) for value in row))
        for row in rows
    )
    return sql.SQL(
        "INSERT INTO {s}.history ({columns}) OVERRIDING SYSTEM VALUE"
        " SELECT {typed} FROM (VALUES {values}) AS v({columns})"
        " WHERE v.id::bigint > restored_max ORDER BY v.id::bigint;"
    ).format(s=s, columns=columns, typed=typed, values=values)


def _restore_event(conn: Any, schema: str, detail: str, root: Path) -> Any:
    """The ``restore`` event after the others (the id sequence moved past the carried ones)."""
    from psycopg import sql

    ctx = context(root)
    return sql.SQL(
        "PERFORM setval(pg_get_serial_sequence({history}, 'id'),"
        " (SELECT coalesce(max(id), 0) + 1 FROM {s}.history), false);"
        " INSERT INTO {s}.history (event, version, name, actor, git_sha, ci_run_url, blocking,"
        " detail, tool_version) VALUES ('restore', CASE WHEN b_blocking THEN b_version END,"
        " CASE WHEN b_blocking THEN b_name END, {actor}, {sha}, {url},"
        " coalesce(b_blocking, false), {detail}, {tool});"
    ).format(
        s=sql.Identifier(schema),
        history=sql.Literal(_qualified(conn, schema, "history")),
        actor=sql.Literal(ctx.actor),
        sha=sql.Literal(ctx.git_sha),
        url=sql.Literal(ctx.ci_run_url),
        detail=sql.Literal(detail),
        tool=sql.Literal(__version__),
    )


def _qualified(conn: Any, schema: str, table: str) -> str:
    from psycopg import sql

    return f"{sql.Identifier(schema).as_string(conn)}.{table}"
