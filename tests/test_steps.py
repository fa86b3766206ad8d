"""Numbered steps: what a step reports goes indented under its header, through a Report."""

from __future__ import annotations

import re

import pytest

from rally_gitops.errors import RallyError
from rally_gitops.steps import Report, run_step


def test_a_step_reports_indented_under_its_header(capsys: pytest.CaptureFixture[str]) -> None:
    def step(report: Report) -> str:
        report("first line")
        report("second line")
        return "2 things done"

    assert run_step(2, 5, "deploy", step) == "2 things done"
    out = capsys.readouterr().out
    assert re.fullmatch(
        r"\[2/5\] deploy \.\.\.\n      first line\n      second line\n"
        r"\[2/5\] deploy: ok \(\d+\.\ds\) 2 things done\n",
        out,
    ), out


def test_a_quiet_step_stays_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_step(1, 1, "check", lambda _report: "fine") == "fine"
    assert re.fullmatch(r"\[1/1\] check \.\.\. ok \(\d+\.\ds\) fine\n", capsys.readouterr().out)


def test_stdout_is_not_captured(capsys: pytest.CaptureFixture[str]) -> None:
    """No redirect_stdout: only what goes through the Report is indented."""

    def step(_report: Report) -> str:
        print("printed directly")
        return "ok"

    run_step(1, 2, "smoke", step)
    out = capsys.readouterr().out
    assert re.fullmatch(r"\[1/2\] smoke \.\.\.printed directly\n ok \(\d+\.\ds\) ok\n", out), out


def test_a_failed_step_says_failed_and_raises(capsys: pytest.CaptureFixture[str]) -> None:
    def step(report: Report) -> str:
        report("postgresql://app:hunter2@db.example/app refused")
        raise RallyError("refused")

    with pytest.raises(RallyError, match="^refused$"):
        run_step(3, 5, "smoke", step)
    out = capsys.readouterr().out
    assert re.fullmatch(
        r"\[3/5\] smoke \.\.\.\n      postgresql://app:\S+@db\.example/app refused\n"
        r"\[3/5\] smoke: FAILED \(\d+\.\ds\)\n",
        out,
    ), out
    assert "hunter2" not in out
