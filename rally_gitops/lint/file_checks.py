"""Layer 1: is this a well-formed migration file at all?

Name, encoding, size, header, transaction structure, rollback section and what psql would run.
Works on bytes so that every broken file yields findings, never an exception.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from rally_gitops.files.migrations import NAME_RE, Migration, parse
from rally_gitops.lint.model import Finding
from rally_gitops.lint.settings import CodeInfo
from rally_gitops.lint.transactions import check_transactions

CODES = {
    info.code: info
    for info in (
        CodeInfo("file-name", "error", True, "file name is not YYYYMMDD_HHMMSS_<slug>.sql", "file"),
        CodeInfo("file-unreadable", "error", True, "the file cannot be read", "file"),
        CodeInfo("file-empty", "error", True, "empty file, or no SQL in the up part", "file"),
        CodeInfo("file-too-large", "error", True, "file over max_file_bytes", "file"),
        CodeInfo("file-encoding", "error", True, "not UTF-8 text (or has NUL bytes)", "file"),
        CodeInfo(
            "header-migration", "error", True, "-- Migration: missing or not the file name", "file"
        ),
        CodeInfo("header-description", "error", True, "-- Description: missing or empty", "file"),
        CodeInfo(
            "transaction-unbalanced",
            "error",
            True,
            "BEGIN/COMMIT unbalanced, nested or in the middle of the file",
            "file",
        ),
        CodeInfo(
            "no-transaction-begin",
            "error",
            True,
            "transaction control in a -- rally:no-transaction file",
            "file",
        ),
        CodeInfo(
            "transaction-missing",
            "warning",
            True,
            "no BEGIN/COMMIT and no -- rally:no-transaction",
            "file",
        ),
        CodeInfo("rollback-missing", "warning", True, "no rollback section", "file"),
        CodeInfo("live-sql-after-up", "error", True, "uncommented SQL after the up part", "file"),
        CodeInfo("duplicate-version", "error", True, "two migration files share a version", "file"),
    )
}
# Findings that depend on splitting the up part into statements.
STRUCTURE_CODES = frozenset(
    {"file-empty", "transaction-unbalanced", "no-transaction-begin", "transaction-missing"}
)


def read(path: Path, max_bytes: int) -> tuple[bytes | None, Finding | None, os.stat_result | None]:
    """The file's bytes, or a ``file-unreadable`` / ``file-too-large`` finding; and its stat
    (which the history layer keys the file's parsed statements by).

    The size is checked before reading, so a stray multi-gigabyte file is not loaded.
    """
    try:
        info = os.stat(path)
        if info.st_size > max_bytes:
            return None, _too_large(path, info.st_size, max_bytes), info
        return path.read_bytes(), None, info
    except OSError as exc:
        reason = exc.strerror or str(exc)
        finding = _finding(
            path, 1, "file-unreadable", f"cannot read the file: {reason}", "check the path"
        )
        return None, finding, None


def check_file(path: Path, data: bytes, max_bytes: int) -> tuple[Migration | None, list[Finding]]:
    """Check one file's bytes; returns the parsed migration (None if unusable) and the findings."""
    findings: list[Finding] = []
    good_name = NAME_RE.match(path.name) is not None
    if not good_name:
        findings.append(
            _finding(
                path,
                1,
                "file-name",
                f"{path.name!r} is not a migration file name: the deploy orders files by it",
                "rename it YYYYMMDD_HHMMSS_<slug>.sql, slug of a-z, 0-9 and _ "
                "(`rally-gitops new` makes one)",
            )
        )
    problem = _decode_problem(path, data, max_bytes)
    if problem is not None:
        return None, [*findings, problem]
    # parse() needs a valid name; a badly named file is parsed under a stand-in name so that its
    # content is still checked.
    stand_in = path if good_name else path.with_name("00000000_000000_x.sql")
    migration = parse(stand_in, data, max_bytes)
    if not good_name:
        migration = migration._replace(path=path, version="", slug=path.stem)
    findings += check_header(migration, good_name)
    findings += check_transactions(migration)
    findings += check_sections(migration)
    return migration, findings


def check_header(migration: Migration, good_name: bool) -> list[Finding]:
    """``-- Migration:`` names the file; ``-- Description:`` says what it does."""
    path, findings = migration.path, []
    named = migration.header.get("migration")
    if named is None:
        findings.append(
            _finding(
                path,
                1,
                "header-migration",
                "no '-- Migration: <name>' header line: a copied file cannot be told from its "
                "original",
                f"add '-- Migration: {path.stem}' as the first line",
            )
        )
    elif good_name and named != migration.name:
        findings.append(
            _finding(
                path,
                _header_line(migration.text, "migration"),
                "header-migration",
                f"header says {named!r} but the file is {migration.name!r}: renamed or copied "
                "without updating it?",
                f"set the header to '-- Migration: {migration.name}'",
            )
        )
    if not migration.description.strip():
        findings.append(
            _finding(
                path,
                _header_line(migration.text, "description")
                if "description" in migration.header
                else 1,
                "header-description",
                "no '-- Description:' header: reviewers and the deploy log cannot say what "
                "this migration does",
                "add '-- Description: <one sentence>' under the Migration line",
            )
        )
    return findings


def check_sections(migration: Migration) -> list[Finding]:
    """A rollback section exists; nothing runnable hides after the up part."""
    path, findings = migration.path, []
    if migration.live_sql_after_up is not None:
        findings.append(
            _finding(
                path,
                migration.live_sql_after_up,
                "live-sql-after-up",
                "uncommented SQL after the end of the up part: `psql -f` would run it, the "
                "deploy would not",
                "comment it out (rollback lines start with '-- '), or move it above the "
                "rollback marker",
            )
        )
    if migration.rollback is None:
        findings.append(
            _finding(
                path,
                migration.text.rstrip("\n").count("\n") + 1,
                "rollback-missing",
                "no rollback section: a failed deploy cannot be undone with `rally-gitops "
                "rollback`",
                "add '-- Rollback script (uncomment if needed):' and the commented-out undo SQL",
            )
        )
    return findings


def duplicate_versions(paths: list[Path], others: list[Path]) -> list[Finding]:
    """A ``duplicate-version`` finding for each of ``paths`` whose version another file uses."""
    # only files that share a version with one of ``paths`` can be its twin: the hook checks one
    # file against hundreds, and resolving every neighbour would cost more than the lint
    wanted = {m["version"] for m in map(NAME_RE.match, (p.name for p in paths)) if m}
    # each version's paths, one per absolute path: with many files given relative (pre-commit
    # run --all-files), ``paths`` and ``others`` (below the configured directory) are one set
    groups: dict[str, list[Path]] = {}
    for p in [*paths, *others]:
        if (match := NAME_RE.match(p.name)) and match["version"] in wanted:
            groups.setdefault(match["version"], []).append(p)
    # made absolute only where a version has several paths (``lint --all``: none, ``others``
    # leaves out the paths given), resolved only where several distinct absolute paths remain:
    # one file reached by two paths (a symlink) is no twin of itself
    files: dict[str, dict[Path, Path]] = {}
    for version, group in groups.items():
        if len(group) > 1:
            unique: dict[str, Path] = {}
            for p in group:
                unique.setdefault(os.path.abspath(p), p)
            if len(unique) > 1:
                files[version] = {resolved(p): p for p in unique.values()}
    findings = []
    for path in paths:
        match = NAME_RE.match(path.name)
        if not match or match["version"] not in files:
            continue
        real = resolved(path)
        twins = [p.name for r, p in files[match["version"]].items() if r != real]
        if twins:
            findings.append(
                _finding(
                    path,
                    1,
                    "duplicate-version",
                    f"version {match['version']} is also used by {', '.join(sorted(twins))}: "
                    "the ledger cannot tell them apart",
                    "give one of them a new timestamp (`rally-gitops new` picks a free one)",
                )
            )
    return findings


def siblings(directory: Path, paths: Sequence[Path]) -> list[Path]:
    """The ``*.sql`` files of ``directory`` that share a version with one of ``paths`` (the only
    ones ``duplicate_versions`` looks at), without making a path of every other file."""
    wanted = {m["version"] for m in map(NAME_RE.match, (p.name for p in paths)) if m}
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    # a file given as the very path the directory's listing makes (``lint --all``) is no other
    # file: left out before any Path is built (``duplicate_versions`` would fold it anyway)
    top = os.fspath(directory)
    given = {os.fspath(p) for p in paths} if os.path.isabs(top) else set()
    found = []
    for name in names:
        match = NAME_RE.match(name)
        if match and match["version"] in wanted and os.path.join(top, name) not in given:
            found.append(directory / name)
    return found


def resolved(path: Path) -> Path:
    """``path.resolve()``, or its absolute form when it cannot be resolved (a symlink loop)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def _decode_problem(path: Path, data: bytes, max_bytes: int) -> Finding | None:
    """The same checks as ``migrations.decode``, as a finding rather than an exception."""
    if not data.strip():
        return _finding(
            path, 1, "file-empty", "empty file: there is nothing to apply", "write it or delete it"
        )
    if len(data) > max_bytes:
        return _too_large(path, len(data), max_bytes)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return Finding(
            str(path),
            line,
            column,
            "error",
            "file-encoding",
            f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}; PostgreSQL and "
            "git diffs would show garbage",
            "save the file as UTF-8",
        )
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        return _finding(
            path,
            line,
            "file-encoding",
            "contains a NUL byte: is it a binary file?",
            "save the migration as plain UTF-8 text",
        )
    return None


def _header_line(text: str, key: str) -> int:
    pattern = re.compile(rf"^\s*--\s*{key}\s*:", re.I)
    for number, line in enumerate(text.split("\n"), start=1):
        if pattern.match(line):
            return number
    return 1


def _too_large(path: Path, size: int, max_bytes: int) -> Finding:
    return _finding(
        path,
        1,
        "file-too-large",
        f"{size:,} bytes is over the {max_bytes:,}-byte limit for a migration",
        "split it, load bulk data another way, or raise max_file_bytes in [tool.rally_gitops.lint]",
    )


def _finding(path: Path, line: int, code: str, message: str, help: str) -> Finding:
    return Finding(str(path), line, 1, CODES[code].severity, code, message, help)
