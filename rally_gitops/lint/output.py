"""Lint output: ``text`` for people, ``github`` workflow annotations, ``json`` and SARIF 2.1.0.

Every format is a pure function of the findings (and the code catalogue for SARIF's rule list),
so it can be tested without running the linter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import quote

from rally_gitops import __version__
from rally_gitops.lint.model import Finding
from rally_gitops.lint.settings import CodeInfo

FORMATS = ("text", "github", "json", "sarif")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


class Summary(NamedTuple):
    """Counts for the last line: files checked, errors, warnings (and notes, when any)."""

    files: int
    errors: int
    warnings: int
    notes: int = 0

    def line(self) -> str:
        """``3 files, 1 error, 2 warnings`` (``, 1 note`` when there are notes)."""
        notes = f", {_plural(self.notes, 'note')}" if self.notes else ""
        return (
            f"{_plural(self.files, 'file')}, {_plural(self.errors, 'error')}, "
            f"{_plural(self.warnings, 'warning')}{notes}"
        )


def summarise(findings: Sequence[Finding], files: int) -> Summary:
    """Count errors, warnings and notes."""
    errors = sum(1 for f in findings if f.severity == "error")
    notes = sum(1 for f in findings if f.severity == "note")
    return Summary(files, errors, len(findings) - errors - notes, notes)


def render(
    fmt: str,
    findings: Sequence[Finding],
    summary: Summary,
    catalog: Mapping[str, CodeInfo] | None = None,
) -> str:
    """The whole report in ``fmt`` (one of FORMATS), ending in a newline."""
    if fmt == "text":
        return text(findings, summary)
    if fmt == "github":
        return github(findings, summary)
    if fmt == "json":
        import json  # not on the hook's text path

        return json.dumps(as_json(findings, summary), indent=2) + "\n"
    if fmt == "sarif":
        import json

        return json.dumps(sarif(findings, catalog or {}), indent=2) + "\n"
    raise ValueError(f"unknown format {fmt!r}")


def text(findings: Sequence[Finding], summary: Summary) -> str:
    """``path:line:col: severity code message`` and an indented ``help:`` line per finding."""
    lines = []
    for f in findings:
        lines.append(f"{f.path}:{f.line}:{f.column}: {f.severity} {f.code} {_one_line(f.message)}")
        if f.help:
            lines.append(f"    help: {_one_line(f.help)}")
    lines.append(summary.line())
    return "\n".join(lines) + "\n"


def github(findings: Sequence[Finding], summary: Summary) -> str:
    """GitHub Actions workflow commands: ``::error file=...,line=...,col=...,title=code::msg``."""
    lines = []
    for f in findings:
        props = ",".join(
            f"{key}={_escape_property(str(value))}"
            for key, value in (
                ("file", f.path),
                ("line", f.line),
                ("col", f.column),
                ("title", f.code),
            )
        )
        message = _one_line(f.message) + (f"\nhelp: {_one_line(f.help)}" if f.help else "")
        command = "notice" if f.severity == "note" else f.severity  # GitHub's word for a note
        lines.append(f"::{command} {props}::{_escape_data(message)}")
    lines.append(summary.line())
    return "\n".join(lines) + "\n"


def as_json(findings: Sequence[Finding], summary: Summary) -> dict[str, Any]:
    """A JSON document: the summary counts and every finding as an object."""
    counts = {"notes": summary.notes} if summary.notes else {}  # as in the text summary
    return {
        "version": 1,
        "files": summary.files,
        "errors": summary.errors,
        "warnings": summary.warnings,
        **counts,
        "findings": [
            {
                "path": f.path,
                "line": f.line,
                "column": f.column,
                "severity": f.severity,
                "code": f.code,
                "message": f.message,
                "help": f.help,
            }
            for f in findings
        ],
    }


def sarif(findings: Sequence[Finding], catalog: Mapping[str, CodeInfo]) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run; uploadable to GitHub code scanning."""
    codes = sorted({f.code for f in findings} | set(catalog))
    index = {code: i for i, code in enumerate(codes)}
    rules = []
    for code in codes:
        info = catalog.get(code)
        rule: dict[str, Any] = {
            "id": code,
            "name": code,
            "defaultConfiguration": {"level": info.severity if info else "error"},
        }
        if info is not None:
            rule["shortDescription"] = {"text": info.summary}
            rule["properties"] = {"layer": info.layer, "enabledByDefault": info.enabled}
        rules.append(rule)
    results = []
    for f in findings:
        results.append(
            {
                "ruleId": f.code,
                "ruleIndex": index[f.code],
                "level": f.severity,
                "message": {"text": f.message + (f"\nhelp: {f.help}" if f.help else "")},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": _uri(f.path)},
                            "region": {
                                "startLine": max(f.line, 1),
                                "startColumn": max(f.column, 1),
                            },
                        }
                    }
                ],
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "rally-gitops",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def _uri(path: str) -> str:
    """A relative URI reference: forward slashes, spaces and the like percent-encoded."""
    return quote(path.replace("\\", "/"))


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def _one_line(value: str) -> str:
    """No line breaks or terminal control characters from file content in a report line."""
    return "".join(c if c.isprintable() else " " for c in value)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
