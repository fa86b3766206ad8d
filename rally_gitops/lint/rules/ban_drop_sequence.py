"""ban-drop-sequence: DROP SEQUENCE."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from rally_gitops.lint.analysis import relname
from rally_gitops.lint.facts import dropped
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation
from rally_gitops.lint.names import key

CODE = "ban-drop-sequence"
SEVERITY: Severity = "warning"
ENABLED = True
SUMMARY = "DROP SEQUENCE of a sequence that existed before this migration"
WHY = (
    "Column defaults (nextval), functions and clients that still use the sequence fail on their "
    "next insert or call; CASCADE silently removes the defaults that use it."
)
SAFE_ALTERNATIVE = (
    "Remove every use of the sequence (defaults, functions, clients) in a release first, then "
    "drop it in a later migration."
)
EXAMPLE_BAD = "DROP SEQUENCE invoice_number_seq;"
EXAMPLE_OK = "CREATE SEQUENCE scratch_seq;\nDROP SEQUENCE scratch_seq;"


def ban_drop_sequence(ctx: FileContext) -> Iterator[Violation]:
    """Warn on DROP SEQUENCE of sequences this file did not create."""
    created: set[tuple[str, str]] = set()
    for st in ctx.statements:
        if isinstance(st.pg, ast.CreateSeqStmt):
            created.add(key(ctx, st, relname(st.pg.sequence)))
        drop = dropped(st)
        if drop is None or drop.kind != "sequence":
            continue
        names = [n for n in drop.names if key(ctx, st, n) not in created]
        if names:
            yield Violation(
                st,
                f"DROP SEQUENCE {', '.join(names)} breaks the defaults and clients that still "
                "draw numbers from it",
                "remove every use of the sequence first and drop it in a later migration",
            )


RULE = Rule(
    CODE,
    SEVERITY,
    ban_drop_sequence,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
