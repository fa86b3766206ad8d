"""rally-gitops: safe PostgreSQL schema delivery from a laptop to staging and production."""

from __future__ import annotations

__version__ = "0.1.0"
YOUNG_OBJECTS = 70_000  # allocations between collections of the youngest generation (700)


def tune_collector() -> None:
    """The garbage collector of a process that lives for one command (the console scripts'
    only: a library user's or a test's process keeps the collector as it was).

    Such a process allocates mostly objects that live as long as it does (modules, parsed files,
    the rules): the cyclic collector's passes over them find nothing, and the interpreter's
    final collections walk all of them once more, 0.02-0.03 s of a 0.19 s ``status``
    (docs/benchmarks.md). As mypy does, the youngest generation is collected a hundred times
    less often; and everything alive is frozen when the atexit callbacks run, just before those
    final collections.
    """
    import atexit
    import gc

    gc.set_threshold(YOUNG_OBJECTS, 50, 100)
    atexit.register(gc.freeze)
