"""The board's cards, each rendered once per content: ``{% board_cards cell.cards can_move %}``.

Every change on a board makes every open board render it again, but a move changes one card: rendering all
200 cards of a sprint through their template was most of a render (~0.5 ms a card, 60% of the board's CPU).
A card's markup depends only on its ``selectors.Card`` (frozen: everything the card shows) and on whether the
viewer may move cards, so it is kept in this process by exactly that, with the compiled template in the key
(editing the template in development makes new keys). Nothing can go stale: other content is another key.
The least recently used go first.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from django import template
from django.template import Context, Engine
from django.template.base import Template
from django.utils.safestring import SafeString, mark_safe

from apps.stories.selectors import Card

register = template.Library()

CARD_TEMPLATE = "stories/_board_card.html"
CARDS_KEPT = 8192  # per process; a card's markup is about 1 KB


@lru_cache(maxsize=CARDS_KEPT)
def card_markup(compiled: Template, card: Card, can_move: bool) -> str:
    return compiled.render(Context({"card": card, "can_move": can_move}))


@register.simple_tag
def board_cards(cards: Iterable[Card], can_move: bool) -> SafeString:
    compiled = Engine.get_default().get_template(CARD_TEMPLATE)  # compiled once by the engine's cached loader
    return mark_safe("".join(card_markup(compiled, card, bool(can_move)) for card in cards))  # noqa: S308 - rendered with autoescape
