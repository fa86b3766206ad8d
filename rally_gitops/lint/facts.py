"""Facts the rules ask about a statement, read from sqlglot's AST when it has one, else pglast's.

Each helper takes an ``AnalysedStatement`` and answers the same way whichever AST it used; the
tests run every rule with sqlglot's AST removed to keep the two paths in step.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from pglast import ast
from pglast.enums import AlterTableType, ObjectType

from rally_gitops.lint.analysis import dotted, is_new_table, relname, sg_table, type_name, walk_pg
from rally_gitops.lint.folding import constant_truth, sqlglot_truth
from rally_gitops.lint.model import AnalysedStatement
from rally_gitops.lint.names import quote, sqlglot_part
from rally_gitops.lint.parsing import drop_nodes, sqlglot_for, table_nodes

# Built-in functions PostgreSQL marks VOLATILE that people put in column defaults. now(),
# current_timestamp and friends are STABLE: PostgreSQL 11+ evaluates them once, no rewrite.
VOLATILE_FUNCTIONS = frozenset(
    {
        "random", "random_normal", "setseed", "gen_random_uuid", "uuidv4", "uuidv7",
        "uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4", "gen_random_bytes",
        "gen_salt", "clock_timestamp", "timeofday", "nextval", "txid_current",
        "pg_current_xact_id",
    }
)  # fmt: skip

# What a statement must spell for either AST to find a volatile call: sqlglot's exp.Rand comes
# from RAND/RANDOM, exp.Uuid from UUID/GEN_RANDOM_UUID/GENERATE_UUID/UUID_STRING, the rest by name
_VOLATILE_WORDS = ("rand", "uuid", *sorted(VOLATILE_FUNCTIONS))

# sqlglot type → PostgreSQL's internal type name (what pglast reports), for the types rules name
_SQLGLOT_TYPES = {
    "INT": "int4", "SMALLINT": "int2", "BIGINT": "int8", "SERIAL": "serial",
    "SMALLSERIAL": "smallserial", "BIGSERIAL": "bigserial", "JSON": "json", "JSONB": "jsonb",
    "TIMESTAMP": "timestamp", "TIMESTAMPTZ": "timestamptz", "VARCHAR": "varchar",
    "CHAR": "bpchar", "TEXT": "text", "DECIMAL": "numeric",
}  # fmt: skip
_PG_ALIASES = {"serial4": "serial", "serial8": "bigserial", "serial2": "smallserial"}


class ColumnType(NamedTuple):
    """A column definition's type: ``name`` as PostgreSQL spells it internally (``int4``)."""

    column: str
    name: str
    sized: bool  # has a length/precision modifier, e.g. varchar(20)


class Dropped(NamedTuple):
    """What a DROP statement drops: ``kind`` is table, schema, type, view, database, index..."""

    kind: str
    names: tuple[str, ...]


def volatile_call(expr: Any) -> str | None:
    """The name of a volatile function called in an expression of either AST, else None."""
    if expr is None:
        return None
    from sqlglot import exp

    if isinstance(expr, exp.Expression):
        for node in expr.walk():
            if isinstance(node, exp.Rand):
                return "random"
            if isinstance(node, exp.Uuid):
                return "gen_random_uuid"
            if isinstance(node, exp.Anonymous) and node.name.lower() in VOLATILE_FUNCTIONS:
                return node.name.lower()
        return None
    for node in walk_pg(expr):
        if isinstance(node, ast.FuncCall):
            name = dotted(node.funcname).rpartition(".")[2]
            if name in VOLATILE_FUNCTIONS:
                return name
    return None


def may_call_volatile(sql: str) -> bool:
    """False when ``sql`` spells no volatile function in any case, so that neither AST can find
    one there: a cheap test before building sqlglot's tree (sqlglot matches names upper-cased,
    PostgreSQL lower-cased)."""
    upper, lower = sql.upper(), sql.lower()
    return any(word in lower or word.upper() in upper for word in _VOLATILE_WORDS)


