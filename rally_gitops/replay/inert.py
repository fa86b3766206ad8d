"""Statements that provably cannot lock, rewrite or scan a relation that existed before their
migration: the observation (replay/observe.py) needs no probe after them (docs/validate.md).

Decided statically and conservatively, per statement: its kind, from PostgreSQL's own parse
(pglast's JSON of the parse tree: the C parser without building Python nodes), must be one that
runs no user code (``KINDS``), and no identifier anywhere in its text (function bodies, strings
and comments included) may be the name of an existing relation of any schema. The observer adds
the rest: no event trigger in the database (checked by the server before every skipped
statement), and only while every earlier statement of the migration was of such a kind (a
table created by the migration is then still empty, and no existing relation was renamed).
"""

from __future__ import annotations

import re
from collections.abc import Collection

# CREATE TABLE / INDEX / VIEW / SEQUENCE / TYPE (composite, enum, range) / DOMAIN / FUNCTION,
# COMMENT, GRANT and REVOKE: parse nodes whose execution evaluates no expression over rows and
# runs no user function (event triggers aside)
KINDS = frozenset(
    {
        "CreateStmt",
        "IndexStmt",
        "ViewStmt",
        "CreateSeqStmt",
        "CompositeTypeStmt",
        "CreateEnumStmt",
        "CreateRangeStmt",
        "CreateDomainStmt",
        "CreateFunctionStmt",
        "CommentStmt",
        "GrantStmt",
    }
)
# a statement's text starts at its first code character (files/statements.py)
_FIRST = re.compile(r"(CREATE|COMMENT|GRANT|REVOKE)\b", re.IGNORECASE)
# first words that settle the kind: an index built in the transaction, a comment
_SURE = re.compile(
    r"(?:CREATE\s+(?:UNIQUE\s+)?(INDEX)\s+(?!CONCURRENTLY\b)|COMMENT\s+ON\s)", re.IGNORECASE
)
_NODE = re.compile(r'\{"version":\d+,"stmts":\[\{"stmt":\{"(\w+)"')
_PLPGSQL = '"defname":"language","arg":{"String":{"sval":"plpgsql"}}'
# a function's body is checked for names only as plpgsql text: a SQL body is analysed when the
# function is created (its relations locked); GRANT ... ON ALL TABLES IN SCHEMA names no table
_REFUSED = {
    # a partition's bounds are expressions evaluated as it is created: they may call any function
    "CreateStmt": ('"partbound"',),
    "CreateFunctionStmt": ('"sql_body"',),
    "IndexStmt": ('"concurrent":true',),
    "GrantStmt": ("ACL_TARGET_ALL_IN_SCHEMA", "ACL_TARGET_DEFAULTS"),
}
# PostgreSQL's identifier characters (scan.l: ident_start, ident_cont), bytes >= 0x80 included
_WORD = re.compile("[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_$\u0080-\U0010ffff]*")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
NAMEDATALEN = 64


def inert_kind(sql: str) -> str:
    """The parse node of ``sql`` when it is one statement of a kind in ``KINDS`` that runs no
    user code (``IndexStmt``: none over an empty table), else ""."""
    if _FIRST.match(sql) is None:  # no parse needed for an ALTER, an INSERT...
        return ""
    known = _SURE.match(sql)
    if known is not None and ";" not in sql:  # one statement whose first words settle its kind
        return "IndexStmt" if known[1] else "CommentStmt"
    from pglast import parser

    try:
        tree = parser.parse_sql_json(sql)
    except Exception:  # noqa: BLE001 - pglast raises ParseError and others: unknown, probed
        return ""
    match = _NODE.match(tree)
    if match is None or tree.count('{"stmt":{') != 1 or match[1] not in KINDS:
        return ""
    if match[1] == "CreateFunctionStmt" and _PLPGSQL not in tree:
        return ""
    return "" if any(marker in tree for marker in _REFUSED.get(match[1], ())) else match[1]


def names_no_relation(sql: str, names: Collection[str]) -> bool:
    """True when no identifier in ``sql`` can be one of ``names`` (bare relation names as
    pg_class stores them), wherever it stands: code, strings, comments, function bodies.

    Every bare word counts, folded to lower case as PostgreSQL folds an unquoted identifier
    (ASCII only), and so does every text between two double quotes, whichever quotes pair up
    (a quote inside a string literal cannot hide a name); each is cut to the 63 bytes
    PostgreSQL keeps. Escapes that could spell a name (a backslash, ``U&``, ``""``) make the
    answer False.
    """
    if "\\" in sql or '""' in sql or re.search("[uU]&", sql):
        return False
    folded = sql.lower() if sql.isascii() else sql.translate(_ASCII_LOWER)
    words = set(_WORD.findall(folded))
    words.update(sql.split('"')[1:-1])
    long = [word for word in words if len(word) * 4 >= NAMEDATALEN]  # maybe 64 bytes or more
    for word in long:
        encoded = word.encode()
        if len(encoded) >= NAMEDATALEN:
            words.add(encoded[: NAMEDATALEN - 1].decode(errors="ignore"))
    return words.isdisjoint(names)
