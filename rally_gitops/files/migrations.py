"""Migration files: names, headers, the up part, the rollback section and checksums.

A file ``migrations/20241208_143000_add_user_preferences.sql`` looks like::

    -- Migration: 20241208_143000_add_user_preferences
    -- Description: Add user preferences table
    BEGIN;
    CREATE TABLE user_preferences (id bigint PRIMARY KEY);
    COMMIT;
    -- Rollback script (uncomment if needed):
    -- BEGIN;
    -- DROP TABLE user_preferences;
    -- COMMIT;

The up part (everything before ``-- Migration ends here`` or the rollback marker) stays runnable
with ``psql -v ON_ERROR_STOP=1 -f FILE``; its checksum is taken after CRLF→LF and BOM removal.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from rally_gitops.errors import ConfigError, MigrationFileError
from rally_gitops.files.statements import (
    Statement,
    check_lexable,
    split_statements,
    strip_transaction,
)

if TYPE_CHECKING:
    from rally_gitops.config import Config

NAME_RE = re.compile(r"^(?P<version>\d{8}_\d{6})_(?P<slug>[a-z0-9_]+)\.sql$")
VERSION_RE = re.compile(r"^\d{8}_\d{6}$")
HEADER_RE = re.compile(r"^--\s*(?P<key>[A-Za-z][A-Za-z ]*?)\s*:\s*(?P<value>.*?)\s*$")
NO_TRANSACTION_RE = re.compile(r"^--\s*rally:no-transaction\s*$", re.M)
# "-- Rollback script (uncomment if needed):", "-- Rollback:", "-- ROLLBACK"; not a comment that
# merely starts with the word ("-- rollback plan: ...") in the middle of the up part
ROLLBACK_MARKER_RE = re.compile(
    r"^--\s*rollback(?:\s+script\b.*|\s*(?:\(.*\))?\s*:?\s*)$", re.I | re.M
)
END_MARKER_RE = re.compile(r"^--\s*migration ends here\b.*$", re.I | re.M)
MARKER_RE = re.compile(f"{END_MARKER_RE.pattern}|{ROLLBACK_MARKER_RE.pattern}", re.I | re.M)
# splitting is linear: 16 MiB of INSERTs split in about 1.5 s with ~250 MB of memory (50 MB take
# ~0.8 GB, see docs/benchmarks.md); bigger data loads belong in COPY files or a data tool
MAX_FILE_BYTES = 16 * 1024 * 1024


class _File(NamedTuple):
    path: Path
    version: str
    slug: str
    text: str
    up: str
    rest: str = ""  # everything after the up part (the rollback section, the end marker)
    rest_line: int = 1  # the line where ``rest`` starts


class Migration(_File):
    """A parsed migration file. ``up`` and ``rollback`` are normalised text (LF, no BOM).

    Its fields are a NamedTuple's, not a frozen dataclass's (``dataclasses`` imports ``inspect``:
    a tenth of ``status``); the subclass has a ``__dict__`` for the values read on demand.
    """

    @cached_property
    def header(self) -> dict[str, str]:
        """The ``-- Key: value`` lines of the leading comment block (keys in lower case)."""
        return _header(self.up)

    @cached_property
    def _after_up(self) -> tuple[str | None, int | None]:
        # read on demand: status and deploy need only the up part of most files
        return _rollback_section(self.rest, self.rest_line)

    @property
    def rollback(self) -> str | None:
        """The uncommented rollback section, or None when the file has none."""
        return self._after_up[0]

    @property
    def rollback_line(self) -> int | None:
        """The file's line where the rollback SQL starts."""
        return self._after_up[1]

    @cached_property
    def live_sql_after_up(self) -> int | None:
        """The line of uncommented SQL after the up part (``psql -f`` would run it), if any."""
        return _live_line(self.rest, self.rest_line)

    @property
    def name(self) -> str:
        """``<version>_<slug>``, the name the ledger and the header use."""
        return f"{self.version}_{self.slug}"

    @property
    def filename(self) -> str:
        return self.path.name

    @cached_property
    def checksum(self) -> str:
        """sha256 of the up part: a changed statement, comment or blank line changes it."""
        import hashlib  # deploys need it, the lint hook does not: not at every hook start

        return hashlib.sha256(self.up.encode("utf-8")).hexdigest()

    @cached_property
    def no_transaction(self) -> bool:
        """True when the header says ``-- rally:no-transaction``."""
        return bool(NO_TRANSACTION_RE.search(_header_block(self.up)))

    @property
    def description(self) -> str:
        return self.header.get("description", "")

    @cached_property
    def statements(self) -> tuple[Statement, ...]:
        """The up part's statements, each with its 1-based line and column in the file."""
        return split_statements(self.up)

    def body(self) -> tuple[Statement, ...]:
        """The statements to run inside the tool's own transaction.

        The file's outer ``BEGIN``/``COMMIT`` are dropped so that the ledger row joins the same
        transaction. Transaction control anywhere else cannot be honoured and is refused, and so
        is live SQL after the up part: ``psql -f`` would run it, the tool would not.
        """
        if self.live_sql_after_up is not None:
            raise MigrationFileError(
                f"{self.filename}:{self.live_sql_after_up}: SQL after the end of the up part "
                "(the rollback section must stay commented out; psql -f would run it)"
            )
        # a lexer error (unterminated quote, $$ or /* comment) leaves the whole file as one
        # "statement"; say what is wrong instead of "BEGIN without a matching COMMIT"
        if len(self.statements) == 1:
            check_lexable(self.up, self.filename)
        return strip_transaction(self.statements, self.filename, self.no_transaction)

    def rollback_statements(self) -> tuple[Statement, ...]:
        """The uncommented rollback section as statements (lines numbered as in the file)."""
        if self.rollback is None:
            return ()
        return strip_transaction(
            split_statements(self.rollback, first_line=self.rollback_line or 1),
            self.filename,
            self.no_transaction,
        )


