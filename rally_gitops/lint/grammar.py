"""Layer 2: PostgreSQL's own grammar (libpg_query through pglast) on the up part and the rollback.

pglast stops at the first error and gives its position as a character offset into the string it
was given. To report every error, parsing restarts after the statement that failed; each error
is mapped back to a line and column of the file (the rollback section is uncommented, so its
columns are shifted back by the ``-- `` that was removed).
"""

from __future__ import annotations

from pathlib import Path

from pglast import parser

from rally_gitops.files.migrations import Migration
from rally_gitops.lint.model import Finding
from rally_gitops.lint.parsing import parse_whole
from rally_gitops.lint.settings import CodeInfo

CODES = {
    info.code: info
    for info in (
        CodeInfo("syntax-error", "error", True, "the up part is not valid PostgreSQL", "grammar"),
        CodeInfo(
            "rollback-syntax-error",
            "error",
            True,
            "the uncommented rollback section is not valid PostgreSQL",
            "grammar",
        ),
    )
}
MAX_ERRORS = 20  # per section; past that the file is garbage and more lines do not help


def syntax_errors(sql: str) -> list[tuple[int, str]]:
    """Every syntax error in ``sql`` as (character offset, message), in order.

    Example::

        >>> syntax_errors("SELECT 1;\\nDROP TABLEE x;")
        [(15, 'syntax error at or near "TABLEE"')]
    """
    errors: list[tuple[int, str]] = []
    start = 0
    while start < len(sql) and len(errors) < MAX_ERRORS:
        rest = sql[start:]
        try:
            parser.parse_sql_json(rest)
            break
        except parser.ParseError as exc:
            message = _shorten(str(exc.args[0]) if exc.args else "syntax error")
            location = exc.args[1] if len(exc.args) > 1 else None
        except Exception as exc:  # noqa: BLE001 - libpg_query may fail in other ways on garbage
            message, location = _shorten(f"cannot parse: {exc}"), None
        if location is None or not 0 <= location <= len(rest):
            # "at end of input": point just past the last real character.
            errors.append((start + len(rest.rstrip()), message))
            break
        errors.append((start + location, message))
        resume = _next_statement(rest, location)
        if resume is None:
            break
        start += resume
    return errors


def check_grammar(migration: Migration, path: Path) -> list[Finding]:
    """``syntax-error`` findings for the up part and ``rollback-syntax-error`` for the rollback."""
    findings = []
    # an up part that parses whole has no error; its tree is the one the rules read (analyse)
    errors = [] if parse_whole(migration.up) is not None else syntax_errors(migration.up)
    for offset, message in errors:
        line, column = _line_column(migration.up, offset)
        findings.append(
            Finding(
                str(path),
                line,
                column,
                "error",
                "syntax-error",
                f"{message}: PostgreSQL will refuse this migration",
                "fix the SQL at this position (PostgreSQL's own parser reported it)",
            )
        )
    if migration.rollback is not None:
        first_line = migration.rollback_line or 1
        original = migration.text.split("\n")
        for offset, message in syntax_errors(migration.rollback):
            line, column = _line_column(migration.rollback, offset)
            file_line = first_line + line - 1
            # uncomment() removed a prefix ("  -- ") from the line: shift the column back.
            uncommented = migration.rollback.split("\n")[line - 1]
            if 0 < file_line <= len(original):
                column += len(original[file_line - 1]) - len(uncommented)
            findings.append(
                Finding(
                    str(path),
                    file_line,
                    column,
                    "error",
                    "rollback-syntax-error",
                    f"rollback section: {message}: the rollback would fail when it is needed most",
                    "fix the commented-out SQL; prose in the rollback section needs two dashes "
                    "more ('-- -- note')",
                )
            )
    return findings


def _next_statement(sql: str, location: int) -> int | None:
    """Offset of the first statement that starts after ``location``, by PostgreSQL's scanner."""
    try:
        slices = parser.split(sql, with_parser=False, only_slices=True)
    except Exception:  # noqa: BLE001 - an unterminated quote swallows the rest of the text
        return None
    for piece in slices:
        if piece.start > location:
            return int(piece.start)
    return None


def _shorten(message: str, limit: int = 60) -> str:
    """pglast quotes the whole rest of the input after an unterminated string: cut it short."""
    head, quote, token = message.partition(' at or near "')
    if quote and (len(token) > limit or "\n" in token):
        token = token[:limit].split("\n", 1)[0].rstrip('"') + '..."'
    message = " ".join((head + quote + token).split())
    return message if len(message) <= 300 else message[:297] + "..."


def _line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of a character offset."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column
