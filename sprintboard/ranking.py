"""Order keys for backlogs: fractional indexing over base-62 digits.

A key is a string of digits ``0-9A-Za-z`` read as a fraction in (0, 1)
(``"V"`` is 31/62) with no trailing ``"0"``, so plain string comparison
(``<`` in Python, ``COLLATE "C"`` in PostgreSQL) is numeric order, and between
any two keys there is always another. Moving one item writes one key.

Keys grow by about one digit every six inserts at the same spot. When a new
key would be longer than ``MAX_KEY_LENGTH``, the caller asks
:func:`rebalance_window` for fresh, evenly spaced keys for a small
neighbourhood of items around the insertion point, widening it until the keys
are short again.

================================  ==============================================
function                          what it returns
================================  ==============================================
``key_between(lower, upper)``     a key strictly between two keys (None = open end)
``spread(lower, upper, count)``   ``count`` short keys evenly spaced between two keys
``rebalance_window(keys, index)`` fresh keys for a window around an insertion point
``is_valid_key(key)``             whether a string is a well-formed key
================================  ==============================================

>>> key_between(None, None)
'V'
>>> key_between("V", None)
'l'
>>> key_between(None, "V")
'G'
>>> key_between("a", "b")
'aV'
>>> spread(None, None, 3)
['G', 'V', 'k']
>>> rebalance_window(["G", "V", "k"], 1)
(0, ['C', 'P', 'b', 'o'])
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["DIGITS", "MAX_KEY_LENGTH", "RankError", "is_valid_key", "key_between", "rebalance_window", "spread"]

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BASE = len(DIGITS)
MAX_KEY_LENGTH = 12
# A rebalanced window gets keys at most this long, leaving room for many moves before the next one.
REBALANCED_KEY_LENGTH = 6
_VALUE = {digit: value for value, digit in enumerate(DIGITS)}


class RankError(ValueError):
    """A key is malformed, or the bounds given are not in order."""


def is_valid_key(key: str) -> bool:
    return bool(key) and not key.endswith("0") and all(digit in _VALUE for digit in key)


def _check(key: str | None, name: str) -> None:
    if key is not None and not is_valid_key(key):
        raise RankError(f"{name} key {key!r} is not a rank key: base-62 digits with no trailing 0")


def key_between(lower: str | None, upper: str | None) -> str:
    """A key strictly between ``lower`` and ``upper``; ``None`` is the open end of the list."""
    _check(lower, "lower")
    _check(upper, "upper")
    if lower is not None and upper is not None and lower >= upper:
        raise RankError(f"lower key {lower!r} must sort before upper key {upper!r}")
    return _midpoint(lower or "", upper)


def _midpoint(lower: str, upper: str | None) -> str:
    """Digits strictly between two fractions: ``lower`` ("" = 0) and ``upper`` (None = 1)."""
    if upper is not None:
        shared = 0
        while shared < len(upper) and (lower[shared] if shared < len(lower) else "0") == upper[shared]:
            shared += 1
        if shared:
            return upper[:shared] + _midpoint(lower[shared:], upper[shared:])
    low = _VALUE[lower[0]] if lower else 0
    high = _VALUE[upper[0]] if upper is not None else BASE
    if high - low > 1:
        return DIGITS[(low + high + 1) // 2]
    if upper is not None and len(upper) > 1:
        return upper[0]
    return DIGITS[low] + _midpoint(lower[1:], None)


def _to_int(key: str, length: int) -> int:
    value = 0
    for position in range(length):
        value = value * BASE + (_VALUE[key[position]] if position < len(key) else 0)
    return value


def _to_key(value: int, length: int) -> str:
    digits = []
    for _ in range(length):
        value, digit = divmod(value, BASE)
        digits.append(DIGITS[digit])
    return "".join(reversed(digits)).rstrip("0")


def spread(lower: str | None, upper: str | None, count: int) -> list[str]:
    """``count`` keys evenly spaced strictly between ``lower`` and ``upper``, as short as they can be."""
    _check(lower, "lower")
    _check(upper, "upper")
    if count < 0:
        raise RankError(f"count must be at least 0, not {count}")
    if lower is not None and upper is not None and lower >= upper:
        raise RankError(f"lower key {lower!r} must sort before upper key {upper!r}")
    length = 1
    while True:
        low = _to_int(lower, length) if lower is not None else 0
        # An upper key longer than `length` is truncated down; the first key above it still fits.
        high = _to_int(upper, length) if upper is not None else BASE**length
        if upper is not None and len(upper) > length:
            high += 1
        if high - low - 1 >= count:
            step = (high - low) / (count + 1)
            keys = [_to_key(low + max(1, round(step * (i + 1))), length) for i in range(count)]
            if all(a < b for a, b in zip(keys, keys[1:], strict=False)) and _strictly_inside(keys, lower, upper):
                return keys
        length += 1


def _strictly_inside(keys: list[str], lower: str | None, upper: str | None) -> bool:
    if not keys:
        return True
    return (lower is None or keys[0] > lower) and (upper is None or keys[-1] < upper)


def rebalance_window(
    keys: Sequence[str], index: int, *, max_length: int = REBALANCED_KEY_LENGTH
) -> tuple[int, list[str]]:
    """Fresh keys for a neighbourhood of ``keys`` (an ordered list) with a new item inserted at ``index``.

    Returns ``(start, new_keys)``: the window begins at ``keys[start]``; ``new_keys`` has one key
    more than the window it replaces, the one at ``index - start`` being the inserted item's. The
    window doubles until every new key is at most ``max_length`` digits long, so a rebalance
    rewrites few rows except in a backlog packed far beyond its size.
    """
    if not 0 <= index <= len(keys):
        raise RankError(f"index {index} is outside a list of {len(keys)} keys")
    half = 4
    while True:
        start, stop = max(0, index - half), min(len(keys), index + half)
        lower = keys[start - 1] if start > 0 else None
        upper = keys[stop] if stop < len(keys) else None
        fresh = spread(lower, upper, stop - start + 1)
        if max(map(len, fresh)) <= max_length or (start == 0 and stop == len(keys)):
            return start, fresh
        half *= 2
