"""What the services of every app hand to their append-only event logs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Change:
    """One logged change: its kind, the field for generic updates, the values before and after, and how the value
    after reads (a name for an id, a person's full name) when the log keeps it (the story log does)."""

    kind: str
    field: str = ""
    from_value: Any = None
    to_value: Any = None
    to_name: str = ""
