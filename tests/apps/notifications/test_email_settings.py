"""EMAIL_URL: one URL for the mail server, refused with a message when it is not one."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import email_url


def test_a_starttls_url_gives_host_port_user_and_password():
    assert email_url("EMAIL_URL", "smtp+tls://sb%40example.com:p%40ss@smtp.example.com:2525") == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": 2525,
        "EMAIL_HOST_USER": "sb@example.com",
        "EMAIL_HOST_PASSWORD": "p@ss",
        "EMAIL_USE_TLS": True,
        "EMAIL_USE_SSL": False,
    }


def test_default_ports_and_the_console():
    assert email_url("EMAIL_URL", "smtps://mail.internal")["EMAIL_PORT"] == 465
    assert email_url("EMAIL_URL", "smtp://mail.internal")["EMAIL_PORT"] == 25
    assert email_url("EMAIL_URL", "console://") == {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}


@pytest.mark.parametrize("raw", ["mail.internal", "http://mail.internal", "smtp://", "smtp://host:port"])
def test_anything_else_is_refused_naming_the_variable(raw):
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL"):
        email_url("EMAIL_URL", raw)
