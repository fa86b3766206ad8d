"""identifier-too-long: an identifier over 63 bytes, which PostgreSQL truncates."""

from __future__ import annotations

import re
from collections.abc import Iterator

from pglast import parser

from rally_gitops.lint.analysis import NAMEDATALEN
from rally_gitops.lint.model import (
    AnalysedStatement,
    FileContext,
    Rule,
    RuleDocs,
    Severity,
    Violation,
)

CODE = "identifier-too-long"
SEVERITY: Severity = "warning"
ENABLED = True
SUMMARY = "identifier longer than 63 bytes"
WHY = (
    "PostgreSQL silently truncates identifiers to 63 bytes (NAMEDATALEN - 1) with only a NOTICE. "
    "The object then has a different name from the one in the migration: two long names with "
    "the same first 63 bytes collide, and tools that compare names (ORMs, schema diffs, "
    "monitoring) disagree with the database."
)
SAFE_ALTERNATIVE = "Choose a name of at most 63 bytes (multibyte characters count as several)."
EXAMPLE_BAD = (
    "CREATE INDEX index_match_participants_on_user_id_and_match_id_and_joined_at_desc\n"
    "    ON match_participants (user_id, match_id, joined_at DESC);"
)
EXAMPLE_OK = (
    "CREATE INDEX match_participants_user_match_joined_idx\n"
    "    ON match_participants (user_id, match_id, joined_at DESC);"
)

_WORD = re.compile(r"[\w$]{16,}")  # 16 four-byte characters are already over 63 bytes
_QUOTED = re.compile(r'"((?:[^"]|"")*)"')  # a quoted identifier (Prisma quotes every name)
_STRING = re.compile(r"'(?:[^']|'')*'")  # a string constant, which may hold a double quote


def identifier_too_long(ctx: FileContext) -> Iterator[Violation]:
    """Flag identifiers over 63 bytes (sqlglot's ``exp.Identifier`` nodes, else PostgreSQL's
    scanner)."""
    for st in ctx.statements:
        for name in sorted(_long_identifiers(st)):
            yield Violation(
                st,
                f"identifier {name[:40]}... is {len(name.encode())} bytes; PostgreSQL truncates "
                f"it to {NAMEDATALEN}",
                f"shorten it to at most {NAMEDATALEN} bytes",
            )


def _long_identifiers(st: AnalysedStatement) -> set[str]:
    # cheap pre-check: without a quoted name or a word over the limit there is nothing to find
    words = [*_WORD.findall(st.sql), *_QUOTED.findall(_STRING.sub("''", st.sql))]
    if not any(len(word.encode()) > NAMEDATALEN for word in words):
        return set()
    if st.sqlglot is not None:
        from sqlglot import exp

        return {
            node.name
            for node in st.sqlglot.find_all(exp.Identifier)
            if len(node.name.encode()) > NAMEDATALEN
        }
    return _scanned_identifiers(st.sql)


def _scanned_identifiers(sql: str) -> set[str]:
    """Identifiers over the limit from PostgreSQL's own scanner: pglast's AST cannot tell, as
    the parser has already truncated them."""
    found: set[str] = set()
    try:
        tokens = parser.scan(sql)
    except Exception:  # noqa: BLE001 - an unterminated quote or similar: nothing to report
        return found
    for token in tokens:
        if token.name != "IDENT":
            continue
        name = sql[token.start : token.end + 1]  # pglast reports character offsets
        if name.startswith('"'):
            name = name[1:-1].replace('""', '"')
        if len(name.encode()) > NAMEDATALEN:
            found.add(name)
    return found


RULE = Rule(
    CODE,
    SEVERITY,
    identifier_too_long,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
