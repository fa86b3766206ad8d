"""enum-value-used-in-transaction: a value added to an enum is used in the same transaction."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from rally_gitops.lint.analysis import dotted
from rally_gitops.lint.facts import string_literals
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation

CODE = "enum-value-used-in-transaction"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "ALTER TYPE ... ADD VALUE followed by a use of the new value in the same transaction"
WHY = (
    "PostgreSQL does not let a transaction use an enum value it added itself until it commits: "
    'the statement fails with "unsafe use of new value", so the deploy fails. A literal equal '
    "to the new label after the ADD VALUE is taken as a use."
)
SAFE_ALTERNATIVE = (
    "Add the value in one migration and use it (defaults, backfills, CHECKs) in a later one; or "
    "mark the adding migration `-- rally:no-transaction`."
)
EXAMPLE_BAD = (
    "ALTER TYPE match_status ADD VALUE 'postponed';\n"
    "UPDATE matches SET status = 'postponed' WHERE scheduled_at IS NULL;"
)
EXAMPLE_OK = "ALTER TYPE match_status ADD VALUE 'postponed';"


def enum_value_used_in_transaction(ctx: FileContext) -> Iterator[Violation]:
    """Flag statements that mention a label added by an earlier ADD VALUE of the same file.

    The ADD VALUE is read from pglast's AST (sqlglot keeps ALTER TYPE as a command); the uses are
    string literals from sqlglot's AST when it has one, else pglast's.
    """
    added: dict[str, str] = {}
    for st in ctx.statements:
        if not st.in_transaction:
            continue
        used = sorted({v for v in string_literals(st) if v in added}) if added else []
        for value in used:
            yield Violation(
                st,
                f"'{value}' was added to {added[value]} in this transaction; using it before "
                'commit fails with "unsafe use of new value"',
                "use the new value in a later migration",
            )
        node = st.pg
        if isinstance(node, ast.AlterEnumStmt) and node.oldVal is None and node.newVal:
            added[node.newVal] = dotted(node.typeName)


RULE = Rule(
    CODE,
    SEVERITY,
    enum_value_used_in_transaction,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
