"""What each object of a model depends on, and the order of a set of steps that respects it.

The model's texts are schema-qualified (read under ``search_path = ''``), so the references of a
view, a default, an index, a check, a policy or a trigger are the qualified names their tokens
spell (pglast's scanner, string literals such as ``nextval('public.s'::regclass)`` included).
Function bodies are not tracked by PostgreSQL at all and are written unqualified as often as
not: their names are looked up in every schema, and those edges are *soft* (dropped when they
would make a cycle, since functions are created with ``check_function_bodies = off``).
A reference to a table stands for the table and all its columns (a view must go before any of
them changes type, an index is created after its columns).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from typing import Any

from rally_gitops.errors import RallyError
from rally_gitops.schema import lexer
from rally_gitops.schema import model as m

Key = tuple[str, ...]


def _unquote(text: str) -> str:
    if text.startswith('"'):
        return text[1:-1].replace('""', '"')
    return text.lower()


def names(text: str) -> Iterator[tuple[str, ...]]:
    """The dotted names in ``text`` (``a``, ``s.a``, ``s.t.c``), string literals scanned too."""
    yield from chains(text)


@cache
def chains(text: str) -> tuple[tuple[str, ...], ...]:
    """``names(text)`` as a tuple, scanned once per distinct text: a model repeats most of its
    texts (column types, defaults), and scanning is the costly part of working out a plan."""
    tokens = lexer.tokens(text)
    return found_in(scanned(text) if tokens is None else tokens)


def found_in(tokens: list[tuple[int, str]]) -> tuple[tuple[str, ...], ...]:
    """The dotted names a token list spells (``lexer.tokens``' kinds), strings' too."""
    found: list[tuple[str, ...]] = []
    chain: list[str] = []
    previous_dot = False
    for kind, word in tokens:
        if kind == lexer.STRING:
            found += chains(word[1:-1].replace("''", "'"))
        if kind == lexer.DOT:
            previous_dot = True
            continue
        is_name = kind == lexer.NAME
        if is_name and (previous_dot or not chain):
            chain.append(_unquote(word))
        else:
            if chain:
                found.append(tuple(chain))
            chain = [_unquote(word)] if is_name else []
        previous_dot = False
    if chain:
        found.append(tuple(chain))
    return tuple(found)


def scanned(text: str) -> list[tuple[int, str]]:
    """``text``'s tokens by pglast's scanner, as ``lexer.tokens`` gives them (none when it
    cannot scan the text): for what the small scanner leaves to it."""
    from pglast.parser import ParseError, scan  # 40-60 ms of imports: only when needed

    try:
        tokens = scan(text)
    except ParseError:
        return []
    out: list[tuple[int, str]] = []
    for token in tokens:
        word = text[token.start : token.end + 1]
        if token.name == "SCONST" and word.startswith("'"):
            kind = lexer.STRING
        elif token.name == "ASCII_46":
            kind = lexer.DOT
        elif token.name == "IDENT" or token.kind != "RESERVED_KEYWORD" and word.isidentifier():
            kind = lexer.NAME
        else:
            kind = lexer.OTHER
        out.append((kind, word))
    return out


class Index:
    """Names of a model's objects, for resolving references to keys."""

    def __init__(self, model: m.Model) -> None:
        self.model = model
        self.by_name: dict[tuple[str, str], list[Key]] = defaultdict(list)
        self.by_bare: dict[str, list[Key]] = defaultdict(list)
        self.columns: dict[Key, list[Key]] = defaultdict(list)
        self.keys: dict[tuple[str, str], list[m.Constraint]] = defaultdict(list)
        # a model repeats its texts (column types, defaults): each is resolved once
        self._resolved: dict[tuple[str, bool], frozenset[Key]] = {}
        for key, obj in model.objects.items():  # the model's keys: ``obj.key`` builds a tuple
            if isinstance(obj, m.Constraint) and obj.type in ("primary key", "unique"):
                self.keys[(obj.schema, obj.table)].append(obj)
            if isinstance(obj, m.Column):
                self.columns[("table", obj.schema, obj.table)].append(key)
            elif not isinstance(obj, (m.TableScoped, m.Schema, m.Extension)):
                self.by_name[(obj.schema, obj.name)].append(key)
                self.by_bare[obj.name].append(key)

    def resolve(self, text: str | None, *, bare: bool = False) -> frozenset[Key]:
        """Keys of the objects ``text`` names (``bare``: unqualified names in any schema)."""
        if not text:
            return frozenset()
        found = self._resolved.get((text, bare))
        if found is None:
            keys: set[Key] = set()
            for chain in chains(text):
                for i in range(len(chain) - 1):
                    keys.update(self.by_name.get((chain[i], chain[i + 1]), ()))
                if bare:
                    for part in chain:
                        keys.update(self.by_bare.get(part, ()))
            found = self._resolved[(text, bare)] = frozenset(keys)
        return found

    def expand(self, keys: Iterable[Key]) -> set[Key]:
        """``keys`` with every table's columns added."""
        out = set(keys)
        for key in list(out):
            out.update(self.columns.get(key, ()))
        return out


def _texts(obj: m.SchemaObject) -> list[str | None]:
    texts = _TEXTS.get(type(obj))
    return texts(obj) if texts is not None else []


# the texts of each kind that name other objects
_TEXTS: dict[type, Callable[[Any], list[str | None]]] = {
    m.Column: lambda o: [o.type, o.default, o.generated_expression],
    m.Domain: lambda o: [o.type, o.default, *(d for _, d in o.constraints)],
    m.Composite: lambda o: [t for _, t, _ in o.members],
    m.Table: lambda o: [o.partition_of, *o.inherits, o.partition_key],
    m.Policy: lambda o: [o.using, o.check],
    m.Function: lambda o: [o.arguments, o.result],
    **dict.fromkeys((m.Constraint, m.Index, m.View, m.Trigger), lambda o: [o.definition]),
}


def mentions(obj: m.SchemaObject, name: str) -> bool:
    """True when one of ``obj``'s texts spells ``name`` (a column of its table, say): a
    reference to a table stands for all its columns, this tells which one is really used."""
    return any(name in chain for text in _texts(obj) for chain in names(text or ""))


def dependencies(model: m.Model) -> tuple[dict[Key, set[Key]], dict[Key, set[Key]]]:
    """Hard and soft dependencies of every object of ``model``: key → keys it needs first."""
    index = Index(model)
    objects = model.objects
    known = objects.keys()
    everywhere = frozenset(k for k in known if k[0] == "extension")
    # what every object of a schema needs: the schema, and the extensions
    base: dict[str, frozenset[Key]] = {}
    resolve, columns = index.resolve, index.columns
    hard: dict[Key, set[Key]] = {}
    soft: dict[Key, set[Key]] = {}
    for key, obj in objects.items():
        kind = key[0]
        if kind in ("schema", "extension"):
            needs: set[Key] = set()
        else:
            common = base.get(obj.schema)
            if common is None:
                common = base[obj.schema] = everywhere | {("schema", obj.schema)}
            needs = set(common)
        for text in _texts(obj):
            if text:
                needs |= resolve(text)
        parent = obj.parent
        if parent is not None:
            needs.add(parent if parent in objects else ("view", *parent[1:]))  # a matview's index
        if isinstance(obj, m.Constraint):
            needs |= _referenced(obj, index)
        if kind != "column":  # a table stands for its columns too
            for table in [k for k in needs if k[0] == "table"]:
                needs.update(columns.get(table, ()))
        needs.discard(key)
        hard[key] = needs & known
        if isinstance(obj, m.Function):
            body = index.expand(resolve(obj.body, bare=True))
            body.discard(key)
            soft[key] = body - hard[key]
    return hard, soft


def _referenced(obj: m.Constraint, index: Index) -> set[Key]:
    """A foreign key's referenced table and the key constraint it references."""
    if not obj.references:
        return set()
    needs: set[Key] = {("table", *obj.references)}
    for other in index.keys.get(obj.references, ()):
        if other.columns == obj.referenced_columns:  # a primary key or unique constraint
            needs.add(other.key)
    return needs


def order(
    nodes: dict[Key, tuple[object, ...]],
    edges: dict[Key, set[Key]],
    soft: dict[Key, set[Key]],
) -> list[Key]:
    """``nodes`` (key → sort priority) in an order where every edge ``a → {b}`` (b before a)
    holds; soft edges are given up, all of them, if they make a cycle. Ties by priority."""
    combined: dict[Key, set[Key]] = {}
    for attempt in (soft, {}):
        combined = {k: (edges.get(k, set()) | attempt.get(k, set())) & nodes.keys() for k in nodes}
        result = _kahn(nodes, combined)
        if result is not None:
            return result
    # what the hard edges leave unordered: the cycle, and what waits on it
    cycle = sorted(nodes.keys() - set(_kahn(nodes, combined, partial=True) or []))
    raise RallyError(f"cannot order the changes: a dependency cycle among {cycle}")


def _kahn(
    nodes: dict[Key, tuple[object, ...]], before: dict[Key, set[Key]], partial: bool = False
) -> list[Key] | None:
    waiting = {k: len(v - {k}) for k, v in before.items()}
    after: dict[Key, list[Key]] = defaultdict(list)
    for k, v in before.items():
        for b in v - {k}:
            after[b].append(k)
    ready = [(nodes[k], k) for k in nodes if waiting.get(k, 0) == 0]
    heapq.heapify(ready)
    out: list[Key] = []
    while ready:
        _, key = heapq.heappop(ready)
        out.append(key)
        for nxt in after[key]:
            waiting[nxt] -= 1
            if waiting[nxt] == 0:
                heapq.heappush(ready, (nodes[nxt], nxt))
    if len(out) != len(nodes):
        return out if partial else None
    return out
