"""The tables a migration's statements act on: columns and their types, constraints.

Some decisions need the schema as it stands before a statement: whether ``ALTER COLUMN ... TYPE``
is binary-coercible depends on the column's current type, whether ``DROP CONSTRAINT`` drops a
primary key (and which foreign keys ``CASCADE`` takes along) on what the constraint is, whether
``SET NOT NULL`` may skip its scan on a validated ``CHECK (col IS NOT NULL)``. ``apply`` folds
one statement (pglast's node) into a ``Catalog``; ``schema_history`` folds the committed
history and the file's earlier statements with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from pglast import ast
from pglast.enums import AlterTableType, ConstrType, DropBehavior, NullTestType, ObjectType

from rally_gitops.lint.names import DEFAULT_SCHEMA, quote, shown

Key = tuple[str, str]  # (schema, name), exact
_KINDS = {
    ConstrType.CONSTR_PRIMARY: "primary key",
    ConstrType.CONSTR_UNIQUE: "unique",
    ConstrType.CONSTR_FOREIGN: "foreign key",
    ConstrType.CONSTR_CHECK: "check",
    ConstrType.CONSTR_EXCLUSION: "exclusion",
}
# PostgreSQL's internal type names → how migrations spell them
_SPELLED = {
    "int2": "smallint", "int4": "integer", "int8": "bigint", "float4": "real",
    "float8": "double precision", "bool": "boolean", "bpchar": "char",
}  # fmt: skip
_SUFFIX = {"primary key": "pkey", "unique": "key", "foreign key": "fkey", "check": "check"}


class SqlType(NamedTuple):
    """A column's type: its name as PostgreSQL spells it internally (``int4``, ``varchar``,
    ``"Role"``'s ``Role``), its modifiers (``(20,)``, ``(12, 2)``), whether it is an array."""

    name: str
    mods: tuple[int, ...] = ()
    array: bool = False

    @property
    def shown(self) -> str:
        """The type as a migration would spell it: ``integer``, ``varchar(20)``, ``"Role"``."""
        # built-in type names are keywords (numeric, varchar) that need no quotes as types
        plain = re.fullmatch(r"[a-z_][a-z0-9_]*", self.name)
        name = _SPELLED.get(self.name) or (self.name if plain else quote(self.name))
        text = name + (f"({', '.join(map(str, self.mods))})" if self.mods else "")
        return text + ("[]" if self.array else "")


@dataclass
class Constraint:
    """One table constraint; ``references`` is the table a foreign key points at."""

    name: str
    kind: str
    references: Key | None = None
    not_null_of: str | None = None  # the column of a CHECK (col IS NOT NULL)
    validated: bool = True


@dataclass
class Table:
    """A table's columns and constraints; ``complete`` is False for a table that only appears
    altered (created before the history starts): what is missing is unknown, not absent."""

    columns: dict[str, SqlType] = field(default_factory=dict)
    constraints: dict[str, Constraint] = field(default_factory=dict)
    complete: bool = True


class Stored(NamedTuple):
    """A table as ``.rally/lint-history.json`` keeps it (``schema_history.to_json``'s row), made a
    ``Table`` where it is first read: a hook run reads one or two of hundreds of tables."""

    row: list[Any]


