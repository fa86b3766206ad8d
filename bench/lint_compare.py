"""Rally's findings against squawk's, statement by statement (``lint_vs_squawk.py --history``).

Both tools lint the same files once; each finding is placed on the statement whose lines hold it
(rally reports 1-based lines, squawk 0-based) and mapped to a *concern* that both tools have a
rule for. Per concern: how many statements each tool flagged, how many both did, and the
statements where they disagree. squawk's rules that the issue ruled out as noise (lock and
statement timeouts, which the deploy engine sets itself; re-runnability; enum value ordering;
type hygiene, opt-in in rally) are counted but not compared.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

# concern → (rally codes, squawk codes)
CONCERNS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    name: (frozenset(rally), frozenset(squawk))
    for name, rally, squawk in (
        ("index without CONCURRENTLY", {"require-concurrent-index"},
         {"require-concurrent-index-creation"}),
        ("drop index without CONCURRENTLY", {"require-concurrent-index-drop"},
         {"require-concurrent-index-deletion"}),
        ("CONCURRENTLY in a transaction", {"ban-concurrently-in-transaction"},
         {"ban-concurrent-index-creation-in-transaction"}),
        ("constraint validated under lock", {"require-not-valid-foreign-key",
         "require-not-valid-check"}, {"adding-foreign-key-constraint",
         "constraint-missing-not-valid"}),
        ("column type change", {"changing-column-type", "changing-column-type-widening"},
         {"changing-column-type"}),
        ("required column", {"adding-required-field"}, {"adding-required-field"}),
        ("SET NOT NULL", {"setting-not-null"}, {"adding-not-nullable-field"}),
        ("column default", {"adding-field-with-default", "adding-volatile-default"},
         {"adding-field-with-default"}),
        ("unique constraint", {"adding-unique-constraint"}, {"disallowed-unique-constraint"}),
        ("primary key", {"adding-primary-key-constraint"}, {"adding-serial-primary-key-field"}),
        ("drop column", {"ban-drop-column"}, {"ban-drop-column"}),
        ("drop table", {"ban-drop-table"}, {"ban-drop-table"}),
        ("drop database", {"ban-drop-database"}, {"ban-drop-database"}),
        ("drop type", {"ban-drop-type"}, {"ban-drop-type"}),
        ("drop constraint", {"ban-drop-constraint"}, {"ban-drop-constraint"}),
        ("drop NOT NULL", {"ban-drop-not-null"}, {"ban-drop-not-null"}),
        ("drop default", {"ban-drop-default"}, {"ban-drop-default"}),
        ("rename table", {"renaming-table"}, {"renaming-table"}),
        ("rename column", {"renaming-column"}, {"renaming-column"}),
        ("rename other object", {"renaming-object"}, {"renaming-object"}),
        ("truncate", {"ban-truncate"}, {"ban-truncate-cascade"}),
    )
}  # fmt: skip
NOT_COMPARED = {
    "require-timeout-settings", "require-lock-timeout", "require-statement-timeout",
    "prefer-robust-stmts", "prefer-bigint-over-int", "prefer-bigint-over-smallint",
    "prefer-identity", "prefer-text-field", "prefer-timestamptz", "prefer-timestamp-tz",
    "ban-char-field", "transaction-nesting", "require-enum-value-ordering",
}  # fmt: skip
Place = tuple[str, int]  # (file, first line of the statement)


def rally_findings(rally: Path, project: Path) -> list[tuple[str, int, str]]:
    """(path, 1-based line, code) of ``rally-gitops lint --all --format json``."""
    out = subprocess.run(
        [str(rally), "lint", "--all", "--no-history", "--format", "json"],
        cwd=project, capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    return [(f["path"], f["line"], f["code"]) for f in json.loads(out)["findings"]]


def squawk_findings(
    squawk: Path, project: Path, files: Sequence[str]
) -> list[tuple[str, int, str]]:
    """(path, 1-based line, rule) of ``squawk --reporter json FILES``."""
    out = subprocess.run(
        [str(squawk), "--reporter", "json", *files],
        cwd=project, capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    return [(f["file"], f["line"] + 1, f["rule_name"]) for f in json.loads(out or "[]")]


def statement_spans(project: Path, files: Iterable[str]) -> dict[str, list[tuple[int, int, str]]]:
    """file → (first line, last line, text) of each statement, split as rally splits them."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from rally_gitops.files.statements import split_statements

    spans = {}
    for name in files:
        text = (project / name).read_text(encoding="utf-8")
        spans[name] = [
            (s.line, s.line + s.sql.count("\n"), " ".join(s.sql.split()))
            for s in split_statements(text)
        ]
    return spans


def _place(spans: dict[str, list[tuple[int, int, str]]], path: str, line: int) -> Place:
    for first, last, _ in spans.get(path, ()):
        if first <= line <= last:
            return (path, first)
    return (path, line)


def compare(
    rally: list[tuple[str, int, str]],
    squawk: list[tuple[str, int, str]],
    spans: dict[str, list[tuple[int, int, str]]],
    shown: int = 6,
) -> list[str]:
    """The report: per concern the statements each tool flagged, then the disagreements."""
    text = {(p, first): sql for p, items in spans.items() for first, _, sql in items}
    lines = ["per rule (statements flagged):", ""]
    lines.append(f"{'concern':<34} {'rally':>6} {'squawk':>6} {'both':>6} {'rally only':>10} "
                 f"{'squawk only':>11}")  # fmt: skip
    disagreements: list[str] = []
    for concern, (rally_codes, squawk_codes) in CONCERNS.items():
        ours = {_place(spans, p, ln) for p, ln, code in rally if code in rally_codes}
        theirs = {_place(spans, p, ln) for p, ln, code in squawk if code in squawk_codes}
        if not ours and not theirs:
            continue
        lines.append(
            f"{concern:<34} {len(ours):>6} {len(theirs):>6} {len(ours & theirs):>6} "
            f"{len(ours - theirs):>10} {len(theirs - ours):>11}"
        )
        for label, only in (("rally only", ours - theirs), ("squawk only", theirs - ours)):
            for path, first in sorted(only)[:shown]:
                sql = text.get((path, first), "")[:90]
                disagreements.append(f"  {concern} / {label}: {Path(path).name}:{first}: {sql}")
            if len(only) > shown:
                disagreements.append(f"  {concern} / {label}: ... and {len(only) - shown} more")
    others = Counter(
        code for _, _, code in rally if not any(code in r for r, _ in CONCERNS.values())
    )
    skipped = Counter(code for _, _, code in squawk if code in NOT_COMPARED)
    unmapped = Counter(
        code for _, _, code in squawk
        if code not in NOT_COMPARED and not any(code in s for _, s in CONCERNS.values())
    )  # fmt: skip
    lines += [
        "",
        f"rally-only rules: {_counts(others)}",
        f"squawk rules not compared (noise the issue excludes, type hygiene): {_counts(skipped)}",
        f"squawk rules rally has no counterpart for: {_counts(unmapped)}",
    ]
    lines += ["", "statements where they disagree:", *(disagreements or ["  none"])]
    return lines


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{code} {n}" for code, n in counter.most_common()) or "none"
