"""The small shared helpers the safety rules use, over both ASTs of every statement.

The ASTs themselves come from ``rally_gitops.lint.parsing``. sqlglot gives typed expressions
(``exp.Rand``, ``exp.DataType``); when it cannot build a real tree it falls back to
``exp.Command`` or raises, and then the rules use pglast's node, which always exists for a
statement PostgreSQL can parse.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from pglast import ast
from pglast.enums import AlterTableType, ObjectType

from rally_gitops.lint.model import AnalysedStatement
from rally_gitops.lint.names import key, shown, sqlglot_part
from rally_gitops.lint.parsing import sqlglot_for, table_nodes

if TYPE_CHECKING:
    from rally_gitops.lint.model import FileContext

NAMEDATALEN = 63  # PostgreSQL truncates identifiers to 63 bytes


def created_tables(statements: Iterable[AnalysedStatement]) -> set[str]:
    """Shown names (``"Users"``, ``audit.users``) of the tables and materialized views created."""
    return {name for name in map(created_table, statements) if name}


def created_table(st: AnalysedStatement) -> str | None:
    """The table a CREATE TABLE [AS] / CREATE MATERIALIZED VIEW statement creates, else None."""
    if st.pg is not None:
        if isinstance(st.pg, ast.CreateStmt):
            return relname(st.pg.relation)
        if isinstance(st.pg, ast.CreateTableAsStmt) and st.pg.into is not None:
            return relname(st.pg.into.rel)
        return None
    if st.sqlglot is not None:
        from sqlglot import exp

        tree = st.sqlglot
        if isinstance(tree, exp.Create) and (
            tree.kind == "TABLE" or (tree.kind == "VIEW" and tree.find(exp.MaterializedProperty))
        ):
            table = tree.find(exp.Table)
            return sg_table(table) if table is not None else None
    return None


def relname(rangevar: Any) -> str:
    """The shown ``schema.name`` (or ``name``) of a pglast RangeVar: exact, quoted where needed."""
    if rangevar is None:
        return ""
    return shown((rangevar.schemaname, rangevar.relname or ""))


def sg_table(table: Any) -> str:
    """The shown ``schema.name`` (or ``name``) of a sqlglot ``exp.Table``."""
    return shown((sqlglot_part(table.args.get("db")), sqlglot_part(table.args.get("this"))))


def dotted(names: Any) -> str:
    """A pglast list of ``String`` nodes (``('audit', 'Users')``) shown as ``audit."Users"``."""
    return shown(getattr(n, "sval", "") or "" for n in names or ())


def is_new_table(ctx: FileContext, st: AnalysedStatement, name: str) -> bool:
    """True when the table (a shown name) was created earlier in this file: nobody else can see
    it yet. Names resolve as PostgreSQL resolves them (``names.key``).

    Computed once per file (``created_prefixes``) rather than once per question: a generated
    migration with a thousand ALTER TABLEs stays linear.
    """
    return key(ctx, st, name) in created_prefixes(ctx)[st.index]


def created_prefixes(ctx: FileContext) -> list[frozenset[tuple[str, str]]]:
    """For each statement index, the (schema, name) of the tables created before it; built once
    per file and kept in ``ctx.cache``."""
    cached: list[frozenset[tuple[str, str]]] | None = ctx.cache.get("created")
    if cached is not None and len(cached) == len(ctx.statements) + 1:
        return cached
    prefixes: list[frozenset[tuple[str, str]]] = [frozenset()]
    for st in ctx.statements:
        name = created_table(st)
        current = prefixes[-1]
        prefixes.append(current | {key(ctx, st, name)} if name else current)
    ctx.cache["created"] = prefixes
    return prefixes


def alter_table(st: AnalysedStatement) -> tuple[str, tuple[Any, ...]] | None:
    """(table name, AlterTableCmd nodes) of an ``ALTER TABLE``, else None (pglast AST)."""
    node = st.pg
    if isinstance(node, ast.AlterTableStmt) and node.objtype == ObjectType.OBJECT_TABLE:
        return relname(node.relation), tuple(node.cmds or ())
    return None


def alter_table_name(st: AnalysedStatement) -> str | None:
    """The table of an ``ALTER TABLE`` from either AST (pglast's, exact, else sqlglot's), else
    None."""
    found = alter_table(st)
    if found is not None:
        return found[0]
    tree = sqlglot_for(st, table_nodes())
    if tree is not None:
        from sqlglot import exp

        if isinstance(tree, exp.Alter) and tree.args.get("kind") == "TABLE":
            return sg_table(tree.this)
    return None


def column_constraints(column_def: Any) -> tuple[Any, ...]:
    """The Constraint nodes of a pglast ColumnDef."""
    return tuple(column_def.constraints or ()) if column_def is not None else ()


# pglast's names of the serial pseudo-types (a sequence and a DEFAULT behind a plain integer type)
SERIAL_TYPES = frozenset({"serial", "serial2", "serial4", "serial8", "smallserial", "bigserial"})


def type_name(type_node: Any) -> str:
    """A pglast TypeName's own name without ``pg_catalog``: ``int4``, ``varchar``, ``json``."""
    names = [getattr(n, "sval", "") for n in type_node.names or ()] if type_node else []
    return names[-1] if names else ""


