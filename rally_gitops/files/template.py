"""A new migration file: its name (UTC timestamp and slug) and the template it starts from."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from rally_gitops.errors import ConfigError

TEMPLATE = """-- Migration: {name}
-- Description: {description}
-- Generated: {generated}
{no_transaction}
{body}
-- Rollback script (uncomment if needed):
{rollback}"""
TX_BODY = "BEGIN;\n\n-- Write the migration here.\n\nCOMMIT;\n"
TX_ROLLBACK = "-- BEGIN;\n-- \n-- COMMIT;\n"
NOTX_BODY = "-- Runs outside a transaction (e.g. CREATE INDEX CONCURRENTLY): no BEGIN/COMMIT.\n"
NOTX_ROLLBACK = "-- \n"


def slugify(description: str) -> str:
    """``"Add user preferences!"`` → ``add_user_preferences`` (a-z, 0-9, _; at most 60 chars)."""
    slug = re.sub(r"[^a-z0-9]+", "_", description.lower()).strip("_")[:60].strip("_")
    if not slug:
        raise ConfigError(f"description {description!r} has no letters or digits to name the file")
    return slug


def write_new(
    directory: Path,
    description: str,
    *,
    no_transaction: bool = False,
    now: dt.datetime | None = None,
) -> Path:
    """Write ``<directory>/<UTC timestamp>_<slug>.sql``; a taken second moves to the next one.

    Returns the path written; raises ``ConfigError`` for a description without a letter or digit.
    """
    description = " ".join(description.split())
    slug = slugify(description)
    stamp = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0, tzinfo=None)
    directory.mkdir(parents=True, exist_ok=True)
    taken = {p.name[:15] for p in directory.glob("*.sql")}
    while stamp.strftime("%Y%m%d_%H%M%S") in taken:
        stamp += dt.timedelta(seconds=1)
    version = stamp.strftime("%Y%m%d_%H%M%S")
    path = directory / f"{version}_{slug}.sql"
    path.write_text(
        TEMPLATE.format(
            name=f"{version}_{slug}",
            description=description,
            generated=stamp.isoformat(),
            no_transaction="-- rally:no-transaction\n" if no_transaction else "",
            body=NOTX_BODY if no_transaction else TX_BODY,
            rollback=NOTX_ROLLBACK if no_transaction else TX_ROLLBACK,
        ),
        encoding="utf-8",
    )
    return path
