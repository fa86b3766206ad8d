"""Helpers for the backup, restore, rollback and promotion tests: schema dumps, row counts."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psycopg

from rally_gitops.postgres.embedded import bin_dir


def schema_dump(url: str, *, exclude: tuple[str, ...] = ()) -> str:
    """``pg_dump --schema-only`` of ``url`` without the per-run ``\\restrict`` key lines."""
    from rally_gitops.postgres.tools import child_env, client_conn

    client = client_conn(url)
    argv = [str(bin_dir() / "pg_dump"), "--schema-only", "--no-comments"]
    argv += [f"--exclude-schema={name}" for name in exclude]
    with child_env(client.password) as env:
        text = subprocess.run(
            [*argv, "--dbname", client.conninfo],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return "\n".join(
        ln for ln in text.splitlines() if not ln.startswith(("\\restrict", "\\unrestrict"))
    )


def row_counts(url: str, *, exclude: tuple[str, ...] = ()) -> dict[str, int]:
    """Rows per user table, ``schema.table`` -> count."""
    counts = {}
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT schemaname, tablename FROM pg_tables"
            " WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
        ).fetchall()
        for schema, table in tables:
            if schema in exclude:
                continue
            row = conn.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()
            counts[f"{schema}.{table}"] = row[0] if row else 0
    return counts


def add_backup_config(project: Path, lines: str) -> None:
    """Append a ``[tool.rally_gitops.backup]`` table to the scratch project's pyproject.toml."""
    path = project / "pyproject.toml"
    path.write_text(path.read_text() + f"\n[tool.rally_gitops.backup]\n{lines}\n")


def fake_pg_dump(directory: Path, *, version: str, body: str) -> Path:
    """An executable ``pg_dump`` that reports ``version`` and runs the shell ``body`` otherwise."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "pg_dump"
    path.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) {version}"; exit 0; fi\n'
        f"{body}\n"
    )
    path.chmod(0o755)
    return path


def backup_files(directory: Path) -> list[str]:
    """The names of the files in a backup directory (empty when it does not exist)."""
    return sorted(os.listdir(directory)) if directory.is_dir() else []


def ledger_rows(url: str) -> int | None:
    """Applied rows in the ledger; None when there is no ledger."""
    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('rally_gitops.applied')").fetchone()
        if not exists or exists[0] is None:
            return None
        row = conn.execute("SELECT count(*) FROM rally_gitops.applied").fetchone()
        return row[0] if row else 0


def user_tables(url: str) -> list[str]:
    """Tables in ``public``."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall()
    return [row[0] for row in rows]