def column_types(st: AnalysedStatement) -> list[ColumnType]:
    """Types of the columns a CREATE TABLE / ALTER TABLE defines or retypes (arrays: element)."""
    tree = sqlglot_for(st, table_nodes())
    if tree is None:
        return _pg_column_types(st.pg)
    from sqlglot import exp

    if isinstance(tree, exp.Create | exp.Alter) and tree.args.get("kind") == "TABLE":
        found = []
        # column definitions sit at the top: CREATE's schema or ALTER's actions (no deep walk)
        body = tree.this if isinstance(tree, exp.Create) else None
        items = body.expressions if isinstance(body, exp.Schema) else tree.args.get("actions")
        for node in items or ():
            if not isinstance(node, exp.ColumnDef | exp.AlterColumn):
                continue
            dtype = (
                node.args.get("kind") if isinstance(node, exp.ColumnDef) else node.args.get("dtype")
            )
            if isinstance(dtype, exp.DataType):
                while dtype.this == exp.DataType.Type.ARRAY and dtype.expressions:
                    dtype = dtype.expressions[0]
                name = _SQLGLOT_TYPES.get(dtype.this.name, dtype.this.name.lower())
                column = sqlglot_part(node.this)
                found.append(ColumnType(column, name, bool(dtype.expressions)))
        return found
    return _pg_column_types(st.pg)


def _pg_column_types(node: Any) -> list[ColumnType]:
    defs: list[tuple[str | None, Any]] = []
    if isinstance(node, ast.CreateStmt):
        defs = [(e.colname, e) for e in node.tableElts or () if isinstance(e, ast.ColumnDef)]
    elif isinstance(node, ast.AlterTableStmt):
        for cmd in node.cmds or ():
            if cmd.subtype == AlterTableType.AT_AddColumn and cmd.def_ is not None:
                defs.append((cmd.def_.colname, cmd.def_))
            elif cmd.subtype == AlterTableType.AT_AlterColumnType and cmd.def_ is not None:
                defs.append((cmd.name, cmd.def_))
    found = []
    for column, definition in defs:
        name = type_name(definition.typeName)
        found.append(
            ColumnType(
                column or "",
                _PG_ALIASES.get(name, name),
                bool(definition.typeName and definition.typeName.typmods),
            )
        )
    return found


def dropped(st: AnalysedStatement) -> Dropped | None:
    """What a DROP statement drops, from pglast's DropStmt/DropdbStmt (exact names) or else
    sqlglot's ``exp.Drop`` (a statement pglast cannot parse, or a kind it is not read for)."""
    found = _pg_dropped(st.pg)
    if found is not None:
        return found
    tree = sqlglot_for(st, drop_nodes())
    if tree is None:
        return None
    from sqlglot import exp

    if isinstance(tree, exp.Drop) and tree.kind:
        kind = tree.kind.lower()
        if kind == "view" and tree.args.get("materialized"):
            kind = "materialized view"
        names = []
        for table in tree.args.get("tables") or ():
            if isinstance(table, exp.Table):
                schema_only = kind == "schema" and not table.name
                db = table.args.get("db")
                names.append(quote(sqlglot_part(db)) if schema_only else sg_table(table))
            else:
                names.append(table.sql("postgres"))
        return Dropped("type" if kind == "domain" else kind, tuple(names))
    return None


def _pg_dropped(node: Any) -> Dropped | None:
    if not isinstance(node, drop_nodes()):  # most statements: answered without an import
        return None
    if isinstance(node, ast.DropdbStmt):
        return Dropped("database", (quote(node.dbname or ""),))
    if not isinstance(node, ast.DropStmt):
        return None
    kinds = {
        ObjectType.OBJECT_TABLE: "table", ObjectType.OBJECT_SCHEMA: "schema",
        ObjectType.OBJECT_TYPE: "type", ObjectType.OBJECT_DOMAIN: "type",
        ObjectType.OBJECT_VIEW: "view", ObjectType.OBJECT_MATVIEW: "materialized view",
        ObjectType.OBJECT_INDEX: "index", ObjectType.OBJECT_SEQUENCE: "sequence",
        ObjectType.OBJECT_FUNCTION: "function", ObjectType.OBJECT_PROCEDURE: "procedure",
        ObjectType.OBJECT_ROUTINE: "routine",
    }  # fmt: skip
    kind = kinds.get(node.removeType) if node.removeType is not None else None
    if kind is None:
        return None
    names = []
    for obj in node.objects or ():
        if isinstance(obj, ast.TypeName):
            names.append(dotted(obj.names))
        elif isinstance(obj, ast.ObjectWithArgs):
            names.append(dotted(obj.objname))
        elif isinstance(obj, ast.String):
            names.append(quote(obj.sval or ""))
        else:
            names.append(dotted(obj))
    return Dropped(kind, tuple(names))


