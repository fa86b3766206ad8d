"""CLI start-up: only the named command's module is imported, the rest behaves as before."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rally_gitops.main import build_parser, command_modules, command_word
from testing.process import run_process


@pytest.mark.parametrize(
    ("argv", "word"),
    [
        (["status", "--env", "staging"], "status"),
        (["-C", "status", "deploy", "--env", "local"], "deploy"),
        (["--project", "/x", "ledger", "export"], "ledger"),
        (["--project=/x", "plan"], "plan"),
        (["-h", "status"], None),
        (["--help"], None),
        (["--version"], None),
        ([], None),
    ],
)
def test_command_word(argv: list[str], word: str | None) -> None:
    assert command_word(argv) == word


def test_parser_for_one_command_registers_only_that_command() -> None:
    sub = build_parser("status")._subparsers._group_actions[0]
    assert list(sub.choices) == ["status"]


def test_unknown_word_gets_the_whole_parser() -> None:
    sub = build_parser("nosuch")._subparsers._group_actions[0]
    assert set(command_modules()) <= set(sub.choices)


def test_unknown_command_lists_every_command(project: Path) -> None:
    result = run_process(["nosuch"], cwd=project)
    assert result.code == 2
    assert "invalid choice: 'nosuch'" in result.err
    for name in ("deploy", "status", "plan"):
        assert f"'{name}'" in result.err


def test_project_option_before_the_command(project: Path, tmp_path: Path) -> None:
    """``-C DIR`` takes a value: a directory named like a command is not the command."""
    result = run_process(["-C", str(project), "new", "add widgets"], cwd=tmp_path)
    assert result.code == 0, result.text
    assert list((project / "migrations").glob("*_add_widgets.sql"))


def test_top_level_help_lists_every_command(project: Path) -> None:
    result = run_process(["--help"], cwd=project)
    assert result.code == 0
    for name in ("deploy", "status", "check", "baseline", "repair"):
        assert name in result.out


LOADED = """
import sys
from rally_gitops.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = ("psycopg", "pglast", "sqlglot", "git", "requests", "shutil", "rally_gitops.commands.")
print("MODULES:", *sorted(m for m in sys.modules if m.startswith(heavy)))
"""


def loaded_modules(*argv: str) -> tuple[str, set[str]]:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", LOADED, *argv], capture_output=True, text=True, check=True
    )
    shown, _, modules = proc.stdout.rpartition("MODULES:")
    return shown.strip(), set(modules.split())


def test_version_imports_no_command_and_no_driver() -> None:
    shown, modules = loaded_modules("--version")
    assert shown == "rally-gitops 0.1.0"
    assert modules == set()


def test_version_after_the_project_option() -> None:
    shown, modules = loaded_modules("-C", "/nonexistent", "--version")
    assert (shown, modules) == ("rally-gitops 0.1.0", set())


def test_help_imports_no_driver_parser_or_linter() -> None:
    shown, modules = loaded_modules("--help")
    assert "deploy" in shown
    # the command modules only (init's templates need shutil)
    assert {m.split(".")[0] for m in modules} - {"shutil"} == {"rally_gitops"}


@pytest.mark.parametrize("command", ["lint", "validate", "deploy", "status", "workflow"])
def test_a_command_parser_imports_no_driver_parser_or_linter(command: str) -> None:
    """Building the parser of one command (here for its ``--help``) loads none of psycopg,
    pglast, sqlglot, gitpython or requests: the command's work imports them when it runs."""
    shown, modules = loaded_modules(command, "--help")
    assert f"usage: rally-gitops {command}" in shown
    assert {m for m in modules if not m.startswith("rally_gitops.")} == set()


def modules_after(code: str) -> set[str]:
    import subprocess
    import sys

    script = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return set(proc.stdout.split())


def test_status_start_up_loads_neither_git_nor_the_embedded_server() -> None:
    """``status`` of staging or production needs neither (docs/benchmarks.md, status timing)."""
    modules = modules_after("from rally_gitops.main import build_parser\nbuild_parser('status')")
    assert "rally_gitops.commands.status" in modules
    assert {"rally_gitops.git", "rally_gitops.postgres.embedded"} & modules == set()


