"""Ignore directives: ``-- rally:ignore code[, code]`` and ``-- rally:ignore-file code[, code]``.

``-- rally:ignore`` applies to the statement it stands in or the next one (on its own line before
a statement, or at the end of the statement's last line); ``-- rally:ignore-file`` applies to the
whole file. A reason may follow after `` -- ``::

    -- rally:ignore require-concurrent-index -- the table has 12 rows
    CREATE INDEX teams_name_idx ON teams (name);

Directives are read from the up part only: the rollback section is commented-out SQL. A
directive that suppresses nothing is reported as ``unused-ignore`` so that stale ones go away.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import NamedTuple

from rally_gitops.files.migrations import Migration
from rally_gitops.files.statements import Statement
from rally_gitops.lint.model import AnalysedStatement, Finding
from rally_gitops.lint.settings import CodeInfo

CODES = {
    "unused-ignore": CodeInfo(
        "unused-ignore",
        "warning",
        True,
        "a rally:ignore directive that suppresses nothing",
        "ignore",
    )
}
UNSUPPRESSIBLE = frozenset({"unused-ignore", "internal-error"})
_DIRECTIVE_RE = re.compile(
    r"(?:^|;)[ \t]*--[ \t]*rally:(?P<kind>ignore-file|ignore)\b(?P<rest>.*)$"
)
_CODE_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class Directive(NamedTuple):
    """One ``rally:ignore`` comment: where it is, what it names and what it suppressed."""

    line: int
    column: int
    codes: tuple[str, ...]
    file_wide: bool
    target: tuple[int, int] | None  # the statement's first and last line
    used: set[str]  # the codes it suppressed (filled as findings are matched)

    def covers(self, finding: Finding) -> bool:
        """True when this directive applies to the finding's position and names its code."""
        if finding.code not in self.codes or finding.code in UNSUPPRESSIBLE:
            return False
        if self.file_wide:
            return True
        return self.target is not None and self.target[0] <= finding.line <= self.target[1]


def parse_directives(migration: Migration) -> list[Directive]:
    """Every directive of the up part, each statement directive tied to its statement."""
    spans = [_span(stmt) for stmt in migration.statements]
    directives = []
    for number, line in enumerate(migration.up.split("\n"), start=1):
        if "rally:ignore" not in line:
            continue
        match = _DIRECTIVE_RE.search(line)
        if match is None:
            continue
        rest = match["rest"].split(" --", 1)[0]
        codes = tuple(code for code in re.split(r"[,\s]+", rest.strip()) if code)
        file_wide = match["kind"] == "ignore-file"
        target = None if file_wide else next((s for s in spans if s[1] >= number), None)
        column = line.index("--", match.start()) + 1
        directives.append(Directive(number, column, codes, file_wide, target, set()))
    return directives


def mark_statements(statements: Iterable[AnalysedStatement], directives: list[Directive]) -> None:
    """Fill ``AnalysedStatement.ignored`` with the codes the directives name for each statement."""
    file_codes = {c for d in directives if d.file_wide for c in d.codes}
    for st in statements:
        first, last = _span(st.stmt)
        st.ignored = set(file_codes)
        for directive in directives:
            if (
                directive.target is not None
                and directive.target[0] <= last
                and (directive.target[1] >= first)
            ):
                st.ignored.update(directive.codes)


def apply(
    findings: list[Finding],
    directives: list[Directive],
    path: Path | str,
    *,
    known: Collection[str],
    active: Collection[str],
) -> list[Finding]:
    """The findings no directive suppresses, plus an ``unused-ignore`` for each idle directive code.

    ``known`` is every code there is; ``active`` the codes that ran (an ignore of a disabled rule
    is not reported: it may be there for a configuration that enables it).
    """
    kept = []
    for finding in findings:
        covering = [d for d in directives if d.covers(finding)]
        for directive in covering:
            directive.used.add(finding.code)
        if not covering:
            kept.append(finding)
    for directive in directives:
        kept += _unused(directive, str(path), known, active)
    return kept


def _unused(
    directive: Directive, path: str, known: Collection[str], active: Collection[str]
) -> list[Finding]:
    kind = "rally:ignore-file" if directive.file_wide else "rally:ignore"

    def report(message: str, help: str) -> Finding:
        return Finding(
            path, directive.line, directive.column, "warning", "unused-ignore", message, help
        )

    if not directive.codes:
        return [
            report(
                f"-- {kind} names no code: it suppresses nothing",
                f"name the codes, e.g. -- {kind} require-concurrent-index",
            )
        ]
    found = []
    for code in directive.codes:
        if not _CODE_RE.match(code) or code not in known:
            found.append(
                report(
                    f"-- {kind} names unknown code {code!r}: it suppresses nothing",
                    "check the spelling (`rally-gitops lint --list-codes`); put a reason after "
                    "' -- '",
                )
            )
        elif code in UNSUPPRESSIBLE:
            found.append(report(f"{code} cannot be ignored by a directive", "remove it"))
        elif code in active and code not in directive.used:
            where = "this file" if directive.file_wide else _where(directive)
            found.append(
                report(
                    f"-- {kind} {code} suppresses nothing: there is no {code} finding in {where}",
                    "remove the stale directive (a directive applies to the statement after it)",
                )
            )
    return found


def _where(directive: Directive) -> str:
    if directive.target is None:
        return "the rest of the up part (no statement follows)"
    return f"the statement at line {directive.target[0]}"


def _span(stmt: Statement) -> tuple[int, int]:
    return stmt.line, stmt.line + stmt.sql.count("\n")
