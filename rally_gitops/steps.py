"""Progress output: the ``Report`` callable, and numbered steps with timing.

``[1/5] check ... ok (0.2s)``, with what the step reports indented below its header.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from rally_gitops.errors import RallyError
from rally_gitops.redact import scrub

# Where a concern writes its progress lines (the commands pass ``cli.out`` or a step's writer).
Report = Callable[[str], None]
INDENT = "      "


def run_step(number: int, total: int, title: str, func: Callable[[Report], str]) -> str:
    """``[n/N] title ... ok (0.2s) summary``; ``func`` gets a ``Report`` that writes in between.

    Returns ``func``'s one-line summary; a ``RallyError`` marks the step FAILED and propagates.
    """
    stream = sys.stdout  # looked up per call: tests capture it
    print(f"[{number}/{total}] {title} ...", end="", file=stream, flush=True)
    started = time.perf_counter()
    writer = Indented(stream)
    try:
        summary = func(writer.line)
    except RallyError:
        writer.close_line()
        lead = f"[{number}/{total}] {title}: " if writer.wrote else " "
        print(f"{lead}FAILED ({time.perf_counter() - started:.1f}s)", file=stream, flush=True)
        raise
    writer.close_line()
    lead = f"[{number}/{total}] {title}: " if writer.wrote else " "
    print(
        scrub(f"{lead}ok ({time.perf_counter() - started:.1f}s) {summary}"),
        file=stream,
        flush=True,
    )
    return summary


class Indented:
    """Writes to ``target`` indented, starting a new line after the step's ``...`` header."""

    def __init__(self, target: TextIO) -> None:
        self.target = target
        self.wrote = False
        self.at_line_start = True

    def line(self, text: str) -> None:
        """One reported line (a ``Report``), scrubbed and indented, flushed for live CI logs."""
        self.write(text + "\n")
        self.target.flush()

    def write(self, text: str) -> int:
        for piece in text.splitlines(keepends=True):
            if not self.wrote:
                self.target.write("\n")
                self.wrote = True
            if self.at_line_start:
                self.target.write(INDENT)
            self.target.write(scrub(piece))
            self.at_line_start = piece.endswith("\n")
        return len(text)

    def close_line(self) -> None:
        if self.wrote and not self.at_line_start:
            self.target.write("\n")
