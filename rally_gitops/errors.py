"""The one error base class and its few specialisations.

Every expected failure is a ``RallyError``: ``error_handler`` turns it into one line on stderr and
its exit code. Lint findings are return values, not errors.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CRASH = 3  # an unexpected error (a bug), as pre-commit does: never confused with a finding
EXIT_INTERRUPTED = 130


class RallyError(Exception):
    """A failure with a message a user can act on; ``exit_code`` 1 (failed) or 2 (usage/config)."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self)


class ConfigError(RallyError):
    """Bad configuration, missing variable, bad input file or wrong usage: exit 2."""

    exit_code = EXIT_USAGE


class MigrationFileError(ConfigError):
    """A migration file that cannot be used: bad name, encoding, empty, broken structure."""


class DatabaseError(RallyError):
    """The database could not be reached or refused a request: exit 1."""


class DeployError(RallyError):
    """A deploy was refused or a migration failed: exit 1."""


class Interrupted(RallyError):
    """Ctrl-C with something to say about the state it left (a deploy): exit 130."""

    exit_code = EXIT_INTERRUPTED
