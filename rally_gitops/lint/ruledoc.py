"""docs/rules.md, generated from the rule modules so that the page never drifts from the code.

Regenerate with ``python docs/gen_rules.py``; ``tests/test_lint_rules.py`` fails when the
committed page is stale.
"""

from __future__ import annotations

from collections.abc import Sequence

from rally_gitops.lint.model import Rule

INTRO = """\
# Migration lint rules

`rally-gitops lint` (and the `rally-migration-lint` pre-commit hook) runs these safety rules on
every statement of a migration's up part. Each rule reads PostgreSQL's own parse tree (pglast)
and, where it needs it or pglast has none, sqlglot's AST (`read="postgres"`), so no statement is
skipped silently.

- **error** findings fail the hook (exit 1); **warning** findings are shown but do not.
- Context matters: an index, constraint, rewrite or drop on a table created earlier in the same
  file is not flagged (nobody else can see that table yet). Every migration runs in one
  transaction unless its header says `-- rally:no-transaction`.
- Names resolve as PostgreSQL resolves them: unquoted folds to lower case, quoted keeps its case
  (`"Users"` is not `users`), unqualified means the first schema of the search path (`public`
  unless a `SET search_path` in the file says otherwise). Messages show names as SQL writes them.
- Some verdicts need the schema before the statement (a column's current type, what a dropped
  constraint is): it comes from the earlier migrations of the directory and the file itself.
- Configure in `pyproject.toml`:

  ```toml
  [tool.rally_gitops.lint]
  enable = ["prefer-bigint", "prefer-text"]   # opt-in rules (type hygiene), or "all"
  disable = ["ban-drop-not-null"]
  severity = { unbatched-data-change = "warning" }
  pg_version = 16                             # rules that depend on the server version
  ```

- Silence one statement with `-- rally:ignore <code>[, <code>]` on its own line before it (or
  at the end of its last line), a whole file with `-- rally:ignore-file <code>`; a reason may
  follow after ` -- `.
- Lock and statement timeouts are set by the deploy engine itself, so no rule asks for them.
"""


def render(rules: Sequence[Rule] | None = None) -> str:
    """The Markdown page for ``rules`` (default: every rule, in ``rules.INDEX`` order)."""
    if rules is None:
        from rally_gitops.lint.rules import load_all

        rules = load_all()
    lines = [INTRO, "| Code | Severity | On by default | What it catches |", "|---|---|---|---|"]
    for rule in rules:
        default = "yes" if rule.enabled else "no (opt in)"
        lines.append(
            f"| [`{rule.code}`](#{rule.code}) | {rule.severity} | {default} | {rule.summary} |"
        )
    for rule in rules:
        docs = rule.docs
        lines += ["", f"## {rule.code}", ""]
        state = "on by default" if rule.enabled else "off by default (`enable` it)"
        lines += [f"**Severity:** {rule.severity} · {state}", ""]
        lines += [f"**Catches:** {rule.summary}.", ""]
        lines += [f"**Why:** {docs.why}", ""]
        lines += [f"**Safe alternative:** {docs.safe_alternative}", ""]
        version = docs.example_pg_version
        note = f" (with `pg_version = {version}`)" if version else ""
        lines += [f"Flagged{note}:", "", "```sql", docs.example_bad, "```", ""]
        if docs.example_history:
            lines += ["Given an earlier migration:", "", "```sql", docs.example_history, "```", ""]
            lines += ["not flagged in a later one:", ""]
        else:
            lines += ["Not flagged:", ""]
        lines += ["```sql", docs.example_ok, "```"]
    return "\n".join(lines) + "\n"
