"""Only committed migrations reach shared environments (``require_committed``).

A deploy to an environment listed in ``[tool.rally_gitops] require_committed`` (default staging
and production) refuses pending files that are untracked, only staged, or differ from their
version at HEAD: such a file has passed no commit hook or review, and the ledger would record a
commit that does not contain it. Outside a git repository there is nothing to compare with: the
check says so and lets the deploy go on.
"""

from __future__ import annotations

from rally_gitops.config import Config, Environment
from rally_gitops.errors import DeployError
from rally_gitops.files.migrations import Migration


def uncommitted(config: Config, pending: list[Migration]) -> list[tuple[Migration, str]] | None:
    """The pending files that are not committed as they are, with why; None outside git."""
    # only with something pending: a deploy with nothing to do runs no git (nor imports it)
    from rally_gitops.git import blob_sha, committed_blobs

    blobs = committed_blobs(config.migrations_dir)
    if blobs is None:
        return None
    found = []
    for migration in pending:
        committed = blobs.get(migration.filename)
        if committed is None:
            found.append((migration, "not committed"))
        elif committed != blob_sha(migration.path.read_bytes()):
            found.append((migration, "differs from the committed version at HEAD"))
    return found


def refuse_uncommitted(config: Config, env: Environment, pending: list[Migration]) -> str | None:
    """Raise ``DeployError`` naming the pending files of ``env`` that are not committed; return a
    note to print when the project is not in a git repository (nothing could be checked)."""
    if env.name not in config.require_committed or not pending:
        return None
    found = uncommitted(config, pending)
    if found is None:
        return f"warning: {config.root} is not in a git repository; require_committed not checked"
    if found:
        names = "\n".join(f"{m.filename}: {why}" for m, why in found)
        raise DeployError(
            f"{env.name} only takes committed migrations (require_committed): "
            f"{len(found)} pending file(s) are not:\n{names}\n"
            "commit them (after lint and review), or deploy them to local first; nothing was "
            f"applied to {env.name}"
        )
    return None
