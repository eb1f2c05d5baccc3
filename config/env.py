"""Typed readers for settings taken from the environment.

Each secret can also be given as ``NAME_FILE``: the path of a file holding it
(how Kubernetes mounts secrets). A bad value fails at start-up with a message
that names the variable and says what to write.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


def envstr(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: write one of 1/0, true/false, yes/no, on/off.")


def envint(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}.")
    return value


RATE_PERIODS = ("s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day")


def envrate(name: str, default: str) -> str:
    """A request rate as Django REST framework reads it: ``N/second``, ``N/minute``, ``N/hour`` or ``N/day``."""
    raw = os.environ.get(name, default).strip()
    count, _, period = raw.partition("/")
    if not (count.isdigit() and int(count) > 0 and period in RATE_PERIODS):
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a rate: write a number of requests per period, e.g. 600/minute."
        )
    return raw


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def envsecret(name: str, default: str = "") -> str:
    """``NAME`` or the contents of the file named by ``NAME_FILE``."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {exc.strerror}.") from None
    return os.environ.get(name, default)


EMAIL_SCHEMES = {"smtp": (False, False), "smtp+tls": (True, False), "submission": (True, False), "smtps": (False, True)}


def email_url(name: str, raw: str) -> dict[str, object]:
    """Django's e-mail settings from ``smtp://user:password@host:port`` (``smtp+tls://`` for STARTTLS,
    ``smtps://`` for TLS from the start), or ``console://`` (mail written to the terminal)."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(raw)
    if parts.scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if parts.scheme not in EMAIL_SCHEMES or not parts.hostname:
        raise ImproperlyConfigured(
            f"{name} is not an e-mail URL: write smtp://user:password@host:25, smtp+tls://…:587, smtps://…:465 "
            "or console://."
        )
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(f"{name} has a port that is not a number.") from None
    use_tls, use_ssl = EMAIL_SCHEMES[parts.scheme]
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port or (465 if use_ssl else 587 if use_tls else 25),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": use_tls,
        "EMAIL_USE_SSL": use_ssl,
    }