def walk_pg(node: Any, skip: tuple[type, ...] = ()) -> Iterator[Any]:
    """Every pglast node under (and including) ``node``, depth first; ``skip`` node types are
    neither yielded nor entered."""
    stack = [node]
    while stack:
        item = stack.pop()
        if skip and isinstance(item, skip):
            continue
        if isinstance(item, ast.Node):
            yield item
            for slot in type(item).__slots__:  # type: ignore[attr-defined]  # every pglast Node has them
                value = getattr(item, slot, None)
                if isinstance(value, ast.Node | tuple | list):
                    stack.append(value)
        elif isinstance(item, tuple | list):
            stack.extend(reversed(item))


def existing_table_commands(ctx: FileContext) -> Iterator[tuple[AnalysedStatement, str, Any]]:
    """(statement, table, AlterTableCmd) for each ALTER TABLE command on a pre-existing table.

    Read from pglast's AST: its ``AlterTableType`` names every subcommand exactly, where sqlglot
    degrades several (VALIDATE CONSTRAINT, USING INDEX, DETACH PARTITION) to ``exp.Command``.
    Listed once per file and kept in ``ctx.cache``: a dozen rules walk the same commands.
    """
    cached = ctx.cache.get("existing_commands")
    if cached is None or cached[0] != len(ctx.statements):
        found = []
        for st in ctx.statements:
            altered = alter_table(st)
            if altered is None:
                continue
            table, cmds = altered
            if not is_new_table(ctx, st, table):
                found += [(st, table, cmd) for cmd in cmds]
        cached = ctx.cache["existing_commands"] = (len(ctx.statements), found)
    return iter(cached[1])


def added_column(cmd: Any) -> Any:
    """The ColumnDef of an ``ADD COLUMN`` subcommand, else None."""
    return cmd.def_ if cmd.subtype == AlterTableType.AT_AddColumn else None


def added_constraint(cmd: Any) -> Any:
    """The Constraint of an ``ADD CONSTRAINT`` subcommand (or ``ADD PRIMARY KEY``...), else None."""
    return cmd.def_ if cmd.subtype == AlterTableType.AT_AddConstraint else None


def line_offset(st: AnalysedStatement, node: Any) -> int:
    """Lines from the statement's first line to a pglast node (its ``location`` is a character
    offset into the text pglast parsed, ``st.pg_offset`` where the statement starts), so a
    finding points at the offending line of a long ALTER."""
    location = getattr(node, "location", None)
    if not isinstance(location, int) or location - st.pg_offset <= 0:
        return 0
    return st.sql.count("\n", 0, location - st.pg_offset)
