"""Redis as a cache that may be away: an error is logged and read as a miss, and a write is dropped.

Nothing Sprintboard keeps in the cache is the only copy (sessions live in the database; fragments,
sprint figures and throttle counts are recomputed), so a page served while Redis is down is slower,
never broken. ``add`` answers True when Redis is away: it is used for single-flight work ("I render
it, the others wait for it"), and with no cache to share a result through, every caller does its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any, TypeVar

import redis
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

logger = logging.getLogger(__name__)
T = TypeVar("T")
# The key and expiry types of django-stubs' RedisCacheClient, which these methods override.
Key = str | bytes | memoryview
Expiry = int | timedelta


def _tolerant(operation: str, fallback: T, call: Callable[[], T]) -> T:
    try:
        return call()
    except redis.RedisError as exc:
        logger.warning("cache %s failed, treated as a miss: %s", operation, type(exc).__name__)
        return fallback


class TolerantRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[bool, redis.Redis] = {}

    def get_client(self, key: Key | None = None, *, write: bool = False) -> redis.Redis:
        """A client made once for reads and once for writes: Django's makes a new one for every operation, and
        building a redis-py client costs about as much CPU as the GET it sends (each board poll reads its
        fragment). A client takes a connection from its pool for each command, so threads can share it. (With
        replicas in LOCATION, a process reads from one of them, chosen at random on its first read.)"""
        client = self._clients.get(write)
        if client is None:
            client = self._clients[write] = super().get_client(key, write=write)
        return client

    def add(self, key: Key, value: Any, timeout: Expiry | None) -> bool:
        return _tolerant("add", True, lambda: super(TolerantRedisCacheClient, self).add(key, value, timeout))

    def get(self, key: Key, default: Any) -> Any:
        return _tolerant("get", default, lambda: super(TolerantRedisCacheClient, self).get(key, default))

    def set(self, key: Key, value: Any, timeout: Expiry | None) -> None:
        _tolerant("set", None, lambda: super(TolerantRedisCacheClient, self).set(key, value, timeout))

    def touch(self, key: Key, timeout: Expiry) -> bool:
        return _tolerant("touch", False, lambda: super(TolerantRedisCacheClient, self).touch(key, timeout))

    def delete(self, key: Key) -> bool:
        return _tolerant("delete", False, lambda: super(TolerantRedisCacheClient, self).delete(key))

    def get_many(self, keys: Iterable[Key]) -> dict[Key, Any]:
        return _tolerant("get_many", {}, lambda: super(TolerantRedisCacheClient, self).get_many(keys))

    def has_key(self, key: Key) -> bool:
        return _tolerant("has_key", False, lambda: super(TolerantRedisCacheClient, self).has_key(key))

    def incr(self, key: Key, delta: int) -> int:
        try:
            return super().incr(key, delta)
        except redis.RedisError as exc:
            logger.warning("cache incr failed, treated as a miss: %s", type(exc).__name__)
            raise ValueError(f"Key {key!r} not found (the cache is unavailable).") from None

    def set_many(self, data: Mapping[Key, Any], timeout: Expiry) -> None:
        _tolerant("set_many", None, lambda: super(TolerantRedisCacheClient, self).set_many(data, timeout))

    def delete_many(self, keys: Iterable[Key]) -> None:
        _tolerant("delete_many", None, lambda: super(TolerantRedisCacheClient, self).delete_many(keys))

    def clear(self) -> bool:
        return _tolerant("clear", False, lambda: super(TolerantRedisCacheClient, self).clear())


class TolerantRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = TolerantRedisCacheClient

    def count(self, key: str, peek: str, timeout: int) -> tuple[int, int]:
        """Add one to ``key``'s count (which lives ``timeout`` seconds from its first) and read ``peek``'s, in one
        round trip (a pipeline: SET NX EX, INCR, GET); (0, 0) while Redis is away."""
        return self.count_many([(key, peek, timeout)])[0]

    def count_many(self, counts: Sequence[tuple[str, str, int]]) -> list[tuple[int, int]]:
        """``count`` for each ``(key, peek, timeout)``, all in one round trip."""
        keys = [
            (self.make_and_validate_key(key), self.make_and_validate_key(peek), timeout)
            for key, peek, timeout in counts
        ]

        def run() -> list[tuple[int, int]]:
            pipe = self._cache.get_client(keys[0][0], write=True).pipeline(transaction=False)
            for counted, peeked, timeout in keys:
                pipe.set(counted, 0, ex=timeout, nx=True)
                pipe.incr(counted)
                pipe.get(peeked)
            answers = pipe.execute()
            return [(int(answers[i + 1]), int(answers[i + 2] or 0)) for i in range(0, len(answers), 3)]

        return _tolerant("count", [(0, 0)] * len(keys), run)
