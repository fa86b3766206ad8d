"""The safety rules, one module per rule, and the index the checker runs them from.

Each module defines a function named after it that takes a ``FileContext`` and yields
``Violation``s, and ends with its ``RULE`` record (code, severity, function, docs; see
``rally_gitops.lint.model.Rule``).

``INDEX`` lists every rule in the order findings are reported, with what the checker needs before
it imports the rule's module: code, default severity and state, summary, and the pglast node
kinds of the statements the rule looks for (an ALTER TABLE by its subcommands: ``ADD COLUMN``
is not ``SET NOT NULL``). A rule can only report something in a file with a
statement of one of its kinds (or one pglast could not parse, which sqlglot's tree then stands
for), so the checker imports a rule's module the first time a file has such a statement, and
skips the rule for every other file: the hook on one new file imports the few rules it can
need, and ``lint --all`` runs the drop rules only on the files that drop something. ``None``:
any statement (identifiers, the ledger schema, advisory unlocks hide in every kind).
``tests/lint/test_rule_index.py`` checks the index against the modules and the kinds against
every rule case; ``load_all`` imports every module (the docs, the tests).
"""

from __future__ import annotations

import importlib
from typing import NamedTuple

from rally_gitops.lint.model import Rule, Severity


class Entry(NamedTuple):
    """One rule as the index knows it, before its module is imported."""

    code: str
    severity: Severity
    enabled: bool
    # pglast node class names (``IndexStmt``), an ALTER TABLE by its subcommands
    # (``AlterTableStmt.AT_AddColumn``); None: any statement
    kinds: tuple[str, ...] | None
    summary: str

    @property
    def module(self) -> str:
        """The rule's module: ``rally_gitops.lint.rules.<code with underscores>``."""
        return f"{__name__}.{self.code.replace('-', '_')}"


def _alter(*subtypes: str) -> tuple[str, ...]:
    """ALTER TABLE statements with one of these subcommands (pglast's ``AlterTableType``)."""
    return tuple(f"AlterTableStmt.{subtype}" for subtype in subtypes)


# a constraint added by ADD CONSTRAINT or within ADD COLUMN
_ADDS = _alter("AT_AddConstraint", "AT_AddColumn")
# every pglast node of a DROP statement (``parsing.drop_nodes``: ``facts.dropped`` reads them)
DROPS = (
    "DropOwnedStmt",
    "DropRoleStmt",
    "DropStmt",
    "DropSubscriptionStmt",
    "DropTableSpaceStmt",
    "DropUserMappingStmt",
    "DropdbStmt",
)
# what sqlglot may read as CREATE TABLE or ALTER TABLE (``parsing.table_nodes``)
TABLES = (
    "CreateStmt",
    "CreateTableAsStmt",
    "CreateForeignTableStmt",
    "AlterTableStmt",
    "RenameStmt",
    "AlterObjectSchemaStmt",
    "AlterTableMoveAllStmt",
)

