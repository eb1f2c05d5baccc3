"""Reading one message: what each part of it becomes (no server needed)."""

from __future__ import annotations

from email.message import EmailMessage

from apps.intake.mailbox import html_text, parse


def raw(**headers: str) -> bytes:
    mail = EmailMessage()
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content("body")
    return mail.as_bytes()


def test_a_message_id_is_kept_as_written_or_hashed_when_absent_or_unreasonable():
    assert parse(raw(From="a@example.com", Message_ID="<abc@example.com>")).message_id == "<abc@example.com>"
    missing = parse(raw(From="a@example.com")).message_id
    assert missing.startswith("sha256:") and missing == parse(raw(From="a@example.com")).message_id
    long = parse(raw(From="a@example.com", Message_ID="<" + "x" * 400 + "@example.com>")).message_id
    assert long.startswith("sha256:") and len(long) == 71


def test_the_sender_is_the_from_address_lower_cased_or_nothing():
    assert parse(raw(From='"Ann, Data" <Ann.Lee@Example.COM>')).sender == "ann.lee@example.com"
    assert parse(raw(From="not an address")).sender == ""
    assert parse(raw()).sender == ""


def test_machines_and_lists_are_told_apart():
    assert parse(raw(From="a@example.com", Auto_Submitted="auto-generated")).automatic
    assert not parse(raw(From="a@example.com", Auto_Submitted="no")).automatic
    assert parse(raw(From="no-reply@example.com")).automatic
    assert parse(raw(From="a@example.com", Precedence="bulk")).from_list
    assert not parse(raw(From="a@example.com")).from_list


def test_html_becomes_its_text():
    assert html_text("<p>One&nbsp;two</p><script>x()</script><ul><li>a</li><li>b</li></ul>") == "One two\n\na\n\nb"
