"""The wire: SSRF refusals (no traffic is sent to a refused address), the signature, no redirects."""

from __future__ import annotations

import pytest

from apps.webhooks import outbound
from tests.apps.webhooks.conftest import verify

REFUSED = [
    "http://127.0.0.1/hook",
    "http://127.0.0.2:8080/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.1.2.3/hook",
    "http://172.16.0.1/hook",
    "http://192.168.1.10/hook",
    "http://100.64.0.1/hook",
    "http://[::1]/hook",
    "http://[fe80::1]/hook",
    "http://[fd00::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://0.0.0.0/hook",
    "http://localhost:9000/hook",  # a host name that resolves to loopback
]


@pytest.mark.parametrize("url", REFUSED)
def test_loopback_link_local_and_private_addresses_are_refused(url, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(outbound.UrlRefused, match="public addresses only"):
        outbound.check_url(url)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "file:///etc/passwd", "gopher://1.1.1.1/", "http:///path", "http://a:b@1.1.1.1/"]
)
def test_only_plain_http_and_https_urls_with_a_host(url, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with pytest.raises(outbound.UrlRefused):
        outbound.check_url(url)


def test_a_public_address_is_allowed(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    target = outbound.check_url("https://93.184.215.14:8443/hooks?team=data")
    assert (target.scheme, target.port, target.path, target.addresses) == (
        "https",
        8443,
        "/hooks?team=data",
        ("93.184.215.14",),
    )


def test_the_operator_may_allow_private_addresses(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    assert outbound.check_url("http://127.0.0.1:9/hook").addresses == ("127.0.0.1",)
    assert "127.0.0.1" in outbound.check_url("http://localhost:9/hook").addresses


def test_a_refused_address_is_never_called(receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    answer = outbound.post(receiver.url, body=b"{}", secret="s" * 16, event="story.created", delivery_id=1)
    assert answer.code is None and answer.error.startswith("Refused:")
    assert receiver.requests == []


def test_the_body_is_signed_and_stamped(receiver, allow_private):
    body = b'{"id":7,"event":"story.created"}'
    answer = outbound.post(receiver.url, body=body, secret="a-secret-of-16-chars", event="story.created", delivery_id=7)
    assert answer.ok and answer.code == 200
    [got] = receiver.requests
    assert got.body == body and got.path == "/hook"
    assert verify(
        "a-secret-of-16-chars", got.body, got.headers["X-Sprintboard-Signature"], got.headers["X-Sprintboard-Timestamp"]
    )
    assert not verify(
        "another-secret-16chars",
        got.body,
        got.headers["X-Sprintboard-Signature"],
        got.headers["X-Sprintboard-Timestamp"],
    )
    assert got.headers["X-Sprintboard-Event"] == "story.created" and got.headers["X-Sprintboard-Delivery"] == "7"
    assert got.headers["Content-Type"] == "application/json"


def test_redirects_are_not_followed(receiver, allow_private):
    receiver.code, receiver.location = 302, "http://169.254.169.254/latest/meta-data/"
    answer = outbound.post(receiver.url, body=b"{}", secret="s" * 16, event="story.created", delivery_id=1)
    assert answer.code == 302 and not answer.ok and "not followed" in answer.error
    assert len(receiver.requests) == 1


def test_a_receiver_slower_than_the_time_limit_is_a_failure(receiver, allow_private, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    receiver.delay = 3
    answer = outbound.post(receiver.url, body=b"{}", secret="s" * 16, event="story.created", delivery_id=1)
    assert answer.code is None and "timed out" in answer.error
    assert 900 <= answer.duration_ms < 2500


def test_a_dead_receiver_is_a_failure(receiver, allow_private):
    receiver.stop()
    answer = outbound.post(receiver.url, body=b"{}", secret="s" * 16, event="story.created", delivery_id=1)
    assert answer.code is None and answer.error.startswith("No answer")
