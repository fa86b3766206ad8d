"""The session state every migration starts from, and the statements that restore it.

A plain ``SET`` (``search_path``, ``ROLE``, ``timezone``...) in one migration outlives its commit;
without a reset, the next migration of the same deploy would run under it, and one deploy of two
migrations would build another schema than two deploys of one (docs/engine.md). Each migration
therefore starts with ``SET SESSION AUTHORIZATION DEFAULT`` (which also resets ``ROLE``) and
``RESET ALL``: two utility statements in the pipeline, no extra round trip.

The tool's timeouts are startup options of the deploy connection (``session_options``), so they
are what ``RESET ALL`` goes back to: a ``RESET ALL`` inside a migration keeps them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rally_gitops.config import Config

# SET SESSION AUTHORIZATION DEFAULT is allowed to any role (back to the one that logged in);
# RESET ALL skips ROLE and SESSION AUTHORIZATION, hence both, in this order
RESET = ("SET SESSION AUTHORIZATION DEFAULT", "RESET ALL")
SETTINGS = "SELECT set_config('lock_timeout', %s, true), set_config('statement_timeout', %s, true)"
# every commit of a run but the last: the last one's WAL flush makes them all durable
SETTINGS_ASYNC = SETTINGS + ", set_config('synchronous_commit', 'off', true)"
SESSION_SETTINGS = SETTINGS.replace("true", "false")  # a no-transaction migration's session
# fails with division_by_zero (22012) when this session no longer holds the deploy lock: sent in
# the migration's transaction before its COMMIT, so a migration that released the lock
# (pg_advisory_unlock_all(), DISCARD ALL) is rolled back instead of committed unguarded
LOCK_HELD = (
    "SELECT 1 / count(*) FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_catalog.pg_backend_pid() AND classid = %s AND objid = %s AND objsubid = 2"
)
DIVISION_BY_ZERO = "22012"


def session_options(config: Config) -> str:
    """libpq ``options`` that make the configured timeouts the session's defaults (what
    ``RESET ALL`` restores). The values passed the configuration's duration check."""
    return (
        f"-c lock_timeout={_option(config.lock_timeout)} "
        f"-c statement_timeout={_option(config.statement_timeout)}"
    )


def timeouts_sql(config: Config, *, local: bool) -> str:
    """``SET [LOCAL] lock_timeout/statement_timeout`` from the configuration."""
    scope = "LOCAL " if local else ""
    return (
        f"SET {scope}lock_timeout = '{config.lock_timeout}'; "
        f"SET {scope}statement_timeout = '{config.statement_timeout}'"
    )


def _option(value: str) -> str:
    # "5 s" is a valid duration; in libpq's options a space would end the value
    return value.replace(" ", "")
