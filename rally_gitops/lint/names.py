"""Identifiers resolved as PostgreSQL resolves them, and shown as they are written.

PostgreSQL folds an unquoted identifier to lower case and keeps a quoted one as it is:
``"Users"`` and ``users`` are two tables. An unqualified name means the first schema of the
search path: ``public`` unless a ``SET search_path`` earlier in the file says otherwise. pglast
hands over names already folded (its parser is PostgreSQL's), sqlglot as spelled with a
``quoted`` flag; both end up here.

A name travels between the rules as its *shown* form, the SQL that writes it exactly
(``"Team"``, ``audit.users``): printable in a message as it is, and read back without loss by
``key``.

Example::

    shown(["audit", "Users"])          # 'audit."Users"'
    split('audit."Users"')             # ['audit', 'Users']
    key(ctx, st, '"Users"')            # ('public', 'Users'), or the file's search path schema
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

from pglast import ast
from pglast.enums import VariableSetKind

from rally_gitops.lint.parsing import parse_pg

if TYPE_CHECKING:
    from rally_gitops.lint.model import AnalysedStatement, FileContext

DEFAULT_SCHEMA = "public"
_PLAIN = re.compile(r"[a-z_][a-z0-9_$]*")


def quote(part: str | None) -> str:
    """One identifier as SQL writes it: bare when PostgreSQL would fold it to itself."""
    if not part:
        return ""
    if _PLAIN.fullmatch(part) and part not in _keywords():
        return part
    return '"' + part.replace('"', '""') + '"'


@cache
def _keywords() -> frozenset[str]:
    """The keywords PostgreSQL's quote_ident quotes (all but the unreserved ones); pglast's
    tables load with the first name a message shows, not at every hook start."""
    from pglast.keywords import COL_NAME_KEYWORDS, RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS

    return (
        frozenset(RESERVED_KEYWORDS)
        | frozenset(COL_NAME_KEYWORDS)
        | frozenset(TYPE_FUNC_NAME_KEYWORDS)
    )


def shown(parts: Iterable[str | None]) -> str:
    """The dotted SQL spelling of exact name parts (empty parts left out)."""
    return ".".join(quote(p) for p in parts if p)


def split(text: str) -> list[str]:
    """The exact parts of a dotted name as SQL writes it (the inverse of ``shown``); unquoted
    parts fold to lower case as PostgreSQL folds them."""
    parts: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] == '"':
            j, buf = i + 1, []
            while j < n:
                if text[j] == '"':
                    if j + 1 < n and text[j + 1] == '"':
                        buf.append('"')
                        j += 2
                        continue
                    break
                buf.append(text[j])
                j += 1
            parts.append("".join(buf))
            i = j + 1
        else:
            j = text.find(".", i)
            j = n if j < 0 else j
            parts.append(text[i:j].strip().lower())
            i = j
        if i < n and text[i] == ".":
            i += 1
    return parts


def sqlglot_part(identifier: Any) -> str:
    """An exact name from a sqlglot ``exp.Identifier`` (or plain string): folded unless quoted."""
    if identifier is None:
        return ""
    if isinstance(identifier, str):
        return identifier.lower()
    name = str(identifier.name)
    return name if identifier.args.get("quoted") else name.lower()


def schemas(ctx: FileContext) -> list[str]:
    """For each statement index, the schema an unqualified name means there: the first schema of
    the search path as the file's ``SET [LOCAL] search_path`` statements leave it."""
    cached: list[str] | None = ctx.cache.get("schemas")
    if cached is not None and len(cached) == len(ctx.statements):
        return cached
    found: list[str] = []
    current = DEFAULT_SCHEMA
    for st in ctx.statements:
        found.append(current)
        node = st.pg
        if node is None and st.sql[:5].upper() in ("SET S", "SET L", "RESET"):
            node = parse_pg(st.sql)  # pglast's node is missing (a syntax error elsewhere)
        current = after_set(node, current)
    ctx.cache["schemas"] = found
    return found


def after_set(node: Any, current: str) -> str:
    """The first search path schema after pglast's ``node`` runs (``current`` when it sets
    nothing else)."""
    if not isinstance(node, ast.VariableSetStmt) or (node.name or "").lower() != "search_path":
        return current
    if node.kind in (VariableSetKind.VAR_SET_DEFAULT, VariableSetKind.VAR_RESET):
        return DEFAULT_SCHEMA
    if node.kind == VariableSetKind.VAR_RESET_ALL:
        return DEFAULT_SCHEMA
    if node.kind != VariableSetKind.VAR_SET_VALUE:
        return current
    for arg in node.args or ():
        value = getattr(getattr(arg, "val", None), "sval", None)
        if value and value != "$user":  # the role's own schema rarely exists
            return str(value)
    return current


def key(ctx: FileContext, st: AnalysedStatement, name: str) -> tuple[str, str]:
    """(schema, name) that a shown relation name means at ``st``."""
    parts = split(name)
    if not parts:
        return (schemas(ctx)[st.index], "")
    if len(parts) == 1:
        return (schemas(ctx)[st.index], parts[0])
    return (parts[-2], parts[-1])


def same(ctx: FileContext, st: AnalysedStatement, a: str, b: str) -> bool:
    """True when two shown names mean the same object at ``st``."""
    return key(ctx, st, a) == key(ctx, st, b)
