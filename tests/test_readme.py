"""The README is the front door: its commands must exist and CI must run its test command."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from rally_gitops.main import build_parser

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def _subcommands() -> dict[str, set[str]]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    result: dict[str, set[str]] = {}
    for name, subparser in sub.choices.items():
        nested = [
            a for a in subparser._actions if getattr(a, "choices", None) and a.dest == "action"
        ]
        result[name] = set(nested[0].choices) if nested else set()
    return result


def _code_lines() -> list[str]:
    """The lines of the README's shell code blocks (fenced ``bash``, ``sh``, ``console``...)."""
    lines: list[str] = []
    language: str | None = None  # None: outside a fence
    for line in README.splitlines():
        if line.startswith("```"):
            language = line[3:].strip() if language is None else None
        elif language in ("bash", "sh", "shell", "console", "") and line.strip():
            lines.append(line.strip())
    return lines


def test_every_rally_gitops_command_in_the_readme_exists() -> None:
    commands = _subcommands()
    inline = re.findall(r"`(rally-gitops [^`]+)`", README)
    text = "\n".join([*_code_lines(), *inline])
    used = re.findall(r"rally-gitops ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)?)", text)
    assert used, "the README shows no rally-gitops command"
    for phrase in used:
        words = phrase.split()
        assert words[0] in commands, f"README uses `rally-gitops {phrase}`: no such command"
        if commands[words[0]] and len(words) > 1 and not words[1].startswith("-"):
            assert words[1] in commands[words[0]], f"`rally-gitops {phrase}`: no such action"


def test_the_cli_reference_covers_every_command() -> None:
    for name in _subcommands():
        assert f"rally-gitops {name}" in README, f"the README does not document `{name}`"


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    test_lines = [line for line in _code_lines() if "pytest" in line]
    assert test_lines, "the README gives no test command"
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert test_lines[0] in ci.splitlines(), "CI does not run the README's test command"


def test_the_readme_main_job_deploys_local_then_shows_status() -> None:
    main_job = [line for line in _code_lines() if "deploy --env local" in line]
    assert main_job and "status" in main_job[0]


def test_every_exported_hook_is_documented() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    for hook in hooks:
        assert hook["id"] in README, f"hook {hook['id']} is not documented in the README"
