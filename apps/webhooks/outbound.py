"""The wire: which URLs a webhook may name, how a body is signed, and one POST with no redirects.

A webhook's URL must be http(s) and every address its host resolves to must be public: loopback,
link-local (the cloud metadata service at 169.254.169.254), private, shared, multicast and reserved
addresses are refused, unless the operator sets ``SPRINTBOARD_WEBHOOK_ALLOW_PRIVATE=1``. The check is
made when the webhook is saved and again before every attempt, and the connection goes to the address
that was checked (a second DNS answer cannot point it elsewhere). Redirects are never followed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import urllib3
from django.conf import settings

SIGNATURE_HEADER = "X-Sprintboard-Signature"
TIMESTAMP_HEADER = "X-Sprintboard-Timestamp"
EVENT_HEADER = "X-Sprintboard-Event"
DELIVERY_HEADER = "X-Sprintboard-Delivery"
USER_AGENT = "Sprintboard-Webhooks/1"
RESPONSE_READ_LIMIT = 64 * 1024


class UrlRefused(ValueError):
    """The URL is not one a webhook may call; the message says why."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with its query
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class Answer:
    code: int | None
    duration_ms: int
    error: str

    @property
    def ok(self) -> bool:
        return self.code is not None and 200 <= self.code < 300


def sign(secret: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of the body with the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _address_refused(address: str) -> str | None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for test, name in (
        (ip.is_loopback, "a loopback"),
        (ip.is_link_local, "a link-local"),
        (ip.is_private, "a private"),
        (ip.is_multicast, "a multicast"),
        (ip.is_unspecified, "an unspecified"),
        (ip.is_reserved, "a reserved"),
        (not ip.is_global, "a non-public"),
    ):
        if test:
            return f"{name} address ({ip})"
    return None


def _resolve(host: str, port: int) -> tuple[str, ...]:
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):  # gaierror is an OSError
        raise UrlRefused(f"The host {host} cannot be resolved.") from None
    # IPv4 first: a pod without an IPv6 route still reaches a dual-stack receiver.
    addresses = tuple(sorted(dict.fromkeys(str(answer[4][0]) for answer in answers), key=lambda a: ":" in a))
    if not addresses:
        raise UrlRefused(f"The host {host} cannot be resolved.")
    return addresses


def check_url(url: str, *, allow_private: bool | None = None) -> Target:
    """The URL's target, once its scheme and every address its host resolves to are allowed."""
    allow_private = settings.WEBHOOK_ALLOW_PRIVATE if allow_private is None else allow_private
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused("The URL is not valid.") from None
    if parts.scheme not in ("http", "https"):
        raise UrlRefused("Only http:// and https:// URLs can receive webhooks.")
    if not parts.hostname:
        raise UrlRefused("The URL names no host.")
    if parts.username or parts.password:
        raise UrlRefused("Put credentials in the secret, not in the URL.")
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(parts.hostname, port)
    if not allow_private:
        for address in addresses:
            refused = _address_refused(address)
            if refused:
                raise UrlRefused(
                    f"{parts.hostname} resolves to {refused}: webhooks call public addresses only "
                    "(the operator can allow private ones with SPRINTBOARD_WEBHOOK_ALLOW_PRIVATE=1)."
                )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme=parts.scheme, host=parts.hostname, port=port, path=path, addresses=addresses)


def _pool(target: Target, timeout: float) -> urllib3.HTTPConnectionPool:
    address = target.addresses[0]
    options: dict[str, Any] = {"timeout": urllib3.Timeout(total=timeout), "retries": False, "maxsize": 1}
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address, target.port, server_hostname=target.host, cert_reqs="CERT_REQUIRED", **options
        )
    return urllib3.HTTPConnectionPool(address, target.port, **options)


def _host_header(target: Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


def _read_some(response: urllib3.BaseHTTPResponse, *, deadline: float) -> None:
    """Read at most RESPONSE_READ_LIMIT bytes of the answer, and stop at the deadline: a receiver that
    drips its answer cannot hold the worker past the delivery's time limit."""
    read = 0
    for chunk in response.stream(4096, decode_content=False):
        read += len(chunk)
        if read >= RESPONSE_READ_LIMIT or time.monotonic() > deadline:
            break
    response.close()


def post(url: str, *, body: bytes, secret: str, event: str, delivery_id: int) -> Answer:
    """POST the signed body once: no retries, no redirects, at most ``WEBHOOK_TIMEOUT_SECONDS`` in all."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = check_url(url)
    except UrlRefused as exc:
        return Answer(code=None, duration_ms=elapsed(), error=f"Refused: {exc}"[:500])
    timestamp = str(int(time.time()))
    headers = {
        "Host": _host_header(target),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: sign(secret, body),
        TIMESTAMP_HEADER: timestamp,
        EVENT_HEADER: event,
        DELIVERY_HEADER: str(delivery_id),
    }
    pool = _pool(target, settings.WEBHOOK_TIMEOUT_SECONDS)
    try:
        response = pool.urlopen(
            "POST", target.path, body=body, headers=headers, redirect=False, retries=False, preload_content=False
        )
        _read_some(response, deadline=started + settings.WEBHOOK_TIMEOUT_SECONDS)
    except urllib3.exceptions.HTTPError as exc:
        reason = "timed out" if isinstance(exc, urllib3.exceptions.TimeoutError) else type(exc).__name__
        return Answer(code=None, duration_ms=elapsed(), error=f"No answer: {reason}."[:500])
    finally:
        pool.close()
    code = response.status
    error = (
        ""
        if 200 <= code < 300
        else f"Answered {code}" + (" (redirects are not followed)." if 300 <= code < 400 else ".")
    )
    return Answer(code=code, duration_ms=elapsed(), error=error)
