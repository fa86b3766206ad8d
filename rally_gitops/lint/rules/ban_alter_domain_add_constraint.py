"""ban-alter-domain-add-constraint: ALTER DOMAIN ... ADD CONSTRAINT without NOT VALID."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from rally_gitops.lint.analysis import dotted
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation

CODE = "ban-alter-domain-add-constraint"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "ALTER DOMAIN ... ADD CONSTRAINT without NOT VALID"
WHY = (
    "Adding a constraint to a domain checks every column of every table that uses the domain, "
    "holding locks on all of them for the whole scan."
)
SAFE_ALTERNATIVE = (
    "Add the domain constraint with NOT VALID, then ALTER DOMAIN ... VALIDATE CONSTRAINT in a "
    "later migration."
)
EXAMPLE_BAD = "ALTER DOMAIN score ADD CONSTRAINT score_positive CHECK (VALUE >= 0);"
EXAMPLE_OK = "ALTER DOMAIN score ADD CONSTRAINT score_positive CHECK (VALUE >= 0) NOT VALID;"


def ban_alter_domain_add_constraint(ctx: FileContext) -> Iterator[Violation]:
    """Flag validated constraints added to a domain (pglast's AST; sqlglot has none for it)."""
    for st in ctx.statements:
        node = st.pg
        if not isinstance(node, ast.AlterDomainStmt) or node.subtype != "C":
            continue
        if isinstance(node.def_, ast.Constraint) and not node.def_.skip_validation:
            yield Violation(
                st,
                f"adding a constraint to domain {dotted(node.typeName)} scans and locks every "
                "table that uses it",
                "add it with NOT VALID and VALIDATE CONSTRAINT in a later migration",
            )


RULE = Rule(
    CODE,
    SEVERITY,
    ban_alter_domain_add_constraint,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
