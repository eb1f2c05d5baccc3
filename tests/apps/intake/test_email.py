"""The e-mail channel end to end: messages delivered to a real IMAP server (Dovecot) become requests,
are marked read, never twice, and their senders are answered through a real SMTP server."""

from __future__ import annotations

from email.message import EmailMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest
from django.test import Client

from apps.intake import mailbox as mailbox_module
from apps.intake import services
from apps.intake.models import Request
from apps.intake.tasks import intake_mailbox_poll_task, request_reply_task

pytestmark = pytest.mark.django_db
BASE = "https://sprintboard.example.com"


def message(sender: str, subject: str, body: str, *, message_id: str, **headers: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"], mail["Message-ID"] = sender, "requests@example.com", subject, message_id
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return mail


def poll(django_capture_on_commit_callbacks) -> int:
    with django_capture_on_commit_callbacks(execute=True):
        return intake_mailbox_poll_task.apply().get()


def test_each_unread_message_becomes_a_request_and_is_marked_read(
    mailbox, people, smtp, eager_celery, django_capture_on_commit_callbacks
):
    people["stakeholder"].email = "Stake.Holder@Example.com"
    people["stakeholder"].save()
    mailbox.deliver(
        message(
            "Stake Holder <stake.holder@example.com>",
            "Churn by region",
            "For the QBR.\n",
            message_id="<m1@example.com>",
        )
    )
    mailbox.deliver(message("Client <client@elsewhere.org>", "Export revenue", "As CSV please", message_id="<m2@x>"))
    mailbox.deliver(message("old@example.com", "Read before", "-", message_id="<m0@x>"), seen=True)

    assert poll(django_capture_on_commit_callbacks) == 2

    first, second = Request.objects.order_by("pk")
    assert (first.title, first.detail, first.channel, first.status) == (
        "Churn by region",
        "For the QBR.",
        "email",
        "open",
    )
    assert first.requester == people["stakeholder"] and first.requester_email == "stake.holder@example.com"
    assert second.requester is None and second.requester_email == "client@elsewhere.org"
    assert sorted(mailbox.flags()) == [("<m0@x>", True), ("<m1@example.com>", True), ("<m2@x>", True)]
    assert poll(django_capture_on_commit_callbacks) == 0 and Request.objects.count() == 2


def test_the_sender_is_answered_with_a_link_that_follows_the_request(
    mailbox, people, smtp, eager_celery, django_capture_on_commit_callbacks
):
    mailbox.deliver(message("Client <client@elsewhere.org>", "Export revenue", "As CSV", message_id="<ask@x>"))
    poll(django_capture_on_commit_callbacks)
    request = Request.objects.get()

    [answer] = smtp.inbox.messages
    assert answer.recipients == ["client@elsewhere.org"] and answer.subject == "Re: Export revenue"
    assert answer.message["In-Reply-To"] == "<ask@x>" and answer.message["Auto-Submitted"] == "auto-replied"
    text = answer.body()
    assert f"request #{request.pk}" in text
    link = next(word for word in text.split() if word.startswith(f"{BASE}/requests/follow/"))
    page = Client().get(link.removeprefix(BASE))
    assert page.status_code == 200 and "Export revenue" in page.content.decode() and "Open" in page.content.decode()

    services.request_decline(request=request, actor=people["owner"], reason="Already in the finance export")
    assert "Already in the finance export" in Client().get(link.removeprefix(BASE)).content.decode()
    assert Client().get(link.removeprefix(BASE)[:-3] + "xx/").status_code == 404
    assert Request.objects.get().replied_at is not None
    assert request_reply_task.apply(args=[request.pk]).get() is False, "answered once"
    assert len(smtp.inbox.messages) == 1


def test_the_same_message_id_never_makes_two_requests(mailbox, smtp, eager_celery, django_capture_on_commit_callbacks):
    """A worker that died after the commit but before marking the message read leaves it unread: the next
    poll recognises it and only marks it."""
    mailbox.deliver(message("a@example.com", "Dashboard", "one", message_id="<same@x>"))
    mailbox.deliver(message("a@example.com", "Dashboard", "one", message_id="<same@x>"))
    assert poll(django_capture_on_commit_callbacks) == 1
    assert Request.objects.count() == 1 and all(seen for _, seen in mailbox.flags())
    assert len(smtp.inbox.messages) == 1


def test_mime_headers_charsets_and_html_only_bodies_are_decoded(
    mailbox, smtp, eager_celery, django_capture_on_commit_callbacks
):
    latin = MIMEText("Prévision des ventes, s'il vous plaît.", "plain", "iso-8859-1")
    latin["From"] = "=?utf-8?q?Ren=C3=A9e?= <renee@example.fr>"
    latin["Subject"] = "=?iso-8859-1?q?Pr=E9vision_des_ventes?="
    latin["Message-ID"] = "<latin@x>"
    html = MIMEMultipart("mixed")
    html.attach(
        MIMEText(
            "<html><head><style>p{}</style></head><body><p>Need the <b>churn</b> model</p>"
            "<p>by Friday&nbsp;&amp; soon</p></body></html>",
            "html",
            "utf-8",
        )
    )
    html["From"], html["Subject"], html["Message-ID"] = "ann@example.com", "Churn model", "<html@x>"
    mailbox.deliver(latin.as_bytes())
    mailbox.deliver(html.as_bytes())
    assert poll(django_capture_on_commit_callbacks) == 2
    first, second = Request.objects.order_by("pk")
    assert (first.title, first.detail) == ("Prévision des ventes", "Prévision des ventes, s'il vous plaît.")
    assert first.requester_email == "renee@example.fr"
    assert (second.title, second.detail) == ("Churn model", "Need the churn model\n\nby Friday & soon")


def test_auto_replies_and_bounces_are_marked_read_and_never_answered(
    mailbox, smtp, eager_celery, django_capture_on_commit_callbacks
):
    mailbox.deliver(
        message("a@example.com", "Out of office", "Back Monday", message_id="<ooo@x>", Auto_Submitted="auto-replied")
    )
    mailbox.deliver(message("MAILER-DAEMON@example.com", "Undelivered", "...", message_id="<bounce@x>"))
    mailbox.deliver(message("list@example.com", "Weekly digest ask", "x", message_id="<list@x>", List_Id="<l.example>"))
    assert poll(django_capture_on_commit_callbacks) == 1
    assert Request.objects.get().title == "Weekly digest ask", "a list's message is a request…"
    assert smtp.inbox.messages == [], "…but nobody is answered"
    assert all(seen for _, seen in mailbox.flags())


def test_a_message_without_subject_is_titled_by_its_first_line(
    mailbox, smtp, eager_celery, django_capture_on_commit_callbacks
):
    mailbox.deliver(message("a@example.com", "", "\n\nPlease add a freshness badge\nthanks", message_id="<ns@x>"))
    poll(django_capture_on_commit_callbacks)
    assert Request.objects.get().title == "Please add a freshness badge"


def test_a_down_smtp_server_loses_no_request_and_the_answer_follows(
    mailbox, smtp, eager_celery, django_capture_on_commit_callbacks
):
    smtp.stop()
    mailbox.deliver(message("a@example.com", "Dashboard", "x", message_id="<down@x>"))
    poll(django_capture_on_commit_callbacks)
    request = Request.objects.get()
    assert request.replied_at is None and mailbox.flags() == [("<down@x>", True)]
    smtp.start()
    assert request_reply_task.apply(args=[request.pk]).get() is True
    assert [m.recipients for m in smtp.inbox.messages] == [["a@example.com"]]


def test_a_wrong_password_or_project_fails_loudly_and_reads_nothing(mailbox, settings):
    mailbox.deliver(message("a@example.com", "Dashboard", "x", message_id="<pw@x>"))
    settings.IMAP_PASSWORD = "wrong"
    with pytest.raises(mailbox_module.MailboxError, match="refused"):
        services.mailbox_poll()
    settings.IMAP_PASSWORD, settings.IMAP_PROJECT = "imap-secret", "NOPE"
    with pytest.raises(mailbox_module.MailboxError, match="NOPE"):
        services.mailbox_poll()
    assert mailbox.flags() == [("<pw@x>", False)] and not Request.objects.exists()


def test_without_a_host_the_poll_does_nothing(settings):
    settings.IMAP_HOST = ""
    assert services.mailbox_poll() == 0


def test_a_backlog_of_unread_mail_is_worked_through_in_batches(
    mailbox, smtp, eager_celery, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(services, "MAILBOX_BATCH", 2)
    for n in range(3):
        mailbox.deliver(message(f"a{n}@example.com", f"Ask {n}", "x", message_id=f"<batch{n}@x>"))
    assert poll(django_capture_on_commit_callbacks) == 2
    assert [seen for _, seen in mailbox.flags()] == [True, True, False], "the oldest first"
    assert poll(django_capture_on_commit_callbacks) == 1
    assert list(Request.objects.order_by("pk").values_list("title", flat=True)) == ["Ask 0", "Ask 1", "Ask 2"]
