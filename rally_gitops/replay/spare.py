"""A ready copy ("spare") of the replay template, made in the background after a replay.

A replay works in a copy of the template of the committed prefix, and ``CREATE DATABASE ...
TEMPLATE`` copies every file of it: 0.3-1 s for a few hundred migrations, which each commit of a
migration waited for. After a replay on the embedded server, a detached process copies the
template it used, under the cache lock, to ``rally_replay_spr_<key>`` (the key says what it
holds). The next replay renames that copy into its work database, which is instant, and applies
the migrations the prefix gained since: the previous commit's file or two. Only the newest
template's spare is kept. IntegreSQL keeps its test databases ready the same way.

The same process drops the replay's own database, which takes a tenth of a second more.

Run as ``python -m rally_gitops.replay.spare DATA_DIR TEMPLATE [DATABASE_TO_DROP]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rally_gitops.postgres.embedded import EmbeddedServer
from rally_gitops.redact import start_detached
from rally_gitops.replay import cache, watchdog


def refill(directory: Path, template: str, *, drop: str) -> None:
    """Start the background work on the server of ``directory``: drop the replay's database
    ``drop``, copy ``template`` (detached: if it fails, the next replay clones the template
    itself, and its eviction drops what a dead replay left)."""
    start_detached(["-m", "rally_gitops.replay.spare", str(directory), template, drop])


def make(directory: Path, template: str, drop: str | None = None) -> bool:
    """Drop ``drop`` (a finished replay's database), make ``template``'s spare, dropping the
    other spares; False when it could not be made (the server gone, the template evicted or in
    use)."""
    import psycopg

    running = EmbeddedServer(directory, fast=True).running()
    if running is None:
        return False
    try:
        with psycopg.connect(running.url("postgres"), autocommit=True, connect_timeout=5) as admin:
            if drop is not None and drop.startswith(cache.PREFIX):
                cache.drop_database(admin, drop)  # not under the lock: nobody else uses it
            with cache.advisory_lock(admin):
                wanted = cache.spare_name(template)
                existing = cache.databases(admin, cache.SPARE)
                for name in existing - {wanted}:  # made for a prefix that has grown since
                    cache.drop_database(admin, name)
                if wanted in existing:
                    return True
                if template not in cache.databases(admin, cache.TEMPLATE):
                    return False
                cache.create_database(admin, wanted, template)
                return True
    except Exception:  # noqa: BLE001 - a background nicety: the replay works without it
        return False
    finally:
        watchdog.touch(directory)  # the idle time counts from here


def main(argv: list[str] | None = None) -> int:
    """``DATA_DIR TEMPLATE [DROP]``: drop DROP, make the spare; exit 0 when it exists."""
    args = sys.argv[1:] if argv is None else argv
    return 0 if make(Path(args[0]), args[1], args[2] if len(args) > 2 else None) else 1


if __name__ == "__main__":
    raise SystemExit(main())
