"""Parts of the project backup kept by apps below this one, which register them here.

An app that sits below ``apps.transfer`` (``apps.integrations``) may not be imported by it, so it adds its part
of the document itself, in its ``AppConfig.ready``: ``section_register(Section(name=..., export=..., restore=...))``.
``export(project)`` is the JSON value written under ``name`` (None: nothing to write); ``restore(restoring, value)``
writes it into the copy, inside the import's transaction, after every row of this app's own is in place, with the
ids of the copy's workflow states and the people the document names. A document without the section (written
before it existed, or by a project that had nothing to write) skips its restore. ``people(value)`` names the
usernames the value needs, so missing users are refused (or created) with the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User

from apps.projects.models import Project

__all__ = ["Restoring", "Section", "section_register", "sections"]


@dataclass(frozen=True)
class Restoring:
    """What a section's restore needs from the import: the copy, its states by the document's ids, its people."""

    project: Project
    states: Mapping[int, int]
    users: Mapping[str, User]


def _nobody(value: Any) -> set[str]:
    return set()


@dataclass(frozen=True)
class Section:
    name: str
    export: Callable[[Project], Any]
    restore: Callable[[Restoring, Any], None]
    people: Callable[[Any], set[str]] = field(default=_nobody)


_SECTIONS: dict[str, Section] = {}


def section_register(section: Section) -> None:
    _SECTIONS[section.name] = section


def sections() -> tuple[Section, ...]:
    return tuple(_SECTIONS.values())
