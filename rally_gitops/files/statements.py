"""SQL statements of a migration: split with PostgreSQL's own lexer/parser, transaction control.

``split_statements`` keeps ``$$`` bodies and ``BEGIN ATOMIC ... END`` whole and gives each statement
its 1-based line and column in the file; ``strip_transaction`` drops a file's outer BEGIN/COMMIT so
that the deploy engine's own transaction (with the ledger row) replaces it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, NamedTuple

from rally_gitops.errors import MigrationFileError

BEGIN_RE = re.compile(r"^(begin|start\s+transaction)\b", re.I)
COMMIT_RE = re.compile(r"^(commit|end)\b", re.I)
ABORT_RE = re.compile(r"^(rollback|abort)\b(?!\s+(to|prepared)\b)", re.I)
# the file's own BEGIN, and the modes after its keyword(s)
BEGIN_MODES_RE = re.compile(r"^(?:begin(?:\s+(?:work|transaction))?|start\s+transaction)\b", re.I)
ACCESS_MODE_RE = re.compile(r"\bread\s+(only|write)\b", re.I)
# two-phase commit: the ledger row would commit while the migration waits, prepared
TWO_PHASE_RE = re.compile(r"^(prepare\s+transaction|commit\s+prepared|rollback\s+prepared)\b", re.I)
# a statement's text starts at its first code character (no ``--`` line), so its first letter
# tells whether one of the patterns above can match
_CONTROL_INITIALS = frozenset("bBsScCeErRaA")


class Statement(NamedTuple):
    """One SQL statement of a migration, without its terminating semicolon."""

    sql: str
    line: int
    column: int
    offset: int
    copy_data: str | None = None  # the rows after ``COPY ... FROM stdin;``, up to ``\.``


def split_statements(sql: str, first_line: int = 1) -> tuple[Statement, ...]:
    """Split SQL into statements with PostgreSQL's own lexer/parser (``$$`` bodies stay whole).

    The parser is used when the text parses (it knows ``BEGIN ATOMIC ... END``); otherwise the
    scanner, so that a file with a syntax error still splits and the server reports the error at
    the right statement.
    """
    from pglast import parser

    sql, blocks = _copy_blocks(sql)
    try:
        slices = parser.split(sql, with_parser=True, only_slices=True)
    except Exception:  # noqa: BLE001 - pglast raises ParseError and others on broken input
        try:
            slices = _merge_atomic(sql, parser.split(sql, with_parser=False, only_slices=True))
        except Exception:  # noqa: BLE001
            stripped = sql.strip()
            slices = (
                (slice(sql.index(stripped), sql.index(stripped) + len(stripped)),)
                if stripped
                else ()
            )
    statements = _statements(sql, slices, first_line)
    return tuple(_with_copy_data(statements, blocks) if blocks else statements)


# pg_dump's data blocks: "COPY ... FROM stdin;" on one line, the rows, then a line "\."
COPY_FROM_STDIN_RE = re.compile(r"^\s*copy\b[^;]*\bfrom\s+stdin\b[^;]*;\s*$", re.I)


def _copy_blocks(sql: str) -> tuple[str, list[tuple[int, str]]]:
    r"""``sql`` with the rows of each ``COPY ... FROM stdin`` block blanked out (offsets and line
    numbers unchanged, so that the SQL around them splits as usual), and each block's (offset,
    rows). A block without its ``\.`` line is left alone: the server reports it."""
    if "\\." not in sql:
        return sql, []
    lines = sql.splitlines(keepends=True)
    blanked, blocks, offset, index = [], [], 0, 0
    while index < len(lines):
        line = lines[index]
        blanked.append(line)
        offset += len(line)
        index += 1
        if not COPY_FROM_STDIN_RE.match(line):
            continue
        end = next((i for i in range(index, len(lines)) if lines[i].rstrip("\r\n") == "\\."), None)
        if end is None:
            continue
        rows = "".join(lines[index:end])
        blocks.append((offset, rows))
        for hidden in lines[index : end + 1]:
            blanked.append("".join(c if c == "\n" else " " for c in hidden))
            offset += len(hidden)
        index = end + 1
    return "".join(blanked), blocks


def _with_copy_data(statements: list[Statement], blocks: list[tuple[int, str]]) -> list[Statement]:
    """Each block's rows on the ``COPY ... FROM stdin`` statement just before them."""
    result = list(statements)
    for offset, rows in blocks:
        index = max((i for i, s in enumerate(result) if s.offset < offset), default=None)
        if index is not None and COPY_FROM_STDIN_RE.match(result[index].sql + ";"):
            result[index] = result[index]._replace(copy_data=rows)
    return result


