"""adding-exclusion-constraint: EXCLUDE constraint added to an existing table."""

from __future__ import annotations

from collections.abc import Iterator

from pglast.enums import ConstrType

from rally_gitops.lint.analysis import added_constraint, existing_table_commands, line_offset
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation

CODE = "adding-exclusion-constraint"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "EXCLUDE constraint added to an existing table"
WHY = (
    "An exclusion constraint builds its index and checks every row under an ACCESS EXCLUSIVE "
    "lock, and unlike CHECK or FOREIGN KEY it has neither NOT VALID nor USING INDEX: there is "
    "no online way to add one to a large table."
)
SAFE_ALTERNATIVE = (
    "Define the constraint when the table is created, or enforce the rule in a new table that "
    "you fill and swap in; for a small table accept the lock in a quiet period with "
    "`-- rally:ignore adding-exclusion-constraint`."
)
EXAMPLE_BAD = (
    "ALTER TABLE bookings ADD CONSTRAINT no_overlap\n"
    "    EXCLUDE USING gist (room WITH =, during WITH &&);"
)
EXAMPLE_OK = (
    "CREATE TABLE bookings2 (room int, during tstzrange,\n"
    "    EXCLUDE USING gist (room WITH =, during WITH &&));"
)


def adding_exclusion_constraint(ctx: FileContext) -> Iterator[Violation]:
    """Flag EXCLUDE constraints added to a pre-existing table."""
    for st, table, cmd in existing_table_commands(ctx):
        constraint = added_constraint(cmd)
        if constraint is not None and constraint.contype == ConstrType.CONSTR_EXCLUSION:
            yield Violation(
                st,
                f"adding an EXCLUDE constraint builds an index on {table} and checks every row "
                "while blocking reads and writes",
                "define it when the table is created, or build a new table and swap it in",
                line_offset=line_offset(st, constraint),
            )


RULE = Rule(
    CODE,
    SEVERITY,
    adding_exclusion_constraint,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
