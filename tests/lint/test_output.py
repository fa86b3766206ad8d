"""Output formats: text, GitHub annotations, JSON and SARIF 2.1.0."""

from __future__ import annotations

import json

import pytest

from rally_gitops.lint.model import Finding
from rally_gitops.lint.output import render, summarise
from rally_gitops.lint.settings import CodeInfo

FINDINGS = [
    Finding(
        "migrations/20250101_000000_a.sql",
        4,
        24,
        "error",
        "syntax-error",
        'syntax error at or near ")": 100% sure, a, b',
        "fix the SQL",
    ),
    Finding("migrations/20250101_000000_a.sql", 9, 1, "warning", "rollback-missing", "no rollback"),
]
CATALOG = {
    "syntax-error": CodeInfo("syntax-error", "error", True, "invalid SQL", "grammar"),
    "rollback-missing": CodeInfo("rollback-missing", "warning", True, "no rollback", "file"),
    "prefer-bigint": CodeInfo("prefer-bigint", "warning", False, "int instead of bigint", "rule"),
}
SUMMARY = summarise(FINDINGS, 3)


def test_summary_counts() -> None:
    assert SUMMARY.line() == "3 files, 1 error, 1 warning"
    assert summarise([], 1).line() == "1 file, 0 errors, 0 warnings"


def test_text_format() -> None:
    lines = render("text", FINDINGS, SUMMARY).splitlines()
    assert lines[0] == (
        "migrations/20250101_000000_a.sql:4:24: error syntax-error "
        'syntax error at or near ")": 100% sure, a, b'
    )
    assert lines[1] == "    help: fix the SQL"
    assert lines[2].startswith("migrations/20250101_000000_a.sql:9:1: warning rollback-missing")
    assert lines[-1] == "3 files, 1 error, 1 warning"


def test_github_annotations_are_escaped() -> None:
    lines = render("github", FINDINGS, SUMMARY).splitlines()
    assert lines[0] == (
        "::error file=migrations/20250101_000000_a.sql,line=4,col=24,title=syntax-error::"
        'syntax error at or near ")": 100%25 sure, a, b%0Ahelp: fix the SQL'
    )
    assert lines[1].startswith("::warning file=migrations/20250101_000000_a.sql,line=9,col=1,")
    odd = Finding("a,b:c.sql", 1, 1, "error", "x", "line1\nline2\r\x1b[31m")
    [line, _] = render("github", [odd], summarise([odd], 1)).splitlines()
    assert line == "::error file=a%2Cb%3Ac.sql,line=1,col=1,title=x::line1 line2  [31m"


def test_text_lines_have_no_control_characters() -> None:
    odd = Finding("a.sql", 1, 1, "error", "x", "bad\nline\x1b[2J", "fix\rit")
    lines = render("text", [odd], summarise([odd], 1)).splitlines()
    assert lines[:2] == ["a.sql:1:1: error x bad line [2J", "    help: fix it"]


def test_json_parses_and_has_every_field() -> None:
    data = json.loads(render("json", FINDINGS, SUMMARY))
    assert (data["files"], data["errors"], data["warnings"]) == (3, 1, 1)
    assert data["findings"][0] == {
        "path": "migrations/20250101_000000_a.sql",
        "line": 4,
        "column": 24,
        "severity": "error",
        "code": "syntax-error",
        "message": 'syntax error at or near ")": 100% sure, a, b',
        "help": "fix the SQL",
    }


def test_sarif_structure() -> None:
    log = json.loads(render("sarif", FINDINGS, SUMMARY, CATALOG))
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "rally-gitops"
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert set(rule_ids) == set(CATALOG)
    for result in run["results"]:
        rule = driver["rules"][result["ruleIndex"]]
        assert rule["id"] == result["ruleId"]
        assert result["level"] in {"error", "warning"}
        [location] = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == "migrations/20250101_000000_a.sql"
        assert physical["region"]["startLine"] >= 1
    first = run["results"][0]
    assert first["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 4,
        "startColumn": 24,
    }
    bigint = driver["rules"][rule_ids.index("prefer-bigint")]
    assert bigint["defaultConfiguration"] == {"level": "warning"}
    assert bigint["properties"]["enabledByDefault"] is False


def test_sarif_without_findings_is_valid() -> None:
    log = json.loads(render("sarif", [], summarise([], 0), CATALOG))
    assert log["runs"][0]["results"] == []


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        render("xml", FINDINGS, SUMMARY)


NOTE = Finding("migrations/20250101_000000_a.sql", 5, 1, "note", "measured-rewrite", "empty here")


def test_notes_are_counted_and_rendered_as_each_format_names_them() -> None:
    findings = [*FINDINGS, NOTE]
    summary = summarise(findings, 1)
    assert summary.line() == "1 file, 1 error, 1 warning, 1 note"
    assert render("text", [NOTE], summarise([NOTE], 1)).splitlines() == [
        "migrations/20250101_000000_a.sql:5:1: note measured-rewrite empty here",
        "1 file, 0 errors, 0 warnings, 1 note",
    ]
    github = render("github", findings, summary).splitlines()
    assert github[2] == (
        "::notice file=migrations/20250101_000000_a.sql,line=5,col=1,title=measured-rewrite"
        "::empty here"
    )
    document = json.loads(render("json", findings, summary))
    assert (document["errors"], document["warnings"], document["notes"]) == (1, 1, 1)
    assert "notes" not in json.loads(render("json", FINDINGS, SUMMARY))  # as before notes
    results = json.loads(render("sarif", findings, summary, CATALOG))["runs"][0]["results"]
    assert [r["level"] for r in results] == ["error", "warning", "note"]
