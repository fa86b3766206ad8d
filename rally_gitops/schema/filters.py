"""Which objects a model holds: the ``--schema`` list and the exclude globs.

``[tool.rally_gitops.schema] exclude`` and ``--exclude`` are ``fnmatch`` patterns, case-sensitive,
matched against an object's qualified name (``public.tmp_*``), the qualified name of the table it
belongs to (so a table's columns and indexes go with it), and its schema's name (``audit``
excludes that schema and everything in it).
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from rally_gitops.config import Config
from rally_gitops.errors import ConfigError
from rally_gitops.schema.model import Extension, Schema, SchemaObject


@dataclass(frozen=True)
class Filter:
    """The schemas to skip in SQL, the schemas to keep (empty: all) and the exclude globs."""

    skip_schemas: tuple[str, ...] = ()
    schemas: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @property
    def selects(self) -> bool:
        """False when it keeps every object it is given (no ``--schema``, no exclude glob)."""
        return bool(self.schemas or self.exclude)

    def keeps(self, obj: SchemaObject) -> bool:
        """True when ``obj`` belongs in the model."""
        if self.schemas and obj.schema not in self.schemas:
            return False
        if isinstance(obj, (Schema, Extension)):
            names = [obj.name]
        else:
            names = [obj.schema, f"{obj.schema}.{obj.name}"]
            table = getattr(obj, "table", None)
            if table:
                names.append(f"{obj.schema}.{table}")
        return not any(fnmatchcase(n, p) for n in names for p in self.exclude)


def for_config(
    config: Config, *, schemas: list[str] | None = None, exclude: list[str] | None = None
) -> Filter:
    """The filter of a project: its ledger schema skipped, its exclude globs plus ``exclude``."""
    configured = config.section("schema").get("exclude", [])
    if not isinstance(configured, list) or not all(isinstance(p, str) for p in configured):
        raise ConfigError(
            "[tool.rally_gitops.schema] exclude must be a list of glob patterns "
            '(e.g. exclude = ["audit", "public.tmp_*"])'
        )
    return Filter(
        skip_schemas=(config.ledger_schema,),
        schemas=tuple(schemas or ()),
        exclude=tuple(configured) + tuple(exclude or ()),
    )
