"""The one place that maps exceptions to a message and an exit code."""

from __future__ import annotations

import pytest

from rally_gitops import __version__
from rally_gitops.error_handler import run_guarded
from rally_gitops.errors import ConfigError, DeployError
from rally_gitops.redact import register_secret


def crash() -> int:
    raise ZeroDivisionError("division by zero")


def test_an_unexpected_crash_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_guarded(crash) == 3
    assert capsys.readouterr().err == (
        f"error: unexpected ZeroDivisionError: division by zero (rally-gitops {__version__}; "
        "set RALLY_DEBUG=1 for details and report it)\n"
    )


def test_the_crash_report_is_scrubbed(capsys: pytest.CaptureFixture[str]) -> None:
    register_secret("s3cr3t-crash-token")

    def leak() -> int:
        raise RuntimeError("failed on postgresql://app:s3cr3t-crash-token@db.example/app")

    assert run_guarded(leak) == 3
    err = capsys.readouterr().err
    assert err.startswith("error: unexpected RuntimeError: failed on postgresql://app:")
    assert "s3cr3t-crash-token" not in err


@pytest.mark.parametrize(
    ("error", "code"), [(DeployError("refused"), 1), (ConfigError("bad option"), 2)]
)
def test_expected_failures_keep_their_codes(
    error: Exception, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail() -> int:
        raise error

    assert run_guarded(fail) == code
    assert capsys.readouterr().err == f"error: {error}\n"


def test_a_crashing_command_exits_3_through_the_cli(cli, monkeypatch, database_url) -> None:
    from rally_gitops.commands import status

    def broken(*_args: object, **_kwargs: object) -> None:
        raise KeyError("applied_at")

    monkeypatch.setattr(status, "status_of", broken)
    # the test database: `local` alone would start an embedded server and leave it running
    result = cli("status", "--env", "local", env={"DATABASE_URL": database_url})
    assert result.code == 3
    assert result.err.startswith("error: unexpected KeyError: 'applied_at' (rally-gitops ")
    assert "Traceback" not in result.err


def test_a_multi_line_failure_is_one_error_line_then_notes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def fail() -> int:
        raise DeployError("promotion guard: 2 migration(s) refused:\n  a.sql: x\n\n  b.sql: y\n")

    assert run_guarded(fail) == 1
    assert capsys.readouterr().err == (
        "error: promotion guard: 2 migration(s) refused:\nnote: a.sql: x\nnote: b.sql: y\n"
    )
