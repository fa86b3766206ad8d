"""prefer-jsonb: a json column where jsonb is meant."""

from __future__ import annotations

import re
from collections.abc import Iterator

from rally_gitops.lint.facts import column_types
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation

CODE = "prefer-jsonb"
SEVERITY: Severity = "warning"
ENABLED = True
SUMMARY = "json column type instead of jsonb"
# JSON as a word of its own: both parsers (sqlglot upper-cases tokens to look up keywords) read
# a json type only from such a token; letters, digits and _ never end a token
_JSON = re.compile(r"(?<![A-Z0-9_])JSON(?![A-Z0-9_])")
WHY = (
    "json stores the raw text and re-parses it on every access; it has no equality operator "
    "(SELECT DISTINCT, GROUP BY and UNION fail on it) and no GIN indexing. Changing the type "
    "later is a full table rewrite."
)
SAFE_ALTERNATIVE = "Use jsonb unless you must keep key order, duplicate keys or exact whitespace."
EXAMPLE_BAD = "CREATE TABLE audit_log (id bigint, payload json);"
EXAMPLE_OK = "CREATE TABLE audit_log (id bigint, payload jsonb);"


def prefer_jsonb(ctx: FileContext) -> Iterator[Violation]:
    """Flag json columns (types from sqlglot's ``exp.DataType`` when present, else pglast)."""
    for st in ctx.statements:
        if not _JSON.search(st.sql.upper()):  # no json type without the word (skips the parse)
            continue
        for column in column_types(st):
            if column.name == "json":
                yield Violation(
                    st,
                    f"column {column.column} is json: no equality, no GIN index, re-parsed on "
                    "every read",
                    "use jsonb",
                )


RULE = Rule(
    CODE,
    SEVERITY,
    prefer_jsonb,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
