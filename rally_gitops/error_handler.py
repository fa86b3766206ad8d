"""One place that maps exceptions to a clean message and an exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from rally_gitops import __version__
from rally_gitops.errors import EXIT_CRASH, EXIT_FAILED, EXIT_INTERRUPTED, RallyError
from rally_gitops.redact import scrub

NOTE = "note: "


def error_lines(message: str) -> list[str]:
    """A failure as printed: one ``error:`` line (the message's first line), then each further
    non-blank line of the message as a ``note:`` line (what stays applied, what to run next)."""
    first, *rest = message.strip().splitlines() or [""]
    return [f"error: {first}", *(f"{NOTE}{line.strip()}" for line in rest if line.strip())]


def run_guarded(func: Callable[[], int]) -> int:
    """Run ``func``; a ``RallyError`` becomes one ``error: message`` line (then its ``note:``
    lines, ``error_lines``) and its exit code.

    Anything unexpected becomes a short report (no secrets: every line is scrubbed) and exit 3;
    ``RALLY_DEBUG=1`` prints the full traceback for a bug report.
    """
    try:
        return func()
    except RallyError as exc:
        for line in error_lines(scrub(exc.message)):
            print(line, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if os.environ.get("RALLY_DEBUG"):
            import traceback  # only for a crash: not at every start

            print(scrub(traceback.format_exc()), file=sys.stderr)
        print(
            f"error: unexpected {type(exc).__name__}: {scrub(str(exc))} "
            f"(rally-gitops {__version__}; set RALLY_DEBUG=1 for details and report it)",
            file=sys.stderr,
        )
        return EXIT_CRASH
