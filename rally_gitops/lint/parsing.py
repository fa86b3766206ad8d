"""Both ASTs of every statement: pglast's, parsed once per file, and sqlglot's, parsed on demand.

Each statement of the up part gets sqlglot's AST (read="postgres") and pglast's (PostgreSQL's own
parser). sqlglot gives typed expressions (``exp.Rand``, ``exp.DataType``); when it cannot build a
real tree it falls back to ``exp.Command`` or raises, and then the rules use pglast's node, which
always exists for a statement PostgreSQL can parse.

Cost decides the shape: pglast parses a whole file for about what sqlglot takes for one CREATE
TABLE, and importing sqlglot takes longer than linting a typical file. So pglast's nodes come from
one parse of the up part, and sqlglot's tree is built the first time a rule reads
``AnalysedStatement.sqlglot``; ``sqlglot_for`` lets a rule skip statements whose pglast node shows
that sqlglot's tree cannot be of the kind it looks for.

pglast's C parser is fast, but building its Python tree is not: each node's constructor passes
every attribute through ``Node.__setattr__``, which validates and coerces values meant for trees
built by hand, and which the parser's own values (already of the right type) never need. That is
three quarters of a file's parse; ``parse_sql`` builds the same tree without it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from pglast import ast, parser

from rally_gitops.lint.model import AnalysedStatement, Deferred

if TYPE_CHECKING:
    from rally_gitops.files.migrations import Migration
    from rally_gitops.files.statements import Statement


def analyse(migration: Migration) -> list[AnalysedStatement]:
    """Every statement of the up part with its sqlglot and pglast ASTs; never raises on bad SQL.

    ``in_transaction`` is True for every statement of a transactional file, because the deploy
    engine wraps the whole file in its own transaction, and False in a no-transaction file.
    pglast parses the whole up part once (per statement only when it has a syntax error);
    sqlglot's tree is built when a rule first reads it.
    """
    in_transaction = not migration.no_transaction
    statements = migration.statements
    whole = _parse_up(migration.up, statements)
    analysed = []
    for index, stmt in enumerate(statements):
        pg, pg_offset = (whole[index], stmt.offset) if whole else (parse_pg(stmt.sql), 0)
        analysed.append(
            AnalysedStatement(
                stmt=stmt,
                index=index,
                sqlglot=None if _sqlglot_adds_nothing(pg) else UNPARSED,
                pg=pg,
                in_transaction=in_transaction,
                pg_offset=pg_offset,
            )
        )
    return analysed


def _parse_up(up: str, statements: Sequence[Statement]) -> list[Any] | None:
    """pglast's node of each statement from one parse of the whole up part, or None when the up
    part does not parse or its statements do not line up one-to-one with the split's.

    The nodes equal those of parsing each statement alone, except that their ``location`` is
    relative to the up part (see ``AnalysedStatement.pg_offset``); one parse of the file costs
    half as much as one per statement.
    """
    if not statements:
        return None
    raws = parse_whole(up)
    if raws is None or len(raws) != len(statements):
        return None
    nodes = []
    for raw, stmt in zip(raws, statements, strict=True):
        start = raw.stmt_location or 0
        end = start + raw.stmt_len if raw.stmt_len else len(up)  # 0: up to the end of the text
        if not start <= stmt.offset < end:
            return None
        nodes.append(raw.stmt)
    return nodes


def parse_whole(sql: str) -> tuple[Any, ...] | None:
    """``parse_sql(sql)``, or None when it raises (a syntax error, odd input). The answer for the
    last text is kept: the grammar check asks first whether a file's up part parses, and
    ``analyse`` then takes its statements' nodes from the same parse."""
    text, kept = _LAST[0]
    if text is sql:
        return kept
    try:
        raws: tuple[Any, ...] | None = parse_sql(sql)
    except Exception:  # noqa: BLE001 - ParseError and errors on odd input
        raws = None
    _LAST[0] = (sql, raws)
    return raws


# (text, parse_whole's answer) of the last text parsed whole
_LAST: list[tuple[str | None, tuple[Any, ...] | None]] = [(None, None)]


def _sqlglot_adds_nothing(pg: Any) -> bool:
    """True for statements no rule reads sqlglot's AST for (BEGIN/COMMIT, COMMENT, function and
    trigger definitions). BEGIN and COMMIT alone are often half of a history's statements;
    rules treat these like any statement without a sqlglot AST."""
    return isinstance(
        pg, ast.TransactionStmt | ast.CommentStmt | ast.CreateFunctionStmt | ast.CreateTrigStmt
    )


def sqlglot_for(st: AnalysedStatement, pg_types: tuple[type, ...]) -> Any:
    """``st.sqlglot`` where it can matter to the caller, else None without parsing.

    It can matter when pglast has no node (a syntax error, or a test that removed it) or when
    pglast's node is one of ``pg_types``: both parsers tell a statement's kind from its leading
    keywords, so for any other pglast node sqlglot's tree cannot be of the kind the caller looks
    for (``exp.Drop`` needs DROP, which pglast reads as a ``Drop*Stmt``).
    """
    if st.pg is None or isinstance(st.pg, pg_types):
        return st.sqlglot
    return None


