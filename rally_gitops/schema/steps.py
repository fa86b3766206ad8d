"""A plan's parts: one ``Step`` per create, drop, alter or OWNED BY of an object, and the
ordered ``Plan`` with its hazards and its SQL text."""

from __future__ import annotations

from dataclasses import dataclass, field

from rally_gitops.schema import model as m
from rally_gitops.schema.graph import Key

CREATE, DROP, ALTER, OWN = "create", "drop", "alter", "own"


@dataclass
class Step:
    """Statements for one object: create, drop, alter, or own (a sequence's OWNED BY)."""

    action: str
    obj: m.SchemaObject
    statements: list[str]
    hazard: str | None = None
    after: set[Key] = field(default_factory=set)

    @property
    def id(self) -> Key:
        return (self.action, *self.obj.key)

    @property
    def place(self) -> Key:
        """The order among ties: the key; columns added to a table in the target's order."""
        obj = self.obj
        if isinstance(obj, m.Column) and self.action == CREATE:
            return (*obj.key[:3], f"{obj.position:09d}")
        return obj.key


@dataclass(frozen=True)
class Plan:
    """The ordered steps; ``sql`` their text."""

    steps: tuple[Step, ...]
    prelude: tuple[str, ...] = ()  # the renames asked for, before everything

    def __bool__(self) -> bool:
        return bool(self.steps or self.prelude)

    @property
    def hazards(self) -> list[str]:
        """Every hazard, in step order."""
        return [s.hazard for s in self.steps if s.hazard]

    def statements(self) -> list[str]:
        """Every statement, in order (no comments)."""
        return [*self.prelude, *(text for s in self.steps for text in s.statements)]

    def needs_unchecked_bodies(self) -> bool:
        """True when a function is created or replaced: bodies are checked only when run."""
        return any(isinstance(s.obj, m.Function) and s.action != DROP for s in self.steps)

    def sql(self) -> str:
        """The script: hazards as comments above their statements; functions unchecked."""
        lines: list[str] = [f"{text};" for text in self.prelude]
        if self.needs_unchecked_bodies():
            lines.append("SET check_function_bodies = off;")
        for step in self.steps:
            if step.hazard:
                lines.append(f"-- hazard: {step.hazard}")
            lines += [f"{text};" for text in step.statements]
        return "\n".join(lines) + ("\n" if lines else "")
