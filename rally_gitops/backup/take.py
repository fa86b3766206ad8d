"""Verified backups with pg_dump: taken before every deploy, proven good before anything changes.

``full`` is a custom-format dump (``-Fc``: compressed, restorable with pg_restore); ``schema`` is a
plain schema-only SQL snapshot (human-readable, diffable). With both, the snapshot is rendered from
the dump by ``pg_restore --schema-only``: one consistent snapshot, one pass over the data.

Settings: ``rally_gitops.backup.settings``; running pg_dump and pg_restore: ``backup.dump``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rally_gitops import __version__
from rally_gitops.backup import store as backup_store
from rally_gitops.backup.dump import check_complete, describe_file, schema_from_dump, stream_dump
from rally_gitops.backup.settings import KINDS, check_no_backup, settings
from rally_gitops.backup.store import EXTENSIONS, BackupSet
from rally_gitops.config import Config
from rally_gitops.deploy.ledger import Ledger
from rally_gitops.errors import RallyError
from rally_gitops.git import head_sha
from rally_gitops.postgres import tools as pgtools
from rally_gitops.postgres.db import Target, connect, server_version
from rally_gitops.steps import Report


def take_backup(
    config: Config,
    target: Target,
    *,
    kinds: tuple[str, ...] | None = None,
    reason: str = "manual",
    report: Any = None,
) -> BackupSet:
    """Dump ``target``, verify every file, write the manifest, apply retention; the new set.

    Any failure removes what was written and raises ``RallyError``.
    """
    opts = settings(config)
    kinds = tuple(k for k in KINDS if k in (kinds or opts.kinds_for(target.env.name)))
    client = pgtools.client_conn(target.url)
    directory = opts.directory(config.root, target.env.name)
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    with connect(target.url, autocommit=True, purpose="backup") as conn:
        version = server_version(conn)
        # one snapshot for the ledger head recorded in the manifest and every pg_dump run
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        exported = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert exported is not None  # one row, always
        snapshot = str(exported[0])
        head = _ledger_head(conn, config.ledger_schema)
        major = int(version.split(".")[0])
        pg_dump = pgtools.find_tool("pg_dump", server_major=major, configured=opts.pg_dump)
        pg_restore = pgtools.find_tool(
            "pg_restore", server_major=pg_dump.major, configured=str(pg_dump.path)
        )
        _prepare(directory)
        stem = backup_store.new_stem(directory, target.env.name, _short_sha(config.root), now)
        paths = {kind: directory / f"{stem}.{EXTENSIONS[kind]}" for kind in kinds}
        try:
            ledger = config.ledger_schema if head["exists"] else None
            dumper = _Dumper(pg_dump, client, config.deploy_lock_wait, snapshot)
            files = _write_files(dumper, pg_restore, paths, ledger)
            manifest = {
                "environment": target.env.name,
                "database": client.shown,
                "server_version": version,
                "pg_dump_version": pg_dump.version,
                "created_at": now.isoformat(timespec="seconds"),
                "ledger_head": {k: v for k, v in head.items() if k != "exists"},
                "files": files,
                "reason": reason,
                "tool_version": __version__,
            }
            backup = backup_store.write_manifest(directory, stem, manifest)
            backup_store.check_written(backup)
        except BaseException:
            for path in (*paths.values(), directory / f"{stem}.json"):
                path.unlink(missing_ok=True)
            raise
    pruned = backup_store.prune(directory, target.env.name, opts.keep)
    if report is not None:
        sizes = ", ".join(f"{f['kind']} {backup_store.human_size(f['size'])}" for f in files)
        report(
            f"Backup {stem} ({sizes}) verified in {time.perf_counter() - started:.1f}s: "
            f"{_relative(directory, config.root)}"
            + (f"; {len(pruned)} old backup(s) removed (keep = {opts.keep})" if pruned else "")
        )
    return backup


def _prepare(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o700)  # backups hold data
        probe = directory / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise RallyError(
            f"cannot write backups to {directory}: {exc.strerror or exc}; fix the directory or "
            "set [tool.rally_gitops.backup] dir"
        ) from None


@dataclass(frozen=True)
class _Dumper:
    """pg_dump with the connection, lock wait and snapshot every run of one backup shares."""

    tool: pgtools.Tool
    client: pgtools.ClientConn
    lock_wait_s: float
    snapshot: str

    def run(self, options: list[str], path: Path, env: dict[str, str], **kwargs: Any) -> str:
        """One pg_dump run into ``path``; the sha256 of what it wrote."""
        return stream_dump(
            self.tool,
            self.client,
            [*options, f"--snapshot={self.snapshot}"],
            path,
            env,
            self.lock_wait_s,
            **kwargs,
        )


def _write_files(
    dumper: _Dumper, pg_restore: pgtools.Tool, paths: dict[str, Path], ledger: str | None
) -> list[dict[str, Any]]:
    """Dump into ``paths`` (created 0600 first: the programs keep the mode); their entries."""
    for path in paths.values():
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    hashes: dict[str, str] = {}
    with pgtools.child_env(dumper.client.password) as env:
        if "full" in paths:
            hashes["full"] = dumper.run(
                ["--format=custom"], paths["full"], env, read_back=pg_restore
            )
            if "schema" in paths:  # the snapshot of the same dump: consistent and cheap
                schema_from_dump(pg_restore, paths["full"], paths["schema"], env, ledger)
        else:
            dumper.run(["--schema-only"], paths["schema"], env)
            if ledger is not None:  # the ledger's rows, in the same snapshot
                check_complete(paths["schema"])
                dumper.run(["--data-only", f"--schema={ledger}"], paths["schema"], env, append=True)
    return [describe_file(kind, path, hashes.get(kind)) for kind, path in paths.items()]


def _ledger_head(conn: Any, schema: str) -> dict[str, Any]:
    ledger = Ledger(conn, schema)
    applied = ledger.applied()
    if not applied:
        return {"version": None, "name": None, "applied": 0, "exists": ledger.exists()}
    newest = applied[max(applied)]
    return {
        "version": newest.version,
        "name": newest.name,
        "applied": len(applied),
        "exists": True,
    }


def _short_sha(root: Path) -> str:
    """Seven hex digits of the commit for the file name (anything else is no name part)."""
    sha = (head_sha(root) or "").lower()
    return sha[:7] if re.fullmatch(r"[0-9a-f]{7,64}", sha) else "nogit"


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def backup_before_change(
    config: Config, target: Target, *, no_backup: bool, what: str, report: Report
) -> None:
    """The first step of a deploy/rollback: a verified backup, or an error that stops it."""
    check_no_backup(config, target.env, no_backup)
    if no_backup:
        report(f"No backup of {target.env.name} (--no-backup)")
        return
    try:
        take_backup(config, target, reason=f"before {what}", report=report)
    except RallyError as exc:
        done = "rolled back" if what == "rollback" else "applied"
        raise type(exc)(
            f"backup before {what} failed, nothing was {done}: {exc}", exit_code=exc.exit_code
        ) from None
