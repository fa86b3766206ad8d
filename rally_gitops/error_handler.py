"""One place that maps exceptions to a clean message and an exit code."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable

from rally_gitops import __version__
from rally_gitops.errors import EXIT_CRASH, EXIT_FAILED, EXIT_INTERRUPTED, RallyError
from rally_gitops.redact import scrub


def run_guarded(func: Callable[[], int]) -> int:
    """Run ``func``; a ``RallyError`` becomes ``error: message`` and its exit code.

    Anything unexpected becomes a short report (no secrets: every line is scrubbed) and exit 3;
    ``RALLY_DEBUG=1`` prints the full traceback for a bug report.
    """
    try:
        return func()
    except RallyError as exc:
        print(f"error: {scrub(exc.message)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if os.environ.get("RALLY_DEBUG"):
            print(scrub(traceback.format_exc()), file=sys.stderr)
        print(
            f"error: unexpected {type(exc).__name__}: {scrub(str(exc))} "
            f"(rally-gitops {__version__}; set RALLY_DEBUG=1 for details and report it)",
            file=sys.stderr,
        )
        return EXIT_CRASH
