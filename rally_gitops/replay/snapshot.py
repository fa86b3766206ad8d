"""A throwaway database holding a list of migrations, for looking at the schema they make.

Built like replay's prefix: the migrations are applied once into a cached template (named after
their checksums), which is cloned into a work database that lives for the ``with`` block.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rally_gitops.config import Config
from rally_gitops.errors import DatabaseError, RallyError
from rally_gitops.files.migrations import Migration
from rally_gitops.postgres.db import connect, describe
from rally_gitops.replay import cache
from rally_gitops.replay.cache import PREFIX
from rally_gitops.replay.run import ReplayServer, replay_server, template_database
from rally_gitops.replay.steps import ReplayFailure

if TYPE_CHECKING:
    import psycopg


@contextmanager
def replayed(config: Config, migrations: list[Migration]) -> Iterator[str]:
    """Yield the URL of a fresh database with ``migrations`` applied in order; dropped after.

    A migration that fails is a ``RallyError`` naming the file, line and PostgreSQL's message.
    """
    import psycopg

    server = replay_server(config)
    work = f"{PREFIX}run_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        with connect(server.admin_url, autocommit=True, purpose="replay") as admin:
            with cache.advisory_lock(admin):
                template = _template(admin, server, config, migrations)
                cache.create_database(admin, work, template)
                cache.evict(admin, keep=template, local=server.embedded)
            try:
                yield server.url(work)
            finally:
                cache.drop_database(admin, work)
    except psycopg.Error as exc:
        raise DatabaseError(f"replay on {server.label}: {describe(exc)}") from None


@contextmanager
def replayed_template(config: Config, migrations: list[Migration]) -> Iterator[str]:
    """``replayed`` without the copy, for reading only: yield the URL of the cached template
    holding ``migrations`` while this session holds the cache's lock (no other replay renames,
    clones or evicts it meanwhile). A copy of a 300-migration template costs more than reading
    its schema. With no migrations, a database kept as ``CREATE DATABASE`` makes it
    (``cache.empty_database``)."""
    import psycopg

    server = replay_server(config)
    try:
        with connect(server.admin_url, autocommit=True, purpose="replay") as admin:
            with cache.advisory_lock(admin):
                template = _template(admin, server, config, migrations)
                if template is None:  # no migrations
                    template = cache.empty_database(admin)
                else:
                    cache.evict(admin, keep=template, local=server.embedded)
                yield server.url(template)
    except psycopg.Error as exc:
        raise DatabaseError(f"replay on {server.label}: {describe(exc)}") from None


def _template(
    admin: psycopg.Connection, server: ReplayServer, config: Config, migrations: list[Migration]
) -> str | None:
    """The cached template holding ``migrations`` (None for none), built or extended under the
    cache's lock that the caller holds; a migration that fails is a ``RallyError``."""
    try:
        template, _, _ = template_database(admin, server, config, migrations)
    except ReplayFailure as failure:
        raise RallyError(_failed(config, failure, server.label)) from None
    return template


def _failed(config: Config, failure: ReplayFailure, server: str) -> str:
    """``the migrations do not replay: migrations/X.sql:5: <PostgreSQL's message>``."""
    path = failure.migration.path
    shown = path.relative_to(config.root) if path.is_relative_to(config.root) else path
    message = failure.finding(server).message
    return f"the migrations do not replay: {shown}:{failure.line}: {message}"
