"""The answer to an e-mailed request, and the signed link in it that lets its sender follow the request.

The link needs no account (the sender may have none): it carries the request's id signed with the
site's secret key (``django.core.signing``), and opens a page with the request's status and where it went.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse

from apps.intake.models import Request

SALT = "sprintboard.intake.follow"


def follow_token(request_id: int) -> str:
    return signing.dumps({"r": request_id}, salt=SALT, compress=True)


def follow_payload(token: str) -> int:
    """The request id a token names; raises ``signing.BadSignature`` for a forged or damaged one."""
    data = signing.loads(token, salt=SALT)
    if not isinstance(data, dict) or not isinstance(data.get("r"), int):
        raise signing.BadSignature("not a follow token")
    return data["r"]


def follow_url(request_id: int) -> str:
    return f"{settings.SPRINTBOARD_BASE_URL}{reverse('request-follow', kwargs={'token': follow_token(request_id)})}"


def reply(request: Request) -> EmailMessage:
    """Plain text, threaded under the sender's message, and marked automatic so that no auto-reply answers it."""
    subject = request.title if request.title.lower().startswith("re:") else f"Re: {request.title}"
    message = EmailMessage(
        subject=subject[:200],
        body=render_to_string(
            "intake/email/received.txt",
            {"request": request, "project": request.project, "url": follow_url(request.pk)},
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[request.requester_email],
    )
    message.extra_headers = {"Auto-Submitted": "auto-replied"}
    if request.message_id.startswith("<"):
        message.extra_headers |= {"In-Reply-To": request.message_id, "References": request.message_id}
    return message
