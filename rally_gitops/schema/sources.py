"""What ``compare`` and ``diagram`` read: an environment, a URL, or the migrations (at a ref).

``SRC`` is ``local``/``staging``/``production`` (any configured environment), a
``postgresql://`` URL (shown redacted), ``migrations`` (the work tree's files replayed on the
throwaway server) or ``migrations@REF`` (the files as of a git ref, e.g. a pull request's base).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rally_gitops import git
from rally_gitops.config import Config
from rally_gitops.errors import ConfigError, DatabaseError
from rally_gitops.files.migrations import Migration, discover, parse
from rally_gitops.postgres.db import connect_reader, describe, resolve, validate_url
from rally_gitops.postgres.libpq import LibpqError
from rally_gitops.redact import redact_url
from rally_gitops.schema.filters import Filter
from rally_gitops.schema.introspect import introspect
from rally_gitops.schema.model import Model

MIGRATIONS = "migrations"


@dataclass(frozen=True)
class Loaded:
    """A model and where it came from, in words safe to print."""

    model: Model
    label: str


def check(config: Config, spec: str) -> None:
    """A usage error when ``spec`` names nothing ``load`` knows (checked before any work)."""
    if spec == MIGRATIONS + "@":
        raise ConfigError(f"{spec!r}: name a git ref after @ (e.g. migrations@origin/main)")
    if spec == MIGRATIONS or spec.startswith(MIGRATIONS + "@") or "://" in spec:
        return
    if spec not in config.environments:
        known = ", ".join(config.environments)
        raise ConfigError(
            f"{spec!r} is not an environment ({known}), a postgresql:// URL, "
            "'migrations' or 'migrations@REF'"
        )


def load(config: Config, spec: str, selection: Filter) -> Loaded:
    """The model ``spec`` names (see the module); a usage error for an unknown name."""
    return reader(config, spec, selection)()


def reader(config: Config, spec: str, selection: Filter) -> Callable[[], Loaded]:
    """What ``load`` does in two halves: here, in the calling thread, everything that is not
    thread-safe or may fail as usage (git reads, the environment, starting the local server);
    the returned function does the database work."""
    check(config, spec)
    if spec == MIGRATIONS or spec.startswith(MIGRATIONS + "@"):
        ref = spec.partition("@")[2]
        migrations = migrations_at(config, ref) if ref else discover(config.migrations_dir)
        return lambda: Loaded(replayed_model(config, migrations, selection), spec)
    if "://" in spec:
        validate_url(spec, "the URL")
        return lambda: Loaded(read_url(spec, selection), redact_url(spec))
    target = resolve(config, spec)
    return lambda: Loaded(read_url(target.url, selection), target.label)


def load_pair(config: Config, source: str, target: str, selection: Filter) -> tuple[Loaded, Loaded]:
    """Both models of a comparison, read at the same time (each mostly waits for its server);
    usage errors in either come before any server is contacted."""
    from concurrent.futures import ThreadPoolExecutor

    for spec in (source, target):
        check(config, spec)
    # gitpython's repository (one `git cat-file` process) is not thread-safe: read git here
    readers = [reader(config, spec, selection) for spec in (source, target)]
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="rally-schema") as pool:
        futures = [pool.submit(read) for read in readers]
        return futures[0].result(), futures[1].result()


def read_url(url: str, selection: Filter) -> Model:
    """Introspect the database at ``url`` (through libpq directly: a comparison of two databases
    never imports psycopg)."""
    with connect_reader(url, purpose="schema") as conn:
        try:
            return introspect(conn, selection)
        except LibpqError as exc:
            shown = redact_url(url)
            raise DatabaseError(f"cannot read the schema of {shown}: {describe(exc)}") from None


def replayed_model(config: Config, migrations: list[Migration], selection: Filter) -> Model:
    """The schema ``migrations`` make, replayed on the throwaway server (read in the cached
    template itself: nothing here writes)."""
    # the replay machinery (deploy ledger, lint findings...) is 20 ms of imports a comparison of
    # two databases never needs
    from rally_gitops.replay.snapshot import replayed_template

    with replayed_template(config, migrations) as url:
        return read_url(url, selection)


def migrations_at(config: Config, ref: str) -> list[Migration]:
    """The migration files of the migrations directory as of ``ref``."""
    if git.resolve(config.root, ref) is None:
        raise ConfigError(f"migrations@{ref}: {ref!r} is not a commit in this repository")
    blobs = git.tree_blobs(config, ref)
    data = git.read_blobs(config, list(blobs.values()))
    files = [parse(config.migrations_dir / name, data[sha]) for name, sha in blobs.items()]
    return sorted(files, key=lambda m: m.version)
