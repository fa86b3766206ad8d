"""The backup directory: names, JSON manifests, listing, lookup, checksums and retention.

A backup set is ``<env>_backup_<YYYYMMDD_HHMMSS>_<short-sha>`` plus ``.dump`` (pg_dump custom
format), ``.sql`` (plain schema-only) or both, and ``.json``, the manifest, written last: a set
without a manifest is incomplete and is never listed or restored.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rally_gitops.errors import ConfigError, RallyError

EXTENSIONS = {"full": "dump", "schema": "sql"}
ORPHAN_AGE = 24 * 3600  # a backup running longer than a day is not plausible
_CHUNK = 1 << 20


@dataclass(frozen=True)
class BackupSet:
    """One backup (one or two files) as described by its manifest."""

    stem: str
    directory: Path
    manifest: dict[str, Any]

    @property
    def manifest_path(self) -> Path:
        return self.directory / f"{self.stem}.json"

    @property
    def files(self) -> list[dict[str, Any]]:
        return list(self.manifest.get("files", []))

    def path(self, kind: str) -> Path | None:
        """The file of ``kind`` (``full`` or ``schema``) in this set, if it has one."""
        for entry in self.files:
            if entry.get("kind") == kind:
                return self.directory / str(entry["file"])
        return None

    @property
    def size(self) -> int:
        return sum(int(entry.get("size", 0)) for entry in self.files)

    @property
    def created_at(self) -> dt.datetime:
        return dt.datetime.fromisoformat(str(self.manifest["created_at"]))

    @property
    def head(self) -> str:
        """The newest applied migration the backup captured, for display."""
        head = self.manifest.get("ledger_head") or {}
        if not head.get("version"):
            return "no migrations applied"
        # no parentheses of its own: callers put it in theirs
        return f"{head.get('applied', '?')} applied, newest {head.get('name') or head['version']}"


def new_stem(directory: Path, env: str, short_sha: str, now: dt.datetime) -> str:
    """A name not used yet in ``directory`` (a second backup within the same second gets ``-2``)."""
    stem = f"{env}_backup_{now:%Y%m%d_%H%M%S}_{short_sha}"
    candidate, n = stem, 1
    while any((directory / f"{candidate}.{ext}").exists() for ext in ("json", "dump", "sql")):
        n += 1
        candidate = f"{stem}-{n}"
    return candidate


def sha256_of(path: Path) -> str:
    """The sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(directory: Path, stem: str, manifest: dict[str, Any]) -> BackupSet:
    """Write the manifest atomically (temp file, fsync, rename); the set is complete after this."""
    final = directory / f"{stem}.json"
    temp = directory / f".{stem}.json.tmp"
    fd = os.open(temp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    with open(fd, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, final)
    return BackupSet(stem, directory, manifest)


def read_manifest(path: Path) -> BackupSet:
    """The backup set described by the manifest at ``path``."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RallyError(f"{path}: not a readable backup manifest ({exc})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        raise RallyError(f"{path}: not a rally-gitops backup manifest")
    return BackupSet(path.name.removesuffix(".json"), path.parent, manifest)


def verify(backup: BackupSet) -> None:
    """Every file exists, is non-empty and has the sha256 the manifest recorded."""
    for entry in backup.files:
        path = backup.directory / str(entry["file"])
        if not path.is_file() or path.stat().st_size == 0:
            raise RallyError(f"backup {backup.stem}: {path} is missing or empty")
        if sha256_of(path) != entry.get("sha256"):
            raise RallyError(
                f"backup {backup.stem}: {path.name} does not match the sha256 in its manifest "
                "(the file was changed or damaged); use another backup"
            )


def check_written(backup: BackupSet) -> None:
    """Read the manifest back from disk: each file's sha256 and size must be the ones recorded.

    The hashes were computed from the files on disk once pg_dump had synced them; ``verify``
    (run before every restore) hashes the files again.
    """
    on_disk = read_manifest(backup.manifest_path)
    if on_disk.files != backup.files:
        raise RallyError(
            f"backup {backup.stem}: the manifest read back differs from the one written"
        )
    for entry in on_disk.files:
        path = backup.directory / str(entry["file"])
        if not entry.get("sha256") or path.stat().st_size != entry.get("size"):
            raise RallyError(f"backup {backup.stem}: {path.name} changed while it was verified")


def list_sets(directory: Path, env: str) -> list[BackupSet]:
    """The complete backup sets of ``env`` in ``directory``, oldest first."""
    if not directory.is_dir():
        return []
    pattern = re.compile(rf"^{re.escape(env)}_backup_\d{{8}}_\d{{6}}_[\w-]+\.json$")
    sets = []
    for path in sorted(directory.iterdir()):
        if pattern.match(path.name):
            try:
                sets.append(read_manifest(path))
            except RallyError:
                continue  # a damaged manifest is not a backup we can offer
    return sorted(sets, key=lambda s: (str(s.manifest.get("created_at", "")), s.stem))


def find(directory: Path, env: str, ref: str) -> BackupSet:
    """A backup by name, ``latest``, or the path of any of its files (manifest, .dump, .sql)."""
    sets = list_sets(directory, env)
    if ref == "latest":
        if not sets:
            raise ConfigError(f"no backups of {env} in {directory}")
        return sets[-1]
    path = Path(ref).expanduser()
    if path.suffix in (".json", ".dump", ".sql") and path.exists():
        return read_manifest(path.with_suffix(".json"))
    for backup in sets:
        if backup.stem == ref.removesuffix(".json").removesuffix(".dump").removesuffix(".sql"):
            return backup
    names = ", ".join(s.stem for s in reversed(sets[-3:])) or "none"  # newest first
    raise ConfigError(
        f"no backup {ref!r} of {env} in {directory} (newest: {names}); "
        f"see `rally-gitops backups --env {env}`"
    )


def remove(backup: BackupSet) -> None:
    """Delete the set's files, manifest last (so a half-deleted set is never listed as whole)."""
    for entry in backup.files:
        (backup.directory / str(entry["file"])).unlink(missing_ok=True)
    backup.manifest_path.unlink(missing_ok=True)


def prune(directory: Path, env: str, keep: int) -> list[BackupSet]:
    """Delete all but the newest ``keep`` sets of ``env`` (0 keeps all); returns the deleted."""
    _remove_orphans(directory, env)
    sets = list_sets(directory, env)
    if keep <= 0 or len(sets) <= keep:
        return []
    doomed = sets[: len(sets) - keep]
    for backup in doomed:
        remove(backup)
    return doomed


def _remove_orphans(directory: Path, env: str) -> None:
    """Delete files a killed backup left without a manifest, once they are a day old."""
    cutoff = time.time() - ORPHAN_AGE
    for path in directory.glob(f"{env}_backup_*"):
        if path.suffix in (".dump", ".sql") and not path.with_suffix(".json").exists():
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()


def human_size(size: int) -> str:
    """``1.2 MB`` style size."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def human_age(created: dt.datetime, now: dt.datetime | None = None) -> str:
    """``3m``, ``5h``, ``2d`` since ``created``."""
    seconds = int(((now or dt.datetime.now(dt.UTC)) - created).total_seconds())
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= length:
            return f"{seconds // length}{unit}"
    return f"{max(seconds, 0)}s"


def backup_lines(env: str, directory: Path, sets: list[BackupSet]) -> Iterator[str]:
    """The table of ``rally-gitops backups`` (also shown by ``rollback`` without a target)."""
    if not sets:
        yield f"{env}: no backups in {directory}"
        return
    yield f"{env}: {len(sets)} backup(s) in {directory}, newest first"
    yield f"  {'NAME':<44} {'KINDS':<12} {'SIZE':>9} {'AGE':>5}  LEDGER HEAD"
    for item in sets:
        kinds = "+".join(str(f.get("kind")) for f in item.files)
        yield (
            f"  {item.stem:<44} {kinds:<12} {human_size(item.size):>9} "
            f"{human_age(item.created_at):>5}  {item.head}"
            + (f"  [{item.manifest['reason']}]" if item.manifest.get("reason") else "")
        )
