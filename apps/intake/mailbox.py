"""The e-mail request channel's mailbox: read unread messages over IMAP and turn each into plain data.

``parse`` reads one RFC 5322 message: the subject (MIME encoded-words decoded), the sender's address, the
text of the body (the ``text/plain`` part, else the ``text/html`` part with its tags stripped; each in its
own charset), the Message-ID (a hash of the message when it has none) and whether it was sent by a machine
(an auto-reply, a bounce), which is never turned into a request nor answered: that is how mail loops
start; a message from a mailing list becomes a request but is not answered. ``Mailbox`` is the IMAP session: connect (IMAPS, STARTTLS or plain), list the UIDs of the
unread messages, fetch one without marking it read, and mark it read once it is handled.
"""

from __future__ import annotations

import hashlib
import imaplib
import re
import ssl
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from html.parser import HTMLParser
from types import TracebackType

from django.conf import settings

ID_MAX = 250
MACHINE_SENDERS = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply)@", re.IGNORECASE)


@dataclass(frozen=True)
class Mail:
    message_id: str
    sender: str  # the From address, lower-cased; empty when it has none that parses
    subject: str
    body: str
    automatic: bool  # an auto-reply or a bounce: marked read, never a request
    from_list: bool  # sent through a mailing list or in bulk: a request, but nobody is answered


class _Text(HTMLParser):
    """The text of an HTML body: tags dropped, blocks on their own lines, scripts and styles left out."""

    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = (re.sub(r"[ \t\xa0]+", " ", line).strip() for line in "".join(parser.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):  # an unknown or lying charset: keep what decodes
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    text = html_text(content) if part.get_content_type() == "text/html" else content
    return text.replace("\r\n", "\n").strip()


def _sender(message: EmailMessage) -> str:
    for _name, address in getaddresses([str(message.get("From", ""))]):
        if "@" in address and not re.search(r"\s", address):
            try:
                return Address(addr_spec=address).addr_spec.lower()
            except (ValueError, IndexError):
                continue
    return ""


def _precedence(message: EmailMessage) -> str:
    return str(message.get("Precedence", "")).strip().lower()


def _automatic(message: EmailMessage, sender: str) -> bool:
    return (
        str(message.get("Auto-Submitted", "no")).strip().lower() != "no"
        or _precedence(message) in ("junk", "auto_reply")
        or any(message.get(h) is not None for h in ("X-Autoreply", "X-Autorespond"))
        or bool(MACHINE_SENDERS.match(sender))
        or message.get_content_type() == "multipart/report"
    )


def _from_list(message: EmailMessage) -> bool:
    return _precedence(message) in ("bulk", "list") or message.get("List-Id") is not None


def _message_id(message: EmailMessage, raw: bytes) -> str:
    """The Message-ID as written when it is a sane one (ASCII, at most ``ID_MAX`` characters), else a hash:
    of the header when there is one, of the whole message when there is none."""
    written = " ".join(str(message.get("Message-ID", "")).split())
    if written and written.isascii() and len(written) <= ID_MAX:
        return written
    return "sha256:" + hashlib.sha256(written.encode() if written else raw).hexdigest()


def parse(raw: bytes) -> Mail:
    """One message, as the request it would become."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    sender = _sender(message)
    return Mail(
        message_id=_message_id(message, raw),
        sender=sender,
        subject=" ".join(str(message.get("Subject", "")).split()),
        body=_body(message),
        automatic=_automatic(message, sender),
        from_list=_from_list(message),
    )


class MailboxError(Exception):
    """The IMAP server refused something (login, the mailbox, a command)."""


class Mailbox:
    """An IMAP session on the configured mailbox (``SPRINTBOARD_IMAP_*``), used as a context manager."""

    def __init__(self) -> None:
        self.connection: imaplib.IMAP4 | None = None

    def __enter__(self) -> Mailbox:
        host, port, timeout = settings.IMAP_HOST, settings.IMAP_PORT, settings.IMAP_TIMEOUT
        if settings.IMAP_SSL:
            connection: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                host, port, ssl_context=ssl.create_default_context(), timeout=timeout
            )
        else:
            connection = imaplib.IMAP4(host, port, timeout=timeout)
            if settings.IMAP_STARTTLS:
                connection.starttls(ssl_context=ssl.create_default_context())
        self.connection = connection
        try:
            connection.login(settings.IMAP_USER, settings.IMAP_PASSWORD)
            status, data = connection.select(_quoted(settings.IMAP_MAILBOX))
            if status != "OK":
                raise MailboxError(f"The mailbox {settings.IMAP_MAILBOX!r} cannot be opened: {_said(data)}")
        except imaplib.IMAP4.error as exc:
            self.__exit__(None, None, None)
            raise MailboxError(f"The IMAP server refused: {exc}") from exc
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self.connection is not None:
            try:
                self.connection.logout()
            except (imaplib.IMAP4.error, OSError):
                pass
            self.connection = None

    def _command(self, *args: str) -> list:
        assert self.connection is not None
        status, data = self.connection.uid(*args)
        if status != "OK":
            raise MailboxError(f"IMAP UID {args[0]} failed: {_said(data)}")
        return data

    def unseen(self) -> list[str]:
        """The UIDs of the unread messages, oldest first."""
        data = self._command("SEARCH", "UNSEEN")
        return [uid.decode() for uid in (data[0] or b"").split()]

    def fetch(self, uid: str) -> bytes | None:
        """A message's bytes, leaving it unread (``BODY.PEEK``); ``None`` when it is gone."""
        for item in self._command("FETCH", uid, "(BODY.PEEK[])"):
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                return item[1]
        return None

    def mark_seen(self, uid: str) -> None:
        self._command("STORE", uid, "+FLAGS.SILENT", r"(\Seen)")


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _said(data: object) -> str:
    if isinstance(data, list) and data and isinstance(data[0], bytes):
        return data[0].decode(errors="replace")
    return str(data)