def _statements(sql: str, slices: tuple[slice, ...], first_line: int) -> list[Statement]:
    """The statements of ``slices`` with their line and column.

    Lines are counted from the previous statement on, not from the start of the file: counting
    from zero each time made a file of 29k statements take minutes (quadratic).
    """
    statements = []
    line, counted, line_start = first_line, 0, 0  # line number at offset ``counted``
    for piece in slices:
        lead = _code_start(sql[piece])
        if lead is None:  # only comments and blank lines
            continue
        start = piece.start + lead
        if start < counted:  # slices come in order; should one not, count from the top
            line, counted, line_start = first_line, 0, 0
        newlines = sql.count("\n", counted, start)
        if newlines:
            line += newlines
            line_start = sql.rfind("\n", counted, start) + 1
        counted = start
        text = sql[start : piece.stop].rstrip().rstrip(";").rstrip()
        statements.append(Statement(text, line, start - line_start + 1, start))
    return statements


def check_lexable(sql: str, filename: str) -> None:
    """Raise ``MigrationFileError`` at the line of an unterminated string, ``$$`` or comment."""
    from pglast import parser

    try:
        parser.scan(sql)
    except Exception as exc:  # noqa: BLE001 - pglast's ParseError(message, 0-based offset)
        args: tuple[Any, ...] = getattr(exc, "args", ())
        offset = args[1] if len(args) > 1 and isinstance(args[1], int) else 0
        message = str(args[0] if args else exc).split(" at or near ")[0]
        line = sql.count("\n", 0, max(offset, 0)) + 1
        raise MigrationFileError(f"{filename}:{line}: {message}") from None


def _merge_atomic(sql: str, slices: tuple[slice, ...]) -> tuple[slice, ...]:
    """Rejoin a ``BEGIN ATOMIC ... END`` body that the scanner split at its inner semicolons.

    Only needed when the file does not parse: without it the body's ``END`` would look like a
    COMMIT in the middle of the file and hide the real syntax error.
    """
    from pglast import parser

    merged: list[slice] = []
    start: int | None = None
    for piece in slices:
        if start is not None:
            if first_words(sql[piece]).upper() == "END":
                merged.append(slice(start, piece.stop))
                start = None
            continue
        names = [token.name for token in parser.scan(sql[piece])]
        if any(a == "BEGIN_P" and b == "ATOMIC" for a, b in zip(names, names[1:], strict=False)):
            start = piece.start
        else:
            merged.append(piece)
    if start is not None:
        merged.append(slice(start, slices[-1].stop))
    return tuple(merged)


def strip_transaction(
    statements: tuple[Statement, ...], filename: str, no_transaction: bool
) -> tuple[Statement, ...]:
    """Drop a leading BEGIN and trailing COMMIT; refuse transaction control anywhere else."""
    body = list(statements)
    if not no_transaction and body and BEGIN_RE.match(first_words(body[0].sql)):
        if not COMMIT_RE.match(first_words(body[-1].sql)):
            raise MigrationFileError(
                f"{filename}:{body[0].line}: BEGIN without a matching COMMIT at the end of the file"
            )
        body = body[1:-1]
    for stmt in body:
        if stmt.sql[:1] not in _CONTROL_INITIALS:
            continue  # cannot be BEGIN/START/COMMIT/END/ROLLBACK/ABORT: no need to look closer
        words = first_words(stmt.sql)
        if BEGIN_RE.match(words) or COMMIT_RE.match(words) or ABORT_RE.match(words):
            where = "a no-transaction migration" if no_transaction else "the middle of a migration"
            raise MigrationFileError(
                f"{filename}:{stmt.line}: transaction control ({words.split()[0].upper()}) in "
                f"{where}; split the file instead"
            )
    return tuple(body)


