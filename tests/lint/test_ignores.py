"""Ignore directives: next statement, whole file, unused ones reported, settings applied."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from rally_gitops.lint.model import FileContext, Violation
from testing.lint_support import codes, crashing_rule, good, lint_text, stand_in_rule

RULE = stand_in_rule()


def test_stand_in_rule_fires_without_directive(tmp_path: Path) -> None:
    text = good(body="CREATE TABLE a (id int);\nINSERT INTO a SELECT * FROM b;")
    [finding] = lint_text(tmp_path, text, rules=[RULE])
    assert (finding.code, finding.line, finding.column) == ("no-select-star", 5, 1)
    assert finding.help == "name the columns"


def test_ignore_applies_to_the_next_statement_only(tmp_path: Path) -> None:
    body = (
        "-- rally:ignore no-select-star -- copying a staging table\n"
        "INSERT INTO a\n  SELECT * FROM b;\n"
        "INSERT INTO c SELECT * FROM d;"
    )
    findings = lint_text(tmp_path, good(body=body), rules=[RULE])
    assert [(f.code, f.line) for f in findings] == [("no-select-star", 7)]


def test_ignore_at_the_end_of_a_statement_line(tmp_path: Path) -> None:
    body = "INSERT INTO a SELECT * FROM b; -- rally:ignore no-select-star"
    assert lint_text(tmp_path, good(body=body), rules=[RULE]) == []


def test_ignore_names_several_codes(tmp_path: Path) -> None:
    other = stand_in_rule("also-select-star")
    body = "-- rally:ignore no-select-star, also-select-star\nINSERT INTO a SELECT * FROM b;"
    assert lint_text(tmp_path, good(body=body), rules=[RULE, other]) == []


def test_ignore_file(tmp_path: Path) -> None:
    text = good(body="INSERT INTO a SELECT * FROM b;\nINSERT INTO c SELECT * FROM d;")
    text = text.replace("BEGIN;", "-- rally:ignore-file no-select-star\nBEGIN;", 1)
    assert lint_text(tmp_path, text, rules=[RULE]) == []


def test_ignore_file_suppresses_file_layer_codes(tmp_path: Path) -> None:
    text = (
        good()
        .split("-- Rollback")[0]
        .replace("BEGIN;", "-- rally:ignore-file rollback-missing\nBEGIN;", 1)
    )
    assert lint_text(tmp_path, text) == []


def test_unused_ignore_is_reported(tmp_path: Path) -> None:
    body = "-- rally:ignore no-select-star\nCREATE TABLE a (id int);"
    [finding] = lint_text(tmp_path, good(body=body), rules=[RULE])
    assert (finding.code, finding.severity, finding.line) == ("unused-ignore", "warning", 4)
    assert "suppresses nothing" in finding.message


def test_unused_ignore_file_and_unknown_code(tmp_path: Path) -> None:
    text = good().replace(
        "BEGIN;", "-- rally:ignore-file no-select-star\n-- rally:ignore nope\nBEGIN;", 1
    )
    findings = lint_text(tmp_path, text, rules=[RULE])
    assert codes(findings) == ["unused-ignore", "unused-ignore"]
    assert "unknown code 'nope'" in findings[1].message


def test_ignore_for_a_disabled_rule_is_not_reported(tmp_path: Path) -> None:
    body = "-- rally:ignore no-select-star\nCREATE TABLE a (id int);"
    findings = lint_text(
        tmp_path, good(body=body), rules=[RULE], settings='disable = ["no-select-star"]'
    )
    assert findings == []


def test_directive_inside_a_string_line_is_not_a_directive(tmp_path: Path) -> None:
    body = "INSERT INTO a SELECT * FROM b WHERE x = 'rally:ignore no-select-star';"
    assert codes(lint_text(tmp_path, good(body=body), rules=[RULE])) == ["no-select-star"]


def test_rules_see_the_ignored_codes(tmp_path: Path) -> None:
    seen: list[set[str]] = []

    def record_ignored(ctx: FileContext) -> Iterator[Violation]:
        seen.extend(st.ignored for st in ctx.statements)
        return iter(())

    module = stand_in_rule("record-ignored")._replace(function=record_ignored)
    body = "-- rally:ignore no-select-star\nINSERT INTO a SELECT * FROM b;"
    lint_text(tmp_path, good(body=body), rules=[module, RULE])
    assert seen == [set(), {"no-select-star"}, set()]


def test_disable_enable_and_severity_settings(tmp_path: Path) -> None:
    text = good(body="INSERT INTO a SELECT * FROM b;").split("-- Rollback")[0]
    assert codes(lint_text(tmp_path / "a", text, rules=[RULE])) == [
        "no-select-star",
        "rollback-missing",
    ]
    findings = lint_text(
        tmp_path / "b",
        text,
        rules=[RULE],
        settings='disable = ["rollback-missing"]\nseverity = { no-select-star = "warning" }',
    )
    assert [(f.code, f.severity) for f in findings] == [("no-select-star", "warning")]
    opt_in = stand_in_rule("opt-in-star", enabled=False)
    assert codes(lint_text(tmp_path / "c", text, rules=[opt_in])) == ["rollback-missing"]
    enabled = lint_text(tmp_path / "d", text, rules=[opt_in], settings='enable = ["opt-in-star"]')
    assert codes(enabled) == ["opt-in-star", "rollback-missing"]
    every = lint_text(tmp_path / "e", text, rules=[opt_in], settings='enable = ["all"]')
    assert codes(every) == ["opt-in-star", "rollback-missing"]


def test_crashing_rule_becomes_internal_error(tmp_path: Path) -> None:
    text = good(body="INSERT INTO a SELECT * FROM b;")
    findings = lint_text(tmp_path, text, rules=[crashing_rule(), RULE])
    assert codes(findings) == ["internal-error", "no-select-star"]
    assert "always-crashes" in findings[0].message and "ZeroDivisionError" in findings[0].message