@dataclass
class Catalog:
    """The tables as far as the history tells; absent tables are simply unknown.

    ``fork`` hands out a copy that shares every table until it changes one (copy on write), so
    that each file's view of the history costs nothing until its own statements alter a table.
    A ``Stored`` table becomes a ``Table`` in place (the order of the tables is kept).
    """

    tables: dict[Key, Table | Stored] = field(default_factory=dict)
    owned: set[Key] = field(default_factory=set, repr=False)  # tables this copy may change

    def table(self, name: Key) -> Table | None:
        found = self.tables.get(name)
        return self._built(name, found) if isinstance(found, Stored) else found

    def _built(self, name: Key, stored: Stored) -> Table:
        table = self.tables[name] = built(stored.row)
        self.owned.add(name)  # a table of its own
        return table

    def fork(self) -> Catalog:
        """A copy that copies a table the first time it changes it."""
        self.owned = set()  # from now on this one copies before it changes a shared table too
        return Catalog(dict(self.tables))

    def writable(self, name: Key) -> Table | None:
        """The table, copied first unless this catalog already owns it."""
        table = self.tables.get(name)
        if isinstance(table, Stored):
            return self._built(name, table)
        if table is not None and name not in self.owned:
            table = self.tables[name] = Table(
                dict(table.columns),
                {n: replace(c) for n, c in table.constraints.items()},
                table.complete,
            )
            self.owned.add(name)
        return table

    def create(self, name: Key, table: Table) -> Table:
        self.tables[name] = table
        self.owned.add(name)
        return table

    def referencing(self, target: Key) -> list[tuple[Key, str]]:
        """(table, constraint) of every foreign key that references ``target``."""
        found = []
        for key in list(self.tables):
            table = self.table(key)
            for c in table.constraints.values() if table is not None else ():
                if c.kind == "foreign key" and c.references == target and key != target:
                    found.append((key, c.name))
        return found


def column_type(type_name: Any) -> SqlType:
    """A pglast TypeName as a ``SqlType`` (``pg_catalog.varchar(20)`` → varchar, (20,))."""
    names = [getattr(n, "sval", "") for n in type_name.names or ()]
    mods = tuple(
        m.val.ival
        for m in type_name.typmods or ()
        if isinstance(m, ast.A_Const) and isinstance(m.val, ast.Integer) and m.val.ival is not None
    )
    return SqlType(names[-1] if names else "", mods, bool(type_name.arrayBounds))


def apply(catalog: Catalog, node: Any, schema: str) -> None:
    """Fold one statement into the catalog (statements that shape no table change nothing)."""
    if isinstance(node, ast.CreateStmt):
        _create(catalog, node, schema)
    elif isinstance(node, ast.AlterTableStmt) and node.objtype == ObjectType.OBJECT_TABLE:
        # a table the history never created (it predates it) still learns what is done to it
        where = _key(node.relation, schema)
        table = catalog.writable(where) or catalog.create(where, Table(complete=False))
        for cmd in node.cmds or ():
            _alter(catalog, table, where, cmd, schema)
    elif isinstance(node, ast.RenameStmt):
        _rename(catalog, node, schema)
    elif isinstance(node, ast.DropStmt) and node.removeType == ObjectType.OBJECT_TABLE:
        for obj in node.objects or ():
            parts = [getattr(n, "sval", "") for n in obj]
            catalog.tables.pop((parts[-2] if len(parts) > 1 else schema, parts[-1]), None)


def _key(rangevar: Any, schema: str) -> Key:
    return (rangevar.schemaname or schema, rangevar.relname or "")


def _create(catalog: Catalog, node: Any, schema: str) -> None:
    key = _key(node.relation, schema)
    table = catalog.create(key, Table())
    for element in node.tableElts or ():
        if isinstance(element, ast.ColumnDef) and element.colname is not None:
            table.columns[element.colname] = column_type(element.typeName)
            for constraint in element.constraints or ():
                _add_constraint(table, key, constraint, schema, element.colname)
        elif isinstance(element, ast.Constraint):
            _add_constraint(table, key, element, schema, None)


