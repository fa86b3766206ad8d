"""Numbered steps with timing: ``[1/5] check ... ok (0.2s)``, step output indented below."""

from __future__ import annotations

import contextlib
import io
import sys
import time
from collections.abc import Callable
from typing import TextIO

from rally_gitops.errors import RallyError
from rally_gitops.redact import scrub

INDENT = "      "


def run_step(number: int, total: int, title: str, func: Callable[[], str]) -> str:
    """``[n/N] title ... ok (0.2s) summary``; output of the step goes indented in between."""
    print(f"[{number}/{total}] {title} ...", end="", flush=True)
    started = time.perf_counter()
    writer = Indented(sys.stdout)
    try:
        with contextlib.redirect_stdout(writer):
            summary = func()
    except RallyError:
        writer.close_line()
        lead = f"[{number}/{total}] {title}: " if writer.wrote else " "
        print(f"{lead}FAILED ({time.perf_counter() - started:.1f}s)", flush=True)
        raise
    writer.close_line()
    lead = f"[{number}/{total}] {title}: " if writer.wrote else " "
    print(scrub(f"{lead}ok ({time.perf_counter() - started:.1f}s) {summary}"), flush=True)
    return summary


class Indented(io.TextIOBase):
    """Writes to ``target`` indented, starting a new line after the step's ``...`` header."""

    def __init__(self, target: TextIO) -> None:
        self.target = target
        self.wrote = False
        self.at_line_start = True

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

    def flush(self) -> None:
        self.target.flush()

    def close_line(self) -> None:
        if self.wrote and not self.at_line_start:
            self.target.write("\n")