def parse_name(filename: str) -> tuple[str, str]:
    """``20241208_143000_add_prefs.sql`` → ``("20241208_143000", "add_prefs")``."""
    match = NAME_RE.match(filename)
    if not match:
        raise MigrationFileError(
            f"{filename}: bad migration file name; expected YYYYMMDD_HHMMSS_<slug>.sql "
            "with a slug of a-z, 0-9 and _"
        )
    return match["version"], match["slug"]


def decode(path: Path, data: bytes, max_bytes: int = MAX_FILE_BYTES) -> str:
    """UTF-8 text with BOM removed and CRLF→LF; a clear error for empty, huge or non-UTF-8 files."""
    if not data.strip():
        raise MigrationFileError(f"{path}: empty migration file")
    if len(data) > max_bytes:
        raise MigrationFileError(
            f"{path}: {len(data):,} bytes is over the {max_bytes:,}-byte limit for a migration"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise MigrationFileError(
            f"{path}:{line}: not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None
    if "\x00" in text:
        raise MigrationFileError(f"{path}: contains a NUL byte; is it a binary file?")
    text = text.removeprefix("\ufeff")
    return text.replace("\r\n", "\n") if "\r" in text else text


def parse(path: Path, data: bytes | None = None, max_bytes: int = MAX_FILE_BYTES) -> Migration:
    """Read and parse one migration file."""
    version, slug = parse_name(path.name)
    if data is None:
        try:
            with open(path, "rb", buffering=0) as handle:  # unbuffered: one fstat, one read
                data = handle.readall()
        except OSError as exc:
            raise MigrationFileError(f"{path}: cannot read: {exc.strerror}") from None
    text = decode(path, data, max_bytes)
    up, rest, rest_line = _split_sections(text)
    return Migration(
        path=path,
        version=version,
        slug=slug,
        text=text,
        up=up,
        rest=rest,
        rest_line=rest_line,
    )


def file_limit(config: Config) -> int:
    """``[tool.rally_gitops.lint] max_file_bytes``: the size limit of every command, not only
    the linter's (a deploy must not accept a file the commit hook refused, nor the reverse)."""
    value = config.section("lint").get("max_file_bytes", MAX_FILE_BYTES)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"[tool.rally_gitops.lint] max_file_bytes = {value!r}: expected a positive integer"
        )
    return value


class Scan(NamedTuple):
    """The migrations directory read file by file: the usable migrations and every bad file."""

    migrations: list[Migration]
    problems: list[MigrationFileError]  # file order; version clashes last
    bad_versions: frozenset[str]  # the versions named by the bad files


def scan(directory: Path, max_bytes: int = MAX_FILE_BYTES) -> Scan:
    """Every ``*.sql`` file directly in ``directory``; a bad one is set aside, not fatal.

    Of two files with one version, the first by name is kept and the second is a problem.
    """
    if not directory.is_dir():
        raise ConfigError(
            f"migrations directory {directory} does not exist "
            "(create it or set migrations_dir in [tool.rally_gitops])"
        )
    # one directory: ordering by name is Path ordering, without its slow per-pair comparison
    files = sorted(directory.glob("*.sql"), key=lambda p: p.name)
    migrations: list[Migration] = []
    problems: list[MigrationFileError] = []
    bad: set[str] = set()
    for path in files:
        try:
            migrations.append(parse(path, max_bytes=max_bytes))
        except MigrationFileError as exc:
            problems.append(exc)
            match = NAME_RE.match(path.name)
            if match:
                bad.add(match["version"])
    seen: dict[str, Migration] = {}
    kept = []
    for migration in migrations:
        other = seen.get(migration.version)
        if other is not None:
            problems.append(
                MigrationFileError(
                    f"{migration.path}: version {migration.version} is also used by "
                    f"{other.filename}"
                )
            )
            bad.add(migration.version)
            continue
        seen[migration.version] = migration
        kept.append(migration)
    return Scan(sorted(kept, key=lambda m: m.version), problems, frozenset(bad))


def discover(directory: Path, max_bytes: int = MAX_FILE_BYTES) -> list[Migration]:
    """Every ``*.sql`` file directly in ``directory``, parsed and sorted by version.

    A bad name, unreadable file or a version used twice is an error naming the file.
    """
    result = scan(directory, max_bytes)
    if result.problems:
        raise result.problems[0]
    return result.migrations


def uncomment(block: str) -> str:
    """Turn ``-- DROP TABLE x;`` lines back into SQL; other lines are kept as they are."""
    lines = []
    for line in block.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith("--"):
            stripped = stripped[2:]
            stripped = stripped[1:] if stripped.startswith(" ") else stripped
            lines.append(stripped)
        else:
            lines.append(line)
    return "\n".join(lines)


def _split_sections(text: str) -> tuple[str, str, int]:
    """(up part, the rest, line number where the rest starts)."""
    cut = _first_marker(text)
    return text[:cut], text[cut:], text.count("\n", 0, cut) + 1


def _first_marker(text: str) -> int:
    """Where the first end or rollback marker line starts (``len(text)``: none).

    Both markers are comment lines: only lines starting with ``--`` are tried (a multiline
    ``search`` tries every offset of the file: 30 ms for 342 files, and every command reads
    every file).
    """
    start = 0 if text.startswith("--") else -1
    position = 0
    while True:
        if start < 0:
            found = text.find("\n--", position)
            if found < 0:
                return len(text)
            start = found + 1
        # both markers' first word starts with m or r: most comment lines need no regex
        head = text[start + 2 : start + 66].lstrip()
        if (not head or head[0] in "mMrR") and MARKER_RE.match(text, start):
            return start
        position, start = start, -1


def _live_line(rest: str, rest_line: int) -> int | None:
    """The line of the first uncommented, non-blank line of ``rest``, if any."""
    number = rest_line
    for line in rest.split("\n"):
        if line.strip() and not line.lstrip().startswith("--"):
            return number
        number += 1
    return None


def _rollback_section(rest: str, rest_line: int) -> tuple[str | None, int | None]:
    """(uncommented rollback SQL, its first line)."""
    match = ROLLBACK_MARKER_RE.search(rest)
    if not match:
        return None, None
    body_start = rest.find("\n", match.start())
    if body_start < 0:
        return None, None
    body = rest[body_start + 1 :]
    end = END_MARKER_RE.search(body)
    body = body[: end.start()] if end else body
    sql = uncomment(body)
    if not sql.strip():
        return None, None
    return sql, rest_line + rest.count("\n", 0, body_start + 1)


def _header(up: str) -> dict[str, str]:
    header: dict[str, str] = {}
    for line in _header_block(up).split("\n"):
        match = HEADER_RE.match(line.strip())
        if match:
            header.setdefault(match["key"].strip().lower(), match["value"])
    return header


def _header_block(up: str) -> str:
    """The leading comment and blank lines of the up part."""
    lines = []
    start = 0
    while True:  # line by line from the top: splitting a 50 MB file for its header is waste
        end = up.find("\n", start)
        line = up[start:] if end < 0 else up[start:end]
        if line.strip() and not line.lstrip().startswith("--"):
            break
        lines.append(line.strip())
        if end < 0:
            break
        start = end + 1
    return "\n".join(lines)
