"""Verified backups with pg_dump: taken before every deploy, proven good before anything changes.

``full`` is a custom-format dump (``-Fc``: compressed, restorable with pg_restore); ``schema`` is a
plain schema-only SQL snapshot (human-readable, diffable). With both, the snapshot is rendered from
the dump by ``pg_restore --schema-only``: one consistent snapshot, one pass over the data.

Settings: ``rally_gitops.backup_settings``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from rally_gitops import __version__
from rally_gitops.backup import store as backup_store
from rally_gitops.backup.settings import KINDS, check_no_backup, settings
from rally_gitops.backup.store import EXTENSIONS, BackupSet
from rally_gitops.config import Config
from rally_gitops.deploy.ledger import Ledger
from rally_gitops.errors import RallyError
from rally_gitops.git import head_sha
from rally_gitops.postgres import tools as pgtools
from rally_gitops.postgres.db import Target, connect, server_version
from rally_gitops.steps import Report

_CHUNK = 1 << 20


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
    with connect(target.url, autocommit=True, purpose="backup") as conn:
        version = server_version(conn)
        head = _ledger_head(conn, config.ledger_schema)
    major = int(version.split(".")[0])
    pg_dump = pgtools.find_tool("pg_dump", server_major=major, configured=opts.pg_dump)
    pg_restore = pgtools.find_tool(
        "pg_restore", server_major=pg_dump.major, configured=str(pg_dump.path)
    )
    directory = opts.directory(config.root, target.env.name)
    _prepare(directory)
    now = dt.datetime.now(dt.UTC)
    stem = backup_store.new_stem(directory, target.env.name, _short_sha(config.root), now)
    paths = {kind: directory / f"{stem}.{EXTENSIONS[kind]}" for kind in kinds}
    started = time.perf_counter()
    try:
        for path in paths.values():  # created 0600 first: the programs keep the mode
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        hashes: dict[str, str] = {}
        with pgtools.child_env(client.password) as env:
            if "full" in kinds:
                hashes["full"] = _dump(
                    pg_dump,
                    client,
                    ["--format=custom"],
                    paths["full"],
                    env,
                    config,
                    read_back=pg_restore,
                )
                if "schema" in kinds:  # the snapshot of the same dump: consistent and cheap
                    _schema_from_dump(pg_restore, paths["full"], paths["schema"], env)
            else:
                hashes["schema"] = _dump(
                    pg_dump, client, ["--schema-only"], paths["schema"], env, config
                )
        files = [_describe_file(kind, path, hashes.get(kind)) for kind, path in paths.items()]
        manifest = {
            "environment": target.env.name,
            "database": client.shown,
            "server_version": version,
            "pg_dump_version": pg_dump.version,
            "created_at": now.isoformat(timespec="seconds"),
            "ledger_head": head,
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


def _dump(
    tool: pgtools.Tool,
    client: pgtools.ClientConn,
    options: list[str],
    path: Path,
    env: dict[str, str],
    config: Config,
    *,
    read_back: pgtools.Tool | None = None,
) -> str:
    """Run pg_dump into ``path``, hashing the bytes as they stream by; their sha256.

    Hashing the stream costs no second read of the file. The file is fsynced, like pg_dump's own
    ``--file`` output. With ``read_back`` (pg_restore), the same bytes are fed to ``pg_restore
    -f /dev/null`` as they are written: it reads the whole archive, every data block, so a dump
    cut short (pg_dump exiting 0 with part of it written) fails here, not at restore time.
    Running alongside pg_dump, it costs little more than pg_dump alone.
    """
    lock_wait = f"--lock-wait-timeout={int(config.deploy_lock_wait * 1000)}"
    argv = [str(tool.path), *options, lock_wait, "--dbname", client.conninfo]
    digest = hashlib.sha256()
    with tempfile.TemporaryFile() as errors, tempfile.TemporaryFile() as read_errors:
        proc = pgtools.start(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors
        )
        reader = None
        if read_back is not None:
            reader = pgtools.start(
                [str(read_back.path), "--file", os.devnull],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=read_errors,
            )
        assert proc.stdout is not None
        with contextlib.suppress(OSError, AttributeError):  # fewer wake-ups; Linux only
            fcntl.fcntl(proc.stdout.fileno(), fcntl.F_SETPIPE_SZ, _CHUNK)
            if reader is not None and reader.stdin is not None:
                fcntl.fcntl(reader.stdin.fileno(), fcntl.F_SETPIPE_SZ, _CHUNK)
        try:
            with open(path, "wb") as out:
                feed = reader.stdin if reader is not None else None
                while chunk := proc.stdout.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    if feed is not None:
                        try:
                            feed.write(chunk)
                        except BrokenPipeError:  # it stopped reading: its exit code says why
                            feed = None
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            proc.kill()
            raise RallyError(f"cannot write {path}: {exc.strerror or exc}") from None
        finally:
            proc.stdout.close()
            proc.wait()
            if reader is not None:
                _close(reader)
        if proc.returncode != 0:
            errors.seek(0)
            raise RallyError(
                f"pg_dump failed (exit {proc.returncode}): {pgtools.last_lines(errors.read())}"
            )
        if path.stat().st_size == 0:
            raise RallyError(f"pg_dump exited 0 but wrote nothing to {path}")
        if reader is not None and reader.returncode != 0:
            read_errors.seek(0)
            raise RallyError(
                f"{path.name}: pg_restore cannot read the archive to its end (the dump is "
                f"incomplete or damaged): {pgtools.last_lines(read_errors.read())}"
            )
    return digest.hexdigest()


def _close(reader: subprocess.Popen[bytes]) -> None:
    """End pg_restore's input and wait for it to finish reading."""
    with contextlib.suppress(BrokenPipeError):
        if reader.stdin is not None:
            reader.stdin.close()
    reader.wait()


def _schema_from_dump(
    pg_restore: pgtools.Tool, dump: Path, target: Path, env: dict[str, str]
) -> None:
    argv = [str(pg_restore.path), "--schema-only", "--file", str(target), str(dump)]
    pgtools.run(argv, env=env, what="pg_restore --schema-only")


def _describe_file(kind: str, path: Path, sha256: str | None) -> dict[str, Any]:
    size = path.stat().st_size
    if size == 0:
        raise RallyError(f"{path} is empty")
    if kind == "schema":
        with open(path, "rb") as handle:
            handle.seek(max(0, size - 4096))
            if b"PostgreSQL database dump complete" not in handle.read():
                raise RallyError(f"{path}: the schema snapshot is incomplete")
    return {
        "kind": kind,
        "file": path.name,
        "format": "custom" if kind == "full" else "plain",
        "size": size,
        "sha256": sha256 or backup_store.sha256_of(path),
    }


def _ledger_head(conn: Any, schema: str) -> dict[str, Any]:
    applied = Ledger(conn, schema).applied()
    if not applied:
        return {"version": None, "name": None, "applied": 0}
    newest = applied[max(applied)]
    return {"version": newest.version, "name": newest.name, "applied": len(applied)}


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