# fmt: off
INDEX: tuple[Entry, ...] = (
    # locks held while a table is scanned or an index is built
    Entry("require-concurrent-index", "error", True, ("IndexStmt",),
          "CREATE INDEX without CONCURRENTLY on an existing table"),
    Entry("require-concurrent-index-drop", "warning", True, DROPS,
          "DROP INDEX without CONCURRENTLY"),
    Entry("ban-concurrently-in-transaction", "error", True,
          ("IndexStmt", "DropStmt", "ReindexStmt", *_alter("AT_DetachPartition")),
          "CREATE/DROP INDEX, REINDEX or DETACH PARTITION ... CONCURRENTLY inside a transaction"),
    Entry("require-concurrent-reindex", "error", True, ("ReindexStmt",),
          "REINDEX without CONCURRENTLY"),
    Entry("require-concurrent-refresh", "error", True, ("RefreshMatViewStmt",),
          "REFRESH MATERIALIZED VIEW without CONCURRENTLY"),
    Entry("require-not-valid-foreign-key", "error", True, _ADDS,
          "FOREIGN KEY added to an existing table without NOT VALID"),
    Entry("require-not-valid-check", "error", True, _alter("AT_AddConstraint"),
          "CHECK constraint added to an existing table without NOT VALID"),
    Entry("validate-in-same-transaction", "error", True, _alter("AT_ValidateConstraint"),
          "a constraint added NOT VALID is validated in the same transaction"),
    Entry("ban-alter-domain-add-constraint", "error", True, ("AlterDomainStmt",),
          "ALTER DOMAIN ... ADD CONSTRAINT without NOT VALID"),
    Entry("setting-not-null", "error", True, _alter("AT_SetNotNull"),
          "SET NOT NULL on a column of an existing table"),
    Entry("adding-unique-constraint", "error", True, _ADDS,
          "UNIQUE constraint added to an existing table without USING INDEX"),
    Entry("adding-primary-key-constraint", "error", True, _ADDS,
          "PRIMARY KEY added to an existing table without USING INDEX"),
    Entry("adding-exclusion-constraint", "error", True, _alter("AT_AddConstraint"),
          "EXCLUDE constraint added to an existing table"),
    # table rewrites
    Entry("adding-required-field", "error", True, _alter("AT_AddColumn"),
          "ADD COLUMN ... NOT NULL without a DEFAULT on an existing table"),
    Entry("adding-volatile-default", "error", True, _alter("AT_AddColumn"),
          "ADD COLUMN with a volatile DEFAULT (random(), gen_random_uuid(), clock_timestamp())"),
    Entry("adding-serial-column", "error", True, _alter("AT_AddColumn"),
          "serial/bigserial or GENERATED ... AS IDENTITY column added to an existing table"),
    Entry("adding-stored-generated-column", "error", True, _alter("AT_AddColumn"),
          "GENERATED ALWAYS AS (...) STORED column added to an existing table"),
    Entry("adding-field-with-default", "error", True, _alter("AT_AddColumn"),
          "ADD COLUMN with a DEFAULT when targeting PostgreSQL 10 or older"),
    Entry("changing-column-type", "error", True, _alter("AT_AlterColumnType"),
          "ALTER COLUMN ... TYPE that rewrites the table (not binary-coercible)"),
    Entry("changing-column-type-widening", "warning", True, _alter("AT_AlterColumnType"),
          "ALTER COLUMN ... TYPE text/varchar/numeric when the current type is unknown"),
    Entry("rewriting-table", "error", True,
          _alter("AT_SetTableSpace", "AT_SetLogged", "AT_SetUnLogged", "AT_SetAccessMethod"),
          "ALTER TABLE ... SET TABLESPACE / SET LOGGED / SET UNLOGGED / SET ACCESS METHOD"),
    Entry("ban-vacuum-full", "error", True, ("VacuumStmt",),
          "VACUUM FULL"),
    Entry("ban-cluster", "error", True, ("ClusterStmt",),
          "CLUSTER"),
    Entry("ban-lock-table", "warning", True, ("LockStmt",),
          "LOCK TABLE in ACCESS EXCLUSIVE (the default) or EXCLUSIVE mode"),
    # destructive or backward-incompatible
    Entry("ban-drop-table", "error", True, DROPS,
          "DROP TABLE of an existing table"),
    Entry("ban-drop-column", "error", True, TABLES,
          "DROP COLUMN of an existing table"),
    Entry("ban-drop-schema", "error", True, DROPS,
          "DROP SCHEMA"),
    Entry("ban-drop-type", "error", True, DROPS,
          "DROP TYPE or DROP DOMAIN"),
    Entry("ban-drop-view", "error", True, DROPS,
          "DROP VIEW / DROP MATERIALIZED VIEW that the file does not recreate"),
    Entry("ban-drop-database", "error", True, DROPS,
          "DROP DATABASE"),
    Entry("ban-drop-function", "warning", True, DROPS,
          "DROP FUNCTION / PROCEDURE that is not recreated in the same migration"),
    Entry("ban-drop-sequence", "warning", True, DROPS,
          "DROP SEQUENCE of a sequence that existed before this migration"),
    Entry("ban-truncate", "error", True, ("TruncateStmt",),
          "TRUNCATE of an existing table"),
    Entry("unbatched-data-change", "error", True, ("UpdateStmt", "DeleteStmt"),
          "UPDATE or DELETE without WHERE (or with an always-true one) on an existing table"),
    Entry("renaming-table", "error", True, ("RenameStmt",),
          "RENAME of an existing table"),
    Entry("renaming-column", "error", True, ("RenameStmt",),
          "RENAME COLUMN of an existing table"),
    Entry("renaming-schema", "error", True, ("RenameStmt",),
          "RENAME of a schema"),
    Entry("renaming-enum-value", "error", True, ("AlterEnumStmt",),
          "ALTER TYPE ... RENAME VALUE of an enum"),
    Entry("renaming-object", "warning", True, ("RenameStmt",),
          "RENAME of a view, materialized view, function, procedure, type, domain or sequence"),
    Entry("ban-drop-not-null", "warning", True, _alter("AT_DropNotNull"),
          "DROP NOT NULL on an existing column"),
    Entry("ban-drop-default", "warning", True, _alter("AT_ColumnDefault"),
          "DROP DEFAULT on a column of an existing table"),
    Entry("ban-drop-constraint", "warning", True, _alter("AT_DropConstraint"),
          "DROP CONSTRAINT on an existing table (an error for a primary key or with CASCADE)"),
    # correctness
    Entry("enum-value-used-in-transaction", "error", True, ("AlterEnumStmt",),
          "ALTER TYPE ... ADD VALUE followed by a use of the new value in the same transaction"),
    Entry("identifier-too-long", "warning", True, None,
          "identifier longer than 63 bytes"),
    Entry("prefer-jsonb", "warning", True, TABLES,
          "json column type instead of jsonb"),
    # what the deploy engine relies on: its lock, its transaction, its ledger
    Entry("ban-advisory-unlock", "error", True, None,
          "pg_advisory_unlock_all(), pg_advisory_unlock(...) or DISCARD ALL in a migration"),
    Entry("ban-prepared-transaction", "error", True, ("TransactionStmt",),
          "PREPARE TRANSACTION, COMMIT PREPARED or ROLLBACK PREPARED in a migration"),
    Entry("ban-ledger-schema", "error", True, None,
          "a statement that touches the ledger schema (rally_gitops, or ledger_schema)"),
    # type hygiene (off by default)
    Entry("prefer-bigint", "warning", False, TABLES,
          "int or smallint for an id column"),
    Entry("prefer-identity", "warning", False, TABLES,
          "serial, bigserial or smallserial instead of an identity column"),
    Entry("prefer-timestamptz", "warning", False, TABLES,
          "timestamp without time zone"),
    Entry("prefer-text", "warning", False, TABLES,
          "varchar(n) or char(n) instead of text"),
)
# fmt: on


def load(entry: Entry) -> Rule:
    """The ``RULE`` of an entry's module (imported on first use)."""
    rule: Rule = importlib.import_module(entry.module).RULE
    return rule


def load_all() -> tuple[Rule, ...]:
    """Every rule, in ``INDEX`` order (imports every rule module)."""
    return tuple(load(entry) for entry in INDEX)
