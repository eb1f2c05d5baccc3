"""``@username`` mentions in Markdown text: who is named, and where.

A mention is ``@`` followed by a username (letters, digits and ``.``, ``+``, ``-``, ``_``, as Django's
usernames allow; a trailing ``.`` ends the sentence, not the name), not preceded by a letter, digit or
another ``@`` or ``/``, so ``ana@example.com`` and ``https://x/@ana`` name nobody.

======================  ==================================================================
name                    what it is
======================  ==================================================================
``MENTION``             the compiled pattern; group 1 is the username
``mentioned(text)``     the usernames a text mentions, in order of first mention, once each
======================  ==================================================================

>>> mentioned("Thanks @ana and @bo.li. Mail ana@example.com, cc @ana")
['ana', 'bo.li']
>>> mentioned("")
[]
"""

from __future__ import annotations

import re

__all__ = ["MENTION", "mentioned"]

MENTION = re.compile(r"(?<![\w@/.])@([\w.+-]*[\w+-])")


def mentioned(text: str | None) -> list[str]:
    """The usernames ``text`` mentions, each once, in order of first mention."""
    return list(dict.fromkeys(match[1] for match in MENTION.finditer(text or "")))