def _add_constraint(table: Table, key: Key, node: Any, schema: str, column: str | None) -> None:
    kind = _KINDS.get(node.contype)
    if kind is None:
        return
    columns = [getattr(c, "sval", "") for c in (node.keys or node.fk_attrs or ())]
    first = column or (columns[0] if columns else "")
    default = f"{key[1]}_pkey" if kind == "primary key" else f"{key[1]}_{first}_{_SUFFIX[kind]}"
    name = node.conname or default
    references = _key(node.pktable, schema) if node.pktable is not None else None
    not_null_of = None
    expr = node.raw_expr
    if kind == "check" and isinstance(expr, ast.NullTest):
        fields: tuple[Any, ...] = getattr(expr.arg, "fields", None) or ()
        if expr.nulltesttype == NullTestType.IS_NOT_NULL and len(fields) == 1:
            not_null_of = getattr(fields[0], "sval", None)
    table.constraints[name] = Constraint(
        name, kind, references, not_null_of, validated=not node.skip_validation
    )


def _alter(catalog: Catalog, table: Table, key: Key, cmd: Any, schema: str) -> None:
    subtype = cmd.subtype
    if subtype == AlterTableType.AT_AddColumn and cmd.def_ is not None:
        table.columns[cmd.def_.colname] = column_type(cmd.def_.typeName)
        for constraint in cmd.def_.constraints or ():
            _add_constraint(table, key, constraint, schema, cmd.def_.colname)
    elif subtype == AlterTableType.AT_DropColumn:
        table.columns.pop(cmd.name, None)
    elif subtype == AlterTableType.AT_AlterColumnType and cmd.def_ is not None:
        table.columns[cmd.name] = column_type(cmd.def_.typeName)
    elif subtype == AlterTableType.AT_AddConstraint and cmd.def_ is not None:
        _add_constraint(table, key, cmd.def_, schema, None)
    elif subtype == AlterTableType.AT_ValidateConstraint and cmd.name in table.constraints:
        table.constraints[cmd.name].validated = True
    elif subtype == AlterTableType.AT_DropConstraint:
        table.constraints.pop(cmd.name, None)
        if cmd.behavior == DropBehavior.DROP_CASCADE:
            for other, name in catalog.referencing(key):
                referencing = catalog.writable(other)
                if referencing is not None:
                    referencing.constraints.pop(name, None)


def _rename(catalog: Catalog, node: Any, schema: str) -> None:
    if node.relation is None:
        return
    key = _key(node.relation, schema)
    table = catalog.writable(key)
    if table is None:
        return
    if node.renameType == ObjectType.OBJECT_TABLE:
        new = (key[0], node.newname)
        del catalog.tables[key]
        catalog.create(new, table)
        for other, name in catalog.referencing(key):
            referencing = catalog.writable(other)
            if referencing is not None:
                referencing.constraints[name].references = new
    elif node.renameType == ObjectType.OBJECT_COLUMN and node.subname in table.columns:
        table.columns[node.newname] = table.columns.pop(node.subname)
        for c in table.constraints.values():
            if c.not_null_of == node.subname:
                c.not_null_of = node.newname
    elif node.renameType == ObjectType.OBJECT_TABCONSTRAINT and node.subname in table.constraints:
        constraint = table.constraints.pop(node.subname)
        constraint.name = node.newname
        table.constraints[node.newname] = constraint


def shown_key(key: Key) -> str:
    """A (schema, name) as a message shows it: ``public`` left out."""
    return shown((None if key[0] == DEFAULT_SCHEMA else key[0], key[1]))


def built(row: list[Any]) -> Table:
    """A stored row (``schema_history.to_json``) as a ``Table``; a row that is not one is a table
    whose contents are unknown (the store is only a cache)."""
    try:
        _, _, complete, columns, constraints = row
        table = Table(complete=bool(complete))
        for column, type_name, mods, array in columns:
            table.columns[str(column)] = SqlType(str(type_name), tuple(map(int, mods)), bool(array))
        for cname, kind, references, not_null_of, validated in constraints:
            ref = (str(references[0]), str(references[1])) if references else None
            table.constraints[str(cname)] = Constraint(
                str(cname), str(kind), ref, not_null_of, bool(validated)
            )
    except (ValueError, TypeError, IndexError):
        return Table(complete=False)
    return table