def test_the_lint_hook_loads_no_history_layer() -> None:
    """The lint hook on one file runs the checker, never the git history layer."""
    modules = modules_after(
        "import rally_gitops_hooks.migration_lint\nimport rally_gitops.lint.checker"
    )
    assert "rally_gitops.lint.checker" in modules
    assert {"rally_gitops.lint.history", "rally_gitops.git", "git"} & modules == set()


def test_lint_loads_git_only_where_it_runs_the_history() -> None:
    """``lint --all`` runs the history layer in a forked worker: the parent, which checks the
    files, need not load git's module (subprocess, hashlib) before it forks."""
    modules = modules_after(
        "from rally_gitops.main import build_parser\nbuild_parser('lint')\n"
        "import rally_gitops.lint.run, rally_gitops.lint.checker"
    )
    assert "rally_gitops.commands.lint" in modules
    assert {"rally_gitops.git", "rally_gitops.lint.history", "subprocess"} & modules == set()


def test_status_and_a_deploy_with_nothing_pending_never_import_dataclasses(
    cli, project: Path, database_url: str
) -> None:
    """``dataclasses`` imports ``inspect`` (with ast, dis and tokenize): a tenth of ``status``.
    The records both commands build are NamedTuples; a real run of each shows what it loaded."""
    import subprocess

    env = {**os.environ, "DATABASE_STAGING_URL": database_url}
    assert cli("deploy", "--env", "staging", "--yes", "--no-backup", env=env).code == 0
    code = (
        "import sys\nfrom rally_gitops.main import main\n"
        "codes = [main(['-C', sys.argv[1], 'status', '--env', 'staging']),"
        " main(['-C', sys.argv[1], 'deploy', '--env', 'staging', '--yes'])]\n"
        "print('CODES', *codes, 'LOADED', *sorted({'dataclasses', 'inspect'} & set(sys.modules)))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(project)], capture_output=True, text=True, env=env
    )
    assert "up to date" in proc.stdout, proc.stderr
    assert proc.stdout.split("CODES")[1].split() == ["0", "0", "LOADED"], proc.stdout


def test_the_embedded_default_needs_no_dataclasses_either() -> None:
    """``local`` without ``DATABASE_URL`` (the README's main job) finds its embedded server
    running through ``postgres.embedded``: its records are NamedTuples too (0.015 s)."""
    modules = modules_after(
        "from rally_gitops.main import build_parser\nbuild_parser('status')\n"
        "import rally_gitops.postgres.embedded, rally_gitops.postgres.db"
    )
    assert "rally_gitops.postgres.embedded" in modules
    assert {"dataclasses", "inspect"} & modules == set()


def test_the_console_script_freezes_what_lives_before_the_interpreter_exits() -> None:
    """``rally-gitops`` collects rarely and freezes every object at exit
    (``rally_gitops.tune_collector``); ``main`` itself, which tests and library users call,
    changes nothing."""
    from importlib.metadata import entry_points

    (script,) = entry_points(group="console_scripts", name="rally-gitops")
    at_exit = {}
    for called in (script.value, "rally_gitops.main:main"):
        module, _, function = called.partition(":")
        code = (
            "import atexit, gc, importlib, sys\n"
            "atexit.register(lambda: print('AT EXIT', gc.get_freeze_count() > 0,"
            " gc.get_threshold()[0]))\n"
            f"sys.argv = ['rally-gitops', '--version']\n"
            f"raise SystemExit(getattr(importlib.import_module({module!r}), {function!r})())"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert proc.stdout.startswith("rally-gitops 0.1.0\n"), proc.stderr
        at_exit[called] = proc.stdout.split("AT EXIT")[1].split()
    assert at_exit == {script.value: ["True", "70000"], "rally_gitops.main:main": ["False", "700"]}