@cache
def drop_nodes() -> tuple[type, ...]:
    """pglast's node types of every ``DROP ...`` statement (DropStmt, DropdbStmt...)."""
    return tuple(
        node
        for name, node in vars(ast).items()
        if name.startswith("Drop") and isinstance(node, type) and issubclass(node, ast.Node)
    )


@cache
def table_nodes() -> tuple[type, ...]:
    """pglast's node types of the statements sqlglot may read as a CREATE TABLE or ALTER TABLE."""
    return (
        ast.CreateStmt,
        ast.CreateTableAsStmt,
        ast.CreateForeignTableStmt,
        ast.AlterTableStmt,
        ast.RenameStmt,
        ast.AlterObjectSchemaStmt,
        ast.AlterTableMoveAllStmt,
    )


def parse_sqlglot(sql: str) -> Any:
    """sqlglot's expression for one statement, or None where it has no real AST for it."""
    import logging  # like sqlglot, not needed by most hook runs

    import sqlglot
    from sqlglot import exp

    # sqlglot logs a warning for each statement it degrades to exp.Command; that is expected here
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    try:
        tree = sqlglot.parse_one(sql, read="postgres")
    except Exception:  # noqa: BLE001 - ParseError, TokenError and the odd internal error
        return None
    if tree is None or isinstance(tree, exp.Command):
        return None
    return tree


def parse_pg(sql: str) -> Any:
    """pglast's node (``RawStmt.stmt``) for one statement, or None when it does not parse."""
    try:
        raw = parse_sql(sql)
    except Exception:  # noqa: BLE001 - ParseError and errors on odd input
        return None
    return raw[0].stmt if len(raw) == 1 else None


def parse_sql(sql: str) -> tuple[Any, ...]:
    """``pglast.parser.parse_sql(sql)``: the same ``RawStmt`` tree (equal node for node, locations
    included), built without the per-attribute validation of ``pglast.ast.Node.__setattr__``.

    The parser module calls ``ast.<Node>(...)`` on its ``ast`` global for every node; for the
    length of the call that global is ``_UNCHECKED``, whose constructors make the same classes'
    instances and store the values as given. Raises ``pglast.parser.ParseError`` like pglast.
    """
    namespace = vars(parser)
    namespace["ast"] = _UNCHECKED
    try:
        return tuple(parser.parse_sql(sql))
    finally:
        # always the real module (never a saved value): a concurrent call cannot leave it swapped
        namespace["ast"] = ast


class _Unchecked:
    """``pglast.ast`` as the parser module sees it: one constructor per node class, on demand."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        make = _constructor(getattr(ast, name))
        setattr(self, name, make)  # found as an attribute from now on: __getattr__ runs once
        return make


def _constructor(cls: Any) -> Callable[..., Any]:
    """``cls(*args)`` without the validation: each parameter of ``cls.__init__`` is the
    attribute of the same name (checked; any other class keeps its own constructor).

    A loop over the attributes serves a class's first uses; from its ``_GENERATE_AFTER``th one
    on, a function written for the class (one slot store per parameter, no loop) takes over:
    three times faster per node, but compiling it costs a hundred nodes' worth, which only
    ``lint --all``'s thousands of nodes repay.
    """
    code = cls.__init__.__code__
    names = code.co_varnames[1 : code.co_argcount]
    if names != tuple(getattr(cls, "__slots__", ())):
        checked: Callable[..., Any] = cls
        return checked
    new, store = cls.__new__, object.__setattr__
    # a class whose slots are all its own can have its function written (``_generated``)
    writable = all(name in vars(cls) for name in names)
    uses = [0]

    def make(*args: Any) -> Any:
        node = new(cls)
        for name, value in zip(names, args, strict=False):
            store(node, name, value)
        for name in names[len(args) :]:
            store(node, name, None)
        uses[0] += 1
        if uses[0] == _GENERATE_AFTER and writable:
            setattr(_UNCHECKED, cls.__name__, _generated(cls, names))
        return node

    return make


_GENERATE_AFTER = 200


def _generated(cls: Any, names: tuple[str, ...]) -> Callable[..., Any]:
    """``make`` written out for ``cls``: ``node = new(cls); set0(node, a0); ...`` with each
    slot's own descriptor, the parameters defaulting to None like ``cls.__init__``'s."""
    setters = {f"set{i}": cls.__dict__[name].__set__ for i, name in enumerate(names)}
    params = ", ".join(f"a{i}=None" for i in range(len(names)))
    body = "".join(f"    set{i}(node, a{i})\n" for i in range(len(names)))
    namespace: dict[str, Any] = {"new": cls.__new__, "cls": cls, **setters}
    exec(f"def make({params}):\n    node = new(cls)\n{body}    return node\n", namespace)  # noqa: S102
    made: Callable[..., Any] = namespace["make"]
    return made


_UNCHECKED = _Unchecked()

# what ``analyse`` passes for a statement whose sqlglot tree is built on first read
UNPARSED = Deferred(parse_sqlglot)
