"""The migration files of a generated change, in the format of ``rally-gitops new``: header,
``BEGIN;`` ... ``COMMIT;`` (or ``-- rally:no-transaction``), the rollback section commented out."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from rally_gitops.schema.online import Part
from rally_gitops.schema.steps import Plan

HEADER = "-- Migration: {name}\n-- Description: {description}\n-- Generated: {generated}\n"


def plain(up: Plan, down: Plan) -> Part:
    """One file holding the whole plan (no online splitting)."""
    lines = up.sql().rstrip("\n").split("\n")
    # compare --sql passes the same plan twice: its text once (3000 lines for a whole schema)
    back = list(lines) if down is up else down.sql().rstrip("\n").split("\n")
    return Part("", up=lines, down=back)


_ADD_VALUE = re.compile(r"^ALTER TYPE .+ ADD VALUE ('(?:[^']|'')*')")


def enum_values_first(parts: list[Part]) -> list[Part]:
    """New enum values that the migration also uses (a default, a check) moved to a file of
    their own before it: PostgreSQL refuses a value in the transaction that added it."""
    first = parts[0]
    added = [line for line in first.up if _ADD_VALUE.match(line)]
    labels = {match.group(1) for line in added if (match := _ADD_VALUE.match(line))}
    rest = [line for p in parts for line in p.up if line not in added and not line.startswith("--")]
    if first.no_transaction or not any(label in line for line in rest for label in labels):
        return parts
    first.up = [line for line in first.up if line not in added]
    undo = "-- nothing to undo here: the next file's rollback rebuilds the enum without them"
    return [Part("_enum_values", up=added, down=[undo]), *parts]


def up_text(part: Part) -> str:
    """The up part as the file holds it."""
    body = "\n".join(part.up) + "\n"
    return body if part.no_transaction else "BEGIN;\n\n" + body + "\nCOMMIT;\n"


def down_text(part: Part) -> str:
    """The rollback section, every line commented out (``uncomment`` gives the SQL back)."""
    lines = [line for entry in part.down if entry for line in entry.split("\n")]
    if not part.no_transaction:
        lines = ["BEGIN;", "", *lines, "", "COMMIT;"]
    return "".join(f"-- {line}\n" if line else "-- \n" for line in lines)


def free_stamp(directory: Path, stamp: dt.datetime, count: int) -> dt.datetime:
    """The first second from ``stamp`` on with ``count`` free seconds in a row."""
    taken = {p.name[:15] for p in directory.glob("*.sql")} if directory.is_dir() else set()

    def free(at: dt.datetime) -> bool:
        return all(
            (at + dt.timedelta(seconds=i)).strftime("%Y%m%d_%H%M%S") not in taken
            for i in range(count)
        )

    while not free(stamp):
        stamp += dt.timedelta(seconds=1)
    return stamp


def render(
    parts: list[Part],
    directory: Path,
    *,
    slug: str,
    description: str,
    stamp: dt.datetime,
    irreversible: tuple[str, ...] = (),
) -> list[tuple[Path, str]]:
    """Each part's path (one second apart, in order) and text; the residue in the first."""
    files = []
    for i, part in enumerate(parts):
        version = (stamp + dt.timedelta(seconds=i)).strftime("%Y%m%d_%H%M%S")
        path = directory / f"{version}_{slug}{part.suffix}.sql"
        text = HEADER.format(name=path.stem, description=description, generated=stamp.isoformat())
        text += "-- rally:no-transaction\n" if part.no_transaction else ""
        if i == 0:
            text += "".join(f"-- irreversible: {line}\n" for line in irreversible)
        text += "\n" + up_text(part) + "\n-- Rollback script (uncomment if needed):\n"
        files.append((path, text + down_text(part)))
    return files