def transaction_modes(statements: tuple[Statement, ...]) -> str:
    """The modes of the file's own leading ``BEGIN`` (``ISOLATION LEVEL SERIALIZABLE``, ``READ
    ONLY``...), to put on the tool's transaction as psql would; empty when there are none."""
    if not statements:
        return ""
    words = " ".join(_code(statements[0].sql).split())
    match = BEGIN_MODES_RE.match(words)
    if match is None or words.lower().startswith(("begin atomic", "end")):
        return ""
    return words[match.end() :].strip()


def read_only(modes: str) -> bool:
    """True when transaction ``modes`` end up READ ONLY (the last access mode given wins)."""
    found = ACCESS_MODE_RE.findall(modes)
    return bool(found) and found[-1].lower() == "only"


def two_phase(statement: Statement) -> str | None:
    """``PREPARE TRANSACTION``, ``COMMIT PREPARED`` or ``ROLLBACK PREPARED`` when ``statement``
    is one of those, else None."""
    if not may_be_two_phase(statement.sql):
        return None
    match = TWO_PHASE_RE.match(first_words(statement.sql))
    return " ".join(match.group(1).upper().split()) if match else None


def may_be_two_phase(sql: str) -> bool:
    """False when ``sql`` (a statement or a whole file) holds no two-phase command: each of
    those says PREPARE."""
    return "prepare" in sql.lower()


def may_name_schema(sql: str, schema: str) -> bool:
    """False when ``sql`` (a statement or a whole file) cannot name ``schema`` in any of the ways
    ``touches_schema`` recognises: each contains the name itself (case-folded when unquoted)."""
    return '"' in schema or schema.lower() in sql.lower()


def touches_schema(statement: Statement, schema: str) -> bool:
    """True when ``statement`` names ``schema`` as an identifier (``DROP SCHEMA rally_gitops``,
    ``rally_gitops.applied``, ``SET search_path = rally_gitops``) or as a quoted name in a string
    (``set_config('search_path', 'rally_gitops', ...)``)."""
    if not may_name_schema(statement.sql, schema):
        return False  # most statements are done without scanning a token
    from pglast import parser

    try:
        tokens = parser.scan(statement.sql)
    except Exception:  # noqa: BLE001 - an unscannable statement fails on the server anyway
        return False
    for token in tokens:
        text = statement.sql[token.start : token.end + 1]
        if token.name == "IDENT":
            name = text[1:-1].replace('""', '"') if text.startswith('"') else text.lower()
            if name == schema:
                return True
        elif token.name == "SCONST" and re.search(rf"(?<![\w$]){re.escape(schema)}(?![\w$])", text):
            return True
    return False


def first_words(sql: str) -> str:
    """The statement with leading comments removed, for classifying it (its first 64 chars)."""
    words: list[str] = []
    size = 0
    for _, line in _lines(sql):  # line by line, stopping early: a statement may be megabytes
        if line.lstrip().startswith("--"):
            continue
        for word in line.split():
            words.append(word)
            size += len(word) + 1
        if size > 64:
            break
    return " ".join(words)[:64]


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """(offset, line) of each line of ``text``, lazily."""
    start = 0
    while True:
        end = text.find("\n", start)
        yield start, (text[start:] if end < 0 else text[start:end])
        if end < 0:
            return
        start = end + 1


def _code_start(piece: str) -> int | None:
    """Offset of a statement's first code character after blank and ``--`` comment lines;
    None when the piece holds nothing else."""
    code = piece.lstrip()
    if not code.startswith("--"):  # the common case: no comment line before the statement
        return len(piece) - len(code) if code else None
    for offset, line in _lines(piece):
        if line.strip() and not line.lstrip().startswith("--"):
            return offset + len(line) - len(line.lstrip())
    return None


def _code(sql: str) -> str:
    """``sql`` without its ``--`` comment lines."""
    return "\n".join(ln for ln in sql.split("\n") if not ln.lstrip().startswith("--"))
