"""What replay measured, as Markdown for the pull-request comment (``validate --markdown``).

One table per migration: each statement (its first line), its duration, and per existing
table it touched (a table's indexes are folded into it: their rewrite is its) the lock held
after it, whether it rewrote or scanned it, the rows before
and the rows it changed; then how long each ACCESS EXCLUSIVE lock is held until COMMIT.
"""

from __future__ import annotations

from collections.abc import Sequence

from rally_gitops.replay.observe import MigrationMeasure, StatementMeasure
from rally_gitops.replay.probe import KINDS_OF_TABLES

HEADER = (
    "| line | statement | ms | relation | lock after it | rewrite | scan | rows before | "
    "inserted / updated / deleted |\n|---:|---|---:|---|---|---|---|---:|---|"
)


def markdown(measures: Sequence[MigrationMeasure], *, assume_rows: bool = False) -> str:
    """The section for the comment (empty string when nothing was measured)."""
    if not measures:
        return ""
    out = ["### Measured on the replay", ""]
    out.append(
        "Locks, rewrites and scans of the new migrations, measured on the replay's schema "
        + (
            "(every existing table treated as having rows)."
            if assume_rows
            else "(its tables have only the rows earlier migrations inserted: durations are "
            "not production's; `rally-gitops rehearse` measures on a copy of real data)."
        )
    )
    for measure in measures:
        out += ["", f"**{_cell(measure.filename)}** ({measure.seconds * 1000:.0f} ms)", ""]
        out.append(HEADER)
        for statement in measure.statements:
            out += _rows(statement)
        tables = {
            e.relation for s in measure.statements for e in s.effects if e.kind in KINDS_OF_TABLES
        }
        held = {r: s for r, s in measure.lock_seconds().items() if r in tables}
        if held:
            spans = ", ".join(f"`{_cell(r)}` {s * 1000:.0f} ms" for r, s in sorted(held.items()))
            out += ["", f"ACCESS EXCLUSIVE held until COMMIT: {spans}"]
    return "\n".join(out) + "\n"


def _rows(statement: StatementMeasure) -> list[str]:
    first = f"| {statement.line} | `{_cell(statement.text)}` | {statement.seconds * 1000:.1f} |"
    effects = [e for e in statement.effects if e.kind in KINDS_OF_TABLES]
    if not effects:
        return [first + " (no lock taken, rewrite, scan or row change) | | | | | |"]
    rows = []
    for index, effect in enumerate(effects):
        lead = first if index == 0 else "| | | |"
        lock = effect.lock or "none (own transaction)"
        if effect.newly:
            lock += " (new)"
        changes = f"{effect.inserted} / {effect.updated} / {effect.deleted}"
        rows.append(
            f"{lead} `{_cell(effect.relation)}` ({effect.kind}) | {lock} | "
            f"{'**yes**' if effect.rewrite else 'no'} | {'yes' if effect.scan else 'no'} | "
            f"{effect.rows_before} | {changes} |"
        )
    return rows


def _cell(text: str) -> str:
    """Text safe inside a table cell and a code span (no pipes, backticks or line breaks)."""
    return text.replace("|", "\\|").replace("`", "'").replace("\n", " ")[:120]
