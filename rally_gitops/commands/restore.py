"""``rally-gitops restore --env E BACKUP [--into URL]``: replace a database with a backup."""

from __future__ import annotations

import argparse

from rally_gitops.backup import store as backup_store
from rally_gitops.backup.ledger_check import current_history, ledger_sql
from rally_gitops.backup.restore import restore_backup
from rally_gitops.backup.settings import settings
from rally_gitops.backup.take import take_backup
from rally_gitops.cli import add_env, add_yes, confirm, load_config, out
from rally_gitops.config import Config
from rally_gitops.deploy.lock import deploy_lock
from rally_gitops.postgres.db import Target, connect, resolve, validate_url
from rally_gitops.postgres.tools import client_conn


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "restore", help="restore a backup (after a fresh backup of the current state)"
    )
    add_env(parser)
    add_yes(parser)
    parser.add_argument(
        "backup",
        metavar="BACKUP",
        help="backup name (see `backups`), `latest`, or the path of its file",
    )
    parser.add_argument(
        "--into",
        metavar="URL",
        help="restore into this database instead (e.g. a scratch one to inspect)",
    )
    parser.set_defaults(
        run=lambda a: restore(load_config(a), a.env, a.backup, into=a.into, yes=a.yes)
    )


def restore(
    config: Config, env: str, backup: str, *, into: str | None = None, yes: bool = False
) -> int:
    """Verify the backup, confirm by database name, back up the current state, then replay."""
    opts = settings(config)
    chosen = backup_store.find(opts.directory(config.root, env), env, backup)
    backup_store.verify(chosen)
    if into is not None:
        validate_url(into, "--into")
        target = Target(env=config.environment(env), url=into)
    else:
        target = resolve(config, env)
    client = client_conn(target.url)
    only_schema = chosen.path("full") is None
    with connect(target.url, autocommit=True, purpose="restore") as conn:
        row = conn.execute("SELECT current_database()").fetchone()
        assert row is not None  # one row, always
        database = str(row[0])
        confirm(
            f"Restore {chosen.stem} (taken {chosen.created_at:%Y-%m-%d %H:%M} UTC; "
            f"{chosen.head}) into database {database} at {client.shown}.\n"
            f"Everything now in {database} is replaced"
            + (" and its data is LOST: this backup holds the schema only." if only_schema else ".")
            + ("" if into else " A backup of the current state is taken first."),
            database,
            yes=yes,
        )
        with deploy_lock(conn, config.ledger_schema, config.deploy_lock_wait):
            undo = None
            if into is None:
                undo = take_backup(
                    config,
                    target,
                    kinds=("full",),
                    reason=f"before restore of {chosen.stem}",
                    report=out,
                )
            out(f"Restoring {chosen.stem} into {database} (one transaction)...")
            # read under the lock: no event can be added between this and the restore
            carried = current_history(conn, config.ledger_schema)
            detail = f"restored backup {chosen.stem}" + (
                f"; state before it: backup {undo.stem}" if undo else ""
            )
            restore_backup(
                chosen,
                target.url,
                conn,
                owners=into is None,
                configured=opts.pg_dump,
                postamble=ledger_sql(
                    conn, config.ledger_schema, chosen, carried, detail, config.root
                ),
            )
    out(f"Restored {chosen.stem} into {database} ({chosen.head}).")
    if undo is not None:
        out(f"To undo: rally-gitops restore --env {env} {undo.stem}")
    return 0
