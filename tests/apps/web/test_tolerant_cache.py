"""The cache backend with Redis away: every read is a logged miss, every write is dropped, nothing raises."""

from __future__ import annotations

import logging
import socket

import pytest

from apps.core.cache import TolerantRedisCache


@pytest.fixture
def cache_without_redis() -> TolerantRedisCache:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return TolerantRedisCache(
        f"redis://127.0.0.1:{port}/0", {"OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}
    )


def test_reads_are_misses_and_writes_are_dropped(cache_without_redis, caplog):
    cache = cache_without_redis
    with caplog.at_level(logging.WARNING, logger="apps.core.cache"):
        assert cache.get("board", "default") == "default"
        assert cache.get_many(["a", "b"]) == {}
        assert cache.has_key("a") is False
        cache.set("board", "<html>", 30)
        cache.set_many({"a": 1, "b": 2}, 30)
        assert cache.delete("board") is False
        cache.delete_many(["a", "b"])
        assert cache.touch("a") is False
        assert cache.get_or_set("computed", lambda: 42, 30) == 42
    assert "cache get failed, treated as a miss: ConnectionError" in caplog.text


def test_single_flight_lets_every_caller_work_when_there_is_no_cache_to_share(cache_without_redis):
    assert cache_without_redis.add("fragment:rendering", 1, 10) is True
    assert cache_without_redis.add("fragment:rendering", 1, 10) is True


def test_a_counter_reads_as_missing(cache_without_redis):
    with pytest.raises(ValueError, match="not found"):
        cache_without_redis.incr("hits")


@pytest.mark.redis
def test_one_client_serves_every_operation_and_survives_a_lost_connection(settings):
    cache = TolerantRedisCache(settings.REDIS_URL, {"KEY_PREFIX": "tolerant-cache-test"})
    client = cache._cache.get_client(write=True)
    assert cache._cache.get_client(write=True) is client  # made once, not per operation
    cache.set("board", "<html>", 30)
    client.connection_pool.disconnect()  # as when Redis restarts: the pool connects again on the next command
    assert cache.get("board") == "<html>"
    cache.delete("board")
