"""Running the CLI as a real process, and the paths the tests share."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE_MIGRATIONS = REPO / "migrations"
URL_VARIABLES = ("DATABASE_URL", "DATABASE_STAGING_URL", "DATABASE_PUBLIC_URL")


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def interruptible() -> None:
    """``preexec_fn`` of a child the test sends SIGINT: Ctrl-C's default disposition, also when
    the tests run with SIGINT ignored (a background job of a shell without job control, such as
    ``bash -c 'bash .ci/run' &``, which a child would inherit: Python then installs no
    KeyboardInterrupt handler)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_process(
    args: list[str],
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 120,
) -> Result:
    """Run ``python -m rally_gitops ARGS`` as a real process (for tracebacks, argv, exit codes)."""
    full_env = {k: v for k, v in os.environ.items() if k not in URL_VARIABLES}
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "rally_gitops", *args],
        cwd=cwd,
        env=full_env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)