def string_literals(st: AnalysedStatement) -> Iterator[str]:
    """Every string constant in the statement (not function bodies' contents)."""
    if st.sqlglot is not None:
        from sqlglot import exp

        for node in st.sqlglot.find_all(exp.Literal):
            if node.is_string:
                yield node.this
        return
    if st.pg is None:
        return
    for node in walk_pg(st.pg):
        if isinstance(node, ast.A_Const) and isinstance(node.val, ast.String):
            yield node.val.sval or ""


class DataChange(NamedTuple):
    """An UPDATE or DELETE: ``where`` is "none", "always true" (``WHERE 1 = 1``) or "real"."""

    verb: str
    table: str
    where: str


def _where(present: bool, truth: bool | None) -> str:
    return "none" if not present else "always true" if truth is True else "real"


def data_change(st: AnalysedStatement) -> DataChange | None:
    """What an UPDATE or DELETE statement changes, else None. A WHERE that folds to constant
    true (``WHERE true``, ``WHERE 1 = 1``) filters nothing."""
    node = st.pg
    if isinstance(node, ast.UpdateStmt | ast.DeleteStmt):
        verb = "UPDATE" if isinstance(node, ast.UpdateStmt) else "DELETE"
        where = node.whereClause
        truth = constant_truth(where) if where is not None else None
        return DataChange(verb, relname(node.relation), _where(where is not None, truth))
    tree = sqlglot_for(st, (ast.UpdateStmt, ast.DeleteStmt))
    if tree is not None:
        from sqlglot import exp

        if isinstance(tree, exp.Update | exp.Delete) and isinstance(tree.this, exp.Table):
            verb = "UPDATE" if isinstance(tree, exp.Update) else "DELETE"
            where = tree.args.get("where")
            truth = sqlglot_truth(where.this) if where is not None else None
            return DataChange(verb, sg_table(tree.this), _where(where is not None, truth))
    return None


class Renamed(NamedTuple):
    """A rename: ``kind`` is table, column, schema or enum value."""

    kind: str
    old: str
    new: str


def renamed(ctx: Any, st: AnalysedStatement) -> Renamed | None:
    """The rename a statement performs, from pglast's AST; renames of tables created earlier in
    the file are ignored.

    pglast decides here because sqlglot misreads the valid ``ALTER TABLE t RENAME a TO b`` (a
    column rename without COLUMN) as a table rename.
    """
    node = st.pg
    if isinstance(node, ast.AlterEnumStmt) and node.oldVal is not None:
        return Renamed("enum value", f"{dotted(node.typeName)}.{node.oldVal}", node.newVal or "")
    if not isinstance(node, ast.RenameStmt):
        return None

    table = relname(node.relation)
    if node.renameType == ObjectType.OBJECT_SCHEMA:
        return Renamed("schema", quote(node.subname or ""), quote(node.newname or ""))
    if table and is_new_table(ctx, st, table):
        return None
    if node.renameType == ObjectType.OBJECT_TABLE:
        return Renamed("table", table, quote(node.newname or ""))
    if node.renameType == ObjectType.OBJECT_COLUMN and node.relationType == ObjectType.OBJECT_TABLE:
        return Renamed("column", f"{table}.{quote(node.subname or '')}", quote(node.newname or ""))
    return None
