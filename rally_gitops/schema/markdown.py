"""The "Schema changes" section of a pull request comment: a short table of what the migrations
of the branch add, change and drop, and a Mermaid diagram of the tables they touch and their
direct neighbours."""

from __future__ import annotations

from rally_gitops.schema import diagram, report
from rally_gitops.schema.diff import Diff
from rally_gitops.schema.model import Model

MAX_ROWS = 50
_ACTION = {"added": "added", "dropped": "dropped", "changed": "changed"}


def section(result: Diff, source: str, target: str, model: Model) -> str:
    """The Markdown section; ``model`` is the target's (where the diagram's tables are)."""
    lines = ["#### Schema changes", ""]
    shown = report.visible(result)
    if not shown:
        lines.append(f"No schema changes between `{source}` and `{target}`.")
        return "\n".join(lines) + "\n"
    lines += [f"{report.summary(result)} (`{source}` → `{target}`)", ""]
    lines += ["| | kind | object | change |", "| --- | --- | --- | --- |"]
    for change in shown[:MAX_ROWS]:
        obj = change.obj
        what = (
            "; ".join(report.describe(f) for f in change.fields)
            if change.fields
            else _ACTION[change.action]
        )
        lines.append(
            f"| {report.MARK[change.action]} | {obj.kind} | `{obj.shown}` | {_cell(what)} |"
        )
    if len(shown) > MAX_ROWS:
        lines.append(f"| | | … and {len(shown) - MAX_ROWS} more | |")
    touched = {k[1:] for c in shown for k in (c.key, c.obj.parent) if k and k[0] == "table"}
    found, links = diagram.entities(model, around={(k[0], k[1]) for k in touched})
    if found:
        lines += ["", "```mermaid", diagram.mermaid(found, links).rstrip("\n"), "```"]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
