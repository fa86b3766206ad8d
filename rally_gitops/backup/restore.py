"""Restore a backup into a database: all or nothing, after a fresh backup of what it replaces.

One ``psql --single-transaction`` runs three parts: the preamble empties the database (every
non-system schema dropped; ``public`` recreated with its owner and privileges), then the backup
(``pg_restore -f -`` of the dump, or the schema snapshot), then the postamble
(``ledger_check.ledger_sql``): it checks the restored ledger against the manifest's ledger head,
carries the history events newer than the backup across and appends the ``restore`` event. If
anything fails, the transaction rolls back and the database is exactly as it was.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rally_gitops.backup.ledger_check import MISMATCH
from rally_gitops.backup.store import BackupSet
from rally_gitops.errors import RallyError
from rally_gitops.postgres import tools as pgtools

SYSTEM_SCHEMA_FILTER = (
    "nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_%'"
)


@dataclass(frozen=True)
class RestoreResult:
    """What was restored where."""

    backup: BackupSet
    kind: str
    database: str


def clean_sql(conn: Any) -> str:
    """SQL that empties the database but keeps ``public`` with its owner and privileges."""
    from psycopg import sql

    schemas = [
        row[0]
        for row in conn.execute(
            f"SELECT nspname FROM pg_namespace WHERE {SYSTEM_SCHEMA_FILTER} ORDER BY nspname"
        ).fetchall()
    ]
    # the notices of DROP ... CASCADE would only fill psql's stderr
    parts: list[sql.Composable] = [sql.SQL("SET client_min_messages = warning;")]
    parts += [
        sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE;").format(sql.Identifier(name))
        for name in schemas
    ]
    public = conn.execute(
        "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'"
    ).fetchone()
    # pg_dump leaves out the standard public schema, so it has to exist before the replay
    parts.append(sql.SQL("CREATE SCHEMA IF NOT EXISTS public;"))
    if public is not None:
        parts.append(sql.SQL("ALTER SCHEMA public OWNER TO {};").format(sql.Identifier(public[0])))
        parts.append(sql.SQL("REVOKE ALL ON SCHEMA public FROM PUBLIC;"))
        for grantee, privilege in conn.execute(
            "SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END,"
            " a.privilege_type FROM pg_namespace n, aclexplode(n.nspacl) a"
            " WHERE n.nspname = 'public'"
        ).fetchall():
            who = sql.SQL("PUBLIC") if grantee is None else sql.Identifier(grantee)
            parts.append(
                sql.SQL("GRANT {} ON SCHEMA public TO {};").format(sql.SQL(privilege), who)
            )
    return "\n".join(part.as_string(conn) for part in parts) + "\n"


def restore_backup(
    backup: BackupSet,
    url: str,
    conn: Any,
    *,
    owners: bool,
    configured: str | None,
    postamble: str,
) -> str:
    """Empty the database behind ``url``, load ``backup``, run ``postamble``; the kind used.

    All in one transaction (see the module).
    """
    kind = "full" if backup.path("full") is not None else "schema"
    source = backup.path(kind)
    assert source is not None
    client = pgtools.client_conn(url)
    psql = pgtools.find_tool("psql", server_major=None, configured=configured)
    with tempfile.TemporaryDirectory(prefix="rally-restore-") as tmp:
        preamble = Path(tmp) / "clean.sql"
        preamble.write_text(clean_sql(conn), encoding="utf-8")
        ending = Path(tmp) / "ledger.sql"
        ending.write_text(postamble, encoding="utf-8")
        psql_argv = [
            str(psql.path),
            "--no-psqlrc",
            "--quiet",
            "--single-transaction",
            "--set",
            "ON_ERROR_STOP=1",
            "--file",
            str(preamble),
        ]
        # stderr to files, not pipes: nobody reads a pipe while the SQL is being forwarded
        producer_err = open(Path(tmp) / "pg_restore.err", "w+b")  # noqa: SIM115 - closed below
        consumer_err = open(Path(tmp) / "psql.err", "w+b")  # noqa: SIM115 - closed below
        with producer_err, consumer_err, pgtools.child_env(client.password) as env:
            if kind == "full":
                pg_restore = pgtools.find_tool(
                    "pg_restore", server_major=_archive_major(backup), configured=configured
                )
                extra = [] if owners else ["--no-owner", "--no-privileges"]
                producer = pgtools.start(
                    [str(pg_restore.path), *extra, "--file", "-", str(source)],
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=producer_err,
                )
                psql_argv += ["--file", "-", "--file", str(ending)]
            else:
                producer = None
                psql_argv += ["--file", str(source), "--file", str(ending)]
            consumer = pgtools.start(
                [*psql_argv, "--dbname", client.conninfo],
                env=env,
                stdin=subprocess.PIPE if producer else subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=consumer_err,
            )
            producer_ok = _forward(producer, consumer) if producer is not None else True
            consumer.wait()
            producer_err.seek(0)
            producer_msg = pgtools.last_lines(producer_err.read())
            consumer_err.seek(0)
            psql_msg = pgtools.last_lines(consumer_err.read())
    if not producer_ok:
        raise RallyError(
            f"pg_restore could not read {source.name}: {producer_msg}; the restore was "
            "abandoned and the database is unchanged"
        )
    if consumer.returncode != 0 and MISMATCH in psql_msg:
        raise RallyError(
            f"restore of {source.name} is incomplete and was rolled back, the database is "
            f"unchanged: {psql_msg.split(MISMATCH, 1)[1].strip()}; the backup file is probably cut "
            "short: use another backup"
        )
    if consumer.returncode != 0:
        raise RallyError(
            f"restore of {source.name} failed and was rolled back, the database is unchanged: "
            f"{psql_msg}"
        )
    return kind


def _archive_major(backup: BackupSet) -> int | None:
    version = str(backup.manifest.get("pg_dump_version", ""))
    return int(version.split(".")[0]) if version[:1].isdigit() else None


def _forward(producer: subprocess.Popen[bytes], consumer: subprocess.Popen[bytes]) -> bool:
    """Copy pg_restore's SQL into psql; if pg_restore fails, kill psql before it can COMMIT.

    psql ends a ``--single-transaction`` run with COMMIT at end of input, so a truncated script
    must never reach its end: the killed session's transaction is rolled back by the server.
    """
    assert producer.stdout is not None and consumer.stdin is not None
    try:
        while chunk := producer.stdout.read(1 << 20):
            consumer.stdin.write(chunk)
    except BrokenPipeError:
        producer.stdout.close()
        producer.wait()  # it fails on the closed pipe; psql's own error is the one to report
        return True
    producer.stdout.close()
    if producer.wait() != 0:
        consumer.kill()
        consumer.wait()
        with contextlib.suppress(BrokenPipeError):
            consumer.stdin.close()
        return False
    try:
        consumer.stdin.close()
    except BrokenPipeError:
        pass
    return True
