"""The one error type of the metrics engine.

| name | what it is |
|---|---|
| `EngineError` | invalid input to the engine: its message says what is wrong |

>>> raise EngineError("event seq 7 is at 2024-03-01T09:00:00Z, before seq 6")
Traceback (most recent call last):
...
sprintboard.errors.EngineError: event seq 7 is at 2024-03-01T09:00:00Z, before seq 6
>>> issubclass(EngineError, ValueError)
True
"""

from __future__ import annotations

__all__ = ["EngineError"]


class EngineError(ValueError):
    """Invalid input to the metrics engine (events out of order, unknown states, ...)."""
