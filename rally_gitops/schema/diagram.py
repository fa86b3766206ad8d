"""ER diagrams of a model: tables, their columns with types, primary and foreign keys.

Mermaid ``erDiagram`` (GitHub renders it in comments and Markdown) or Graphviz DOT. Partitions
are drawn as their partitioned table. Mermaid's grammar allows only word characters in names and
types, so those are spelled with ``_``; DOT shows every name exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from rally_gitops.schema.model import Column, Constraint, Model, Table

_SHORT_TYPES = {
    "timestamp with time zone": "timestamptz",
    "timestamp without time zone": "timestamp",
    "time with time zone": "timetz",
    "time without time zone": "time",
    "character varying": "varchar",
    "double precision": "float8",
    "bit varying": "varbit",
}
_NOT_WORD = re.compile(r"[^A-Za-z0-9_]")
TableKey = tuple[str, str]  # (schema, name)


@dataclass(frozen=True)
class Entity:
    """One table of the diagram: its columns as (name, type, keys) with keys ``PK``/``FK``."""

    schema: str
    name: str
    columns: tuple[tuple[str, str, tuple[str, ...]], ...]

    @property
    def shown(self) -> str:
        return self.name if self.schema == "public" else f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Link:
    """A foreign key: from table and columns to table; ``optional`` when a column is nullable."""

    child: TableKey
    parent: TableKey
    columns: tuple[str, ...]
    optional: bool
    parent_columns: tuple[str, ...] = ()


def entities(
    model: Model, tables: Iterable[str] = (), *, around: set[TableKey] | None = None
) -> tuple[list[Entity], list[Link]]:
    """The tables matching the ``tables`` globs (all when empty; on ``schema.name`` or ``name``),
    or those in ``around`` and their direct neighbours, with the foreign keys between them."""
    patterns = list(tables)
    all_tables = [t for t in model.of(Table) if isinstance(t, Table) and not t.partition_of]
    columns: dict[TableKey, list[Column]] = {}
    for col in model.of(Column):
        assert isinstance(col, Column)
        columns.setdefault((col.schema, col.table), []).append(col)
    keys = [c for c in model.of(Constraint) if isinstance(c, Constraint)]
    links = _links(keys, columns)
    known = {(t.schema, t.name) for t in all_tables}
    if around is not None:
        chosen = {k for k in around if k in known}
        for link in links:
            if link.child in around or link.parent in around:
                chosen |= {link.child, link.parent} & known
    else:
        chosen = {
            (t.schema, t.name)
            for t in all_tables
            if not patterns
            or any(
                fnmatchcase(f"{t.schema}.{t.name}", p) or fnmatchcase(t.name, p) for p in patterns
            )
        }
    primary = {(c.schema, c.table): set(c.columns) for c in keys if c.type == "primary key"}
    foreign: dict[TableKey, set[str]] = {}
    for link in links:
        foreign.setdefault(link.child, set()).update(link.columns)
    result = []
    for t in all_tables:
        key = (t.schema, t.name)
        if key not in chosen:
            continue
        cols = sorted(columns.get(key, []), key=lambda c: c.position)
        marks = [
            (
                c.name,
                c.type,
                tuple(m for m, s in (("PK", primary), ("FK", foreign)) if c.name in s.get(key, ())),
            )
            for c in cols
        ]
        result.append(Entity(t.schema, t.name, tuple(marks)))
    edges = [link for link in links if link.child in chosen and link.parent in chosen]
    return result, edges


def _links(keys: list[Constraint], columns: dict[TableKey, list[Column]]) -> list[Link]:
    """The foreign keys; optional when one of their columns may be NULL."""
    links = []
    for key in keys:
        if key.type != "foreign key" or not key.references:
            continue
        own = columns.get((key.schema, key.table), [])
        optional = any(not c.not_null for c in own if c.name in key.columns)
        child = (key.schema, key.table)
        links.append(Link(child, key.references, key.columns, optional, key.referenced_columns))
    return links


def mermaid(found: list[Entity], links: list[Link]) -> str:
    """A Mermaid ``erDiagram``."""
    lines = ["erDiagram"]
    names = {(e.schema, e.name): _word(e.shown) for e in found}
    for entity in found:
        lines.append(f"    {names[(entity.schema, entity.name)]} {{")
        for name, type_, marks in entity.columns:
            keys = f" {', '.join(marks)}" if marks else ""
            lines.append(f"        {_word(_short(type_))} {_word(name)}{keys}")
        lines.append("    }")
    for link in links:
        # a nullable foreign key: a row may have no parent (zero or one)
        one = "|o" if link.optional else "||"
        label = ", ".join(link.columns).replace('"', "'")
        lines.append(f'    {names[link.parent]} {one}--o{{ {names[link.child]} : "{label}"')
    return "\n".join(lines) + "\n"


def dot(found: list[Entity], links: list[Link]) -> str:
    """A Graphviz digraph with one HTML-like table per entity, edges from column to column."""
    lines = [
        "digraph schema {",
        "    graph [rankdir=LR, fontname=Helvetica];",
        "    node [shape=plaintext, fontname=Helvetica, fontsize=11];",
        "    edge [arrowhead=crow, arrowtail=tee, dir=both];",  # one parent, many children
    ]
    for entity in found:
        rows = [f'<tr><td bgcolor="#dde6f2" colspan="2"><b>{_html(entity.shown)}</b></td></tr>']
        for name, type_, marks in entity.columns:
            key = f" <i>{'/'.join(marks)}</i>" if marks else ""
            rows.append(
                f'<tr><td port="{_port(name)}" align="left">{_html(name)}{key}</td>'
                f'<td port="{_port(name)}_out" align="left">'
                f'<font color="#555555">{_html(_short(type_))}</font></td></tr>'
            )
        table = "".join(rows)
        lines.append(
            f'    {_dot_id(entity)} [label=<<table border="0" cellborder="1" cellspacing="0" '
            f'cellpadding="4">{table}</table>>];'
        )
    for link in links:
        child, parent = _dot_key(link.child), _dot_key(link.parent)
        style = ", style=dashed" if link.optional else ""
        start = f":{_port(link.parent_columns[0])}_out:e" if link.parent_columns else ""
        end = f"{_port(link.columns[0])}:w"  # left to right: parents before children
        lines.append(f'    {parent}{start} -> {child}:{end} [tooltip="fk"{style}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _short(type_: str) -> str:
    type_ = type_.removeprefix("public.")
    for long, short in _SHORT_TYPES.items():
        if type_.startswith(long):
            return short + type_[len(long) :]
    return type_


def _word(text: str) -> str:
    """A Mermaid-safe word: ``(``, ``)``, ``[`` and ``]`` kept for types, the rest ``_``."""
    word = re.sub(r"[^A-Za-z0-9_()\[\]-]", "_", text)
    return word if word[:1].isalpha() or word[:1] == "_" else f"_{word}"


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _port(name: str) -> str:
    return _NOT_WORD.sub("_", name)


def _dot_key(key: TableKey) -> str:
    return '"' + f"{key[0]}.{key[1]}".replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot_id(entity: Entity) -> str:
    return _dot_key((entity.schema, entity.name))
