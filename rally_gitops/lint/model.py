"""The records the linter passes around: findings, analysed statements, the file context, rules.

A safety rule is a module in ``rally_gitops/lint/rules/`` named after its code
(``require-concurrent-index`` → ``require_concurrent_index.py``) that defines a function of the
same name and, at its end, the typed record the checker runs::

    def require_concurrent_index(ctx: FileContext) -> Iterator[Violation]:
        ...

    RULE = Rule(CODE, SEVERITY, require_concurrent_index, SUMMARY, RuleDocs(...), ENABLED)

``rally_gitops/lint/rules/__init__.py`` lists every rule in its ordered ``INDEX``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:
    from rally_gitops.files.migrations import Migration
    from rally_gitops.files.statements import Statement

# "note": information beside a finding (replay's measurements), never a failure
Severity = Literal["error", "warning", "note"]


class Violation(NamedTuple):
    """What a rule yields: the statement it is about, the consequence and the remedy."""

    statement: AnalysedStatement
    message: str  # the consequence, e.g. "blocks writes to users while the index builds"
    help: str  # the remedy, e.g. "use CREATE INDEX CONCURRENTLY in a no-transaction migration"
    line_offset: int = 0  # to point inside a multi-line statement
    severity: Severity | None = None  # this violation's, where it differs from the rule's


@dataclass(frozen=True)
class Finding:
    """One reported problem: ``path:line:col: severity code message`` plus help."""

    path: str
    line: int
    column: int
    severity: Severity
    code: str
    message: str
    help: str = ""

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.code)


class Deferred(NamedTuple):
    """``AnalysedStatement.sqlglot`` before anything asked for it: ``parse(sql)`` builds it on
    first read (``parsing.analyse`` passes ``parsing.UNPARSED``)."""

    parse: Callable[[str], Any]


class AnalysedStatement:
    """One statement with both ASTs.

    ``sqlglot`` is the sqlglot expression (read="postgres"), or None when sqlglot failed or fell
    back to ``exp.Command``; ``pg`` is pglast's node for the statement (``RawStmt.stmt``), or None
    when the file has a syntax error. Rules prefer ``sqlglot`` and fall back to ``pg``.

    sqlglot's parse costs several times pglast's, so ``analyse`` passes a ``Deferred`` and the
    tree is built the first time a rule reads ``sqlglot`` (``parsing.sqlglot_for`` lets a rule skip
    statements whose pglast node shows sqlglot's tree cannot matter). Assigning sets it.
    """

    __slots__ = ("stmt", "index", "_sqlglot", "pg", "in_transaction", "ignored", "pg_offset")

    def __init__(
        self,
        stmt: Statement,
        index: int,
        sqlglot: Any = None,
        pg: Any = None,
        in_transaction: bool = True,
        ignored: set[str] | None = None,
        pg_offset: int = 0,
    ) -> None:
        self.stmt = stmt
        self.index = index
        self._sqlglot = sqlglot
        self.pg = pg
        # False for no-transaction files and outside BEGIN/COMMIT
        self.in_transaction = in_transaction
        # codes named by -- rally:ignore before it
        self.ignored: set[str] = set() if ignored is None else ignored
        # where this statement's text starts in the text pglast parsed (its nodes' ``location``
        # is relative to that text): the statement's offset in the up part when the whole up
        # part was parsed at once, 0 when the statement was parsed on its own
        self.pg_offset = pg_offset

    @property
    def sqlglot(self) -> Any:
        tree = self._sqlglot
        if isinstance(tree, Deferred):
            tree = self._sqlglot = tree.parse(self.stmt.sql)
        return tree

    @sqlglot.setter
    def sqlglot(self, tree: Any) -> None:
        self._sqlglot = tree

    @property
    def line(self) -> int:
        return self.stmt.line

    @property
    def sql(self) -> str:
        return self.stmt.sql

    def __repr__(self) -> str:
        return f"AnalysedStatement(index={self.index}, line={self.line}, sql={self.sql[:40]!r})"


class FileContext:
    """Everything a rule may look at for one migration file."""

    def __init__(
        self,
        migration: Migration,
        statements: list[AnalysedStatement],
        pg_version: int = 16,
        ledger_schema: str = "rally_gitops",
        history_store: Path | None = None,
        options: dict[str, Any] | None = None,
        run: dict[str, Any] | None = None,
    ) -> None:
        self.migration = migration
        self.statements = statements
        self.pg_version = pg_version  # target PostgreSQL major version, [tool.rally_gitops.lint]
        self.ledger_schema = ledger_schema  # the deploy ledger's schema ([tool.rally_gitops])
        # where the folded history of the directory is kept between runs (lint-history.json)
        self.history_store = history_store
        self.options: dict[str, Any] = {} if options is None else options
        # per-file memo of derived facts (``analysis.created_prefixes``, the resolved names...)
        self.cache: dict[str, Any] = {}
        # memo shared by the files of one lint run (the directory's history, listed and folded
        # once)
        self.run: dict[str, Any] = {} if run is None else run


class RuleDocs(NamedTuple):
    """What docs/rules.md says about a rule (``docs/gen_rules.py`` renders it)."""

    why: str
    safe_alternative: str
    example_bad: str
    example_ok: str
    example_history: str | None = None  # an earlier migration the OK example builds on
    example_pg_version: int | None = None  # the examples' target version when it matters


class Rule(NamedTuple):
    """One safety rule: its code, default severity and state, the function that finds its
    violations in a file, and its documentation."""

    code: str
    severity: Severity
    function: Callable[[FileContext], Iterable[Violation]]
    summary: str
    docs: RuleDocs
    enabled: bool = True  # False for opt-in rules (type hygiene)
