"""Many files at once (``lint --all``) on every core: contiguous runs of files in forked workers.

Each file's checks depend on nothing but the file and the directory's earlier files (which each
worker reads itself), so the files are cut into as many contiguous runs as there are cores; the
first run is checked here, each other one in a child forked after the rules were loaded (nothing
to import again), which sends its findings back through a pipe. The findings are concatenated in
file order: the result is the one a single process gives (``tests/lint/test_workers.py``). A
worker that fails to answer is no error: its files are checked here instead.

Forking pays for its ~10 ms per worker only from a few hundred files on; a process with threads
is never forked (a child would inherit locks held by the other threads).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TypeVar, cast

Job = TypeVar("Job")
Result = TypeVar("Result")  # what checking one run of jobs gives (picklable)
MIN_FILES = 200  # below this the files take less time than starting the workers
MAX_WORKERS = 4  # each worker folds the history before its first file again
# Folding an earlier file (schema_history: read, parse, apply its table statements) costs about
# a fifth of checking it (instruction counts over the 820-file Prisma shape): a later run, which
# folds every file before its first one, gets fewer files, so that all runs end together.
FOLD_SHARE = 0.2


def worker_count(files: int) -> int:
    """How many processes to check ``files`` files with (1: no worker)."""
    if files < MIN_FILES or not hasattr(os, "fork"):
        return 1
    import threading  # here: the hook on a few files never gets this far

    if threading.active_count() > 1:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS, files // (MIN_FILES // 2)))


def run_split(
    jobs: Sequence[Job], workers: int, check: Callable[[Sequence[Job]], Result]
) -> list[Result]:
    """``check(run)`` of each of ``workers`` contiguous runs of ``jobs``, in order."""
    if workers <= 1 or len(jobs) < 2:
        return [check(jobs)]
    bounds = run_bounds(len(jobs), workers)
    runs = [jobs[start:end] for start, end in zip(bounds, bounds[1:], strict=False) if end > start]
    children = [_fork(run, check) for run in runs[1:]]
    results = [check(runs[0])]
    for run, (pid, reader) in zip(runs[1:], children, strict=True):
        answer: tuple[Result] | None = _collect(pid, reader)
        results.append(check(run) if answer is None else answer[0])
    return results


def run_bounds(count: int, workers: int, fold: float = FOLD_SHARE) -> list[int]:
    """Where each of ``workers`` contiguous runs of ``count`` files starts, and ``count``.

    Run ``i`` costs its ``n_i`` files plus ``fold`` times the ``s_i`` files before it; with the
    same cost ``T`` for every run, ``s_(i+1) = (1 - fold) * s_i + T``, so the last bound
    ``s_workers = T * (1 - (1 - fold) ** workers) / fold`` is ``count``.
    """
    keep = 1.0 - fold
    total = count * fold / (1.0 - keep**workers) if fold > 0 else count / workers
    bounds, start = [0], 0.0
    for _ in range(workers - 1):
        start = keep * start + total
        bounds.append(min(count, max(bounds[-1] + 1, round(start))))
    return [*bounds, count]


def background(compute: Callable[[], Result], files: int) -> Callable[[], Result]:
    """``compute`` started in a forked child while this process goes on; the function returned
    gives its result, or raises what it raised. Without a worker (few files, threads, no fork)
    ``compute`` runs here and now. A child that does not answer is replaced by ``compute()``."""
    if worker_count(files) <= 1:
        value = compute()
        return lambda: value

    def outcome(_: object) -> tuple[Result | None, Exception | None]:
        try:
            return compute(), None
        except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
            return None, exc

    pid, reader = _fork((), outcome)

    def result() -> Result:
        answer: tuple[tuple[Result | None, Exception | None]] | None = _collect(pid, reader)
        if answer is None:
            return compute()
        value, error = answer[0]
        if error is not None:
            raise error
        return cast(Result, value)

    return result


def _fork(run: Sequence[Job], check: Callable[[Sequence[Job]], Result]) -> tuple[int, int]:
    import pickle

    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: check, answer, and leave without running the parent's cleanups
        code = 1
        try:
            os.close(reader)
            data = pickle.dumps((check(run),), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(writer, "wb") as pipe:
                pipe.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(writer)
    return pid, reader


def _collect(pid: int, reader: int) -> tuple[Result] | None:
    """The child's result, or None when it did not deliver it (it crashed, was killed)."""
    import pickle

    with os.fdopen(reader, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return None
    try:
        answer: tuple[Result] = pickle.loads(data)  # noqa: S301 - our own child's answer
    except Exception:  # noqa: BLE001 - a truncated answer: check the files here
        return None
    return answer
