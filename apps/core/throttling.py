"""API throttling per user and per client address, and the client address every limiter uses.

Rates are ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (read at each request, so settings can be
changed in tests); counts live in the cache, and while Redis is away nothing is throttled. A 429
carries ``Retry-After`` in the API's error shape (``apps.core.api_support.exception_handler``).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from rest_framework import exceptions, throttling
from rest_framework.settings import api_settings

__all__ = ["AddressRateThrottle", "TokenFailureThrottle", "UserRateThrottle", "check_throttles", "client_address"]


def client_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or with ``NUM_PROXIES`` proxies in front, the entry of
    X-Forwarded-For that the outermost trusted proxy wrote (a client cannot choose it)."""
    remote = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if not settings.NUM_PROXIES or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    return hops[-min(settings.NUM_PROXIES, len(hops))] if hops else remote


class _SettingsRate:
    """Read the rate when asked, not when the class is defined (DRF's default)."""

    scope: str

    def get_rate(self) -> str | None:
        # djangorestframework-stubs types the rates as numbers; DRF's are strings such as "100/minute".
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)  # type: ignore[return-value]

    def get_ident(self, request) -> str:
        return client_address(request)


def _count(counts: list[tuple[str, str, int]]) -> list[tuple[int, int]]:
    """One more request counted under each key, and the count under its peek: one round trip on Redis."""
    counter = getattr(cache, "count_many", None)
    if counter is not None:
        return counter(counts)
    answers = []
    for key, peek, timeout in counts:  # another cache (make run's, in process): three calls each
        cache.add(key, 0, timeout)
        answers.append((cache.incr(key), cache.get(peek, 0)))
    return answers


def check_throttles(throttles: Sequence[throttling.BaseThrottle], request, view) -> list[float | None]:
    """What DRF's ``APIView.check_throttles`` asks of each throttle (the waits of those that refuse), with the
    sliding-window counts of all of them in one round trip to the cache instead of one each."""
    windows = [t for t in throttles if isinstance(t, _WindowRateThrottle)]
    asked = [(t, counted) for t in windows if (counted := t.counted(request, view)) is not None]
    for (throttle, _), (current, previous) in zip(asked, _count([c for _, c in asked]) if asked else [], strict=True):
        throttle.current, throttle.previous = current, previous
    waits = [t.wait() for t, _ in asked if not t.allowed()]
    return waits + [t.wait() for t in throttles if t not in windows and not t.allow_request(request, view)]


class _WindowRateThrottle(_SettingsRate, throttling.SimpleRateThrottle):
    """A sliding window counter: requests are counted in fixed windows of the rate's duration, and the previous
    window's count is weighed by how much of it the sliding window still covers.

    DRF's ``SimpleRateThrottle`` keeps the time of every request in a list, read and written whole at each
    request (thousands of entries at the default rates: about 1 ms a request with Redis, and two requests at once
    can lose one's count); this costs one round trip and counts atomically (``check_throttles``: one for all the
    view's throttles). Refused requests count too: a client that keeps going past its rate stays refused.
    Retry-After says when the next request would pass.
    """

    scope: str
    num_requests: int  # set by SimpleRateThrottle.__init__ from the rate (not in the stubs)
    duration: int

    def allow_request(self, request, view) -> bool:
        counted = self.counted(request, view)
        if counted is None:
            return True
        ((self.current, self.previous),) = _count([counted])
        return self.allowed()

    def counted(self, request, view) -> tuple[str, str, int] | None:
        """The cache keys of this window and the one before, and how long a count lives; None: not limited."""
        if self.rate is None:
            return None
        key = self.get_cache_key(request, view)
        if key is None:
            return None
        window, self.into = divmod(self.timer(), self.duration)
        return f"{key}:{int(window)}", f"{key}:{int(window) - 1}", 2 * self.duration

    def allowed(self) -> bool:
        return self.previous * (1 - self.into / self.duration) + self.current <= self.num_requests

    def wait(self) -> float:
        """Seconds until a request would pass, if none is sent meanwhile."""
        allowed, duration = self.num_requests, self.duration
        if self.current < allowed and self.previous:  # this window has room once more of the last one slides out
            return max(0.0, duration * (1 - (allowed - self.current - 1) / self.previous) - self.into)
        return duration - self.into + duration * max(0.0, 1 - (allowed - 1) / max(self.current, 1))


class UserRateThrottle(_WindowRateThrottle):
    """Per signed-in user, whatever address they come from (anonymous callers: the address limit)."""

    scope = "user"

    def get_cache_key(self, request, view) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class AddressRateThrottle(_WindowRateThrottle):
    """Per client address, signed in or not."""

    scope = "address"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class TokenFailureThrottle(_SettingsRate, throttling.SimpleRateThrottle):
    """Failed token logins per address: past the rate, every token from there is refused with 429
    until the oldest failure leaves the window, so keys cannot be guessed at speed."""

    scope = "token_failure"
    num_requests: int  # set by SimpleRateThrottle.__init__ from the rate (not in the stubs)
    duration: int

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def check(self, request) -> None:
        """Raise Throttled while the address has used up its failures."""
        if self.rate is None:
            return
        self.key = self.get_cache_key(request, None)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            raise exceptions.Throttled(self.wait())

    def record_failure(self, request) -> None:
        if self.rate is None:
            return
        self.check(request)  # loads the pruned history
        self.throttle_success()  # appends this failure and stores the history
