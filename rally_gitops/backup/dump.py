"""Running pg_dump and pg_restore for a backup: the streamed dump, the schema snapshot.

The schema snapshot (``.sql``) is the schema plus the ledger's rows (``applied``, ``history`` and
the history's id sequence): restoring it gives a database whose ledger says what its schema
holds. Without them, ``status`` would call every migration of a restored schema pending.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from rally_gitops.backup.store import sha256_of
from rally_gitops.errors import RallyError
from rally_gitops.postgres import tools as pgtools

TRAILER = b"PostgreSQL database dump complete"
_CHUNK = 1 << 20


def stream_dump(
    tool: pgtools.Tool,
    client: pgtools.ClientConn,
    options: list[str],
    path: Path,
    env: dict[str, str],
    lock_wait_s: float,
    *,
    read_back: pgtools.Tool | None = None,
    append: bool = False,
) -> str:
    """Run pg_dump into ``path`` (or after its content), hashing the bytes as they stream by.

    Hashing the stream costs no second read of the file. The file is fsynced, like pg_dump's own
    ``--file`` output. With ``read_back`` (pg_restore), the same bytes are fed to ``pg_restore
    -f /dev/null`` as they are written: it reads the whole archive, every data block, so a dump
    cut short (pg_dump exiting 0 with part of it written) fails here, not at restore time.
    Running alongside pg_dump, it costs little more than pg_dump alone.
    """
    lock_wait = f"--lock-wait-timeout={int(lock_wait_s * 1000)}"
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
            with open(path, "ab" if append else "wb") as out:
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
        if not append and path.stat().st_size == 0:
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


def schema_from_dump(
    pg_restore: pgtools.Tool, dump: Path, target: Path, env: dict[str, str], ledger: str | None
) -> None:
    """Render the schema snapshot from the custom-format ``dump``, plus the ledger's rows."""
    argv = [str(pg_restore.path), "--schema-only", "--file", str(target), str(dump)]
    pgtools.run(argv, env=env, what="pg_restore --schema-only")
    if ledger is not None:
        check_complete(target)  # the second part's trailer must not hide a short first part
        argv = [str(pg_restore.path), "--data-only", f"--schema={ledger}", "--file", "-"]
        rows = pgtools.run([*argv, str(dump)], env=env, what="pg_restore --data-only")
        with open(target, "ab") as out:
            out.write(rows.encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())


def check_complete(path: Path) -> None:
    """A plain dump ends with pg_dump's "dump complete" trailer; anything else was cut short."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        handle.seek(max(0, size - 4096))
        if TRAILER not in handle.read():
            raise RallyError(f"{path}: the schema snapshot is incomplete")


def describe_file(kind: str, path: Path, sha256: str | None) -> dict[str, Any]:
    """The manifest entry of one file; a schema snapshot must be complete."""
    size = path.stat().st_size
    if size == 0:
        raise RallyError(f"{path} is empty")
    if kind == "schema":
        check_complete(path)
    return {
        "kind": kind,
        "file": path.name,
        "format": "custom" if kind == "full" else "plain",
        "size": size,
        "sha256": sha256 or sha256_of(path),
    }
