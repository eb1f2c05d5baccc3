"""A real IMAP server (Debian's Dovecot) on 127.0.0.1 for the e-mail channel's tests, and the notifications'
real SMTP server (aiosmtpd) for its answers.

Dovecot runs in the foreground from a configuration written into a temporary directory: one user in a
passwd-file, Maildir storage there too, plain IMAP on a free port, no TLS, its log on stderr. Messages
are delivered with IMAP APPEND, and read back (flags included) over IMAP, as a mail client would.
Without the ``dovecot`` binary the tests are skipped, except under CI=true, where that fails the run
(.ci/run installs the ``dovecot-imapd`` package).
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.apps.notifications.conftest import eager_celery, smtp  # noqa: F401 - fixtures reused as they are
from tests.conftest import CI
from tests.servers import free_port

USER, PASSWORD = "requests", "imap-secret"

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = /dev/stderr
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
{users}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def dovecot_binary() -> str:
    found = shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.access(p, os.X_OK)), None
    )
    if found is None:
        message = "needs Dovecot (apt-get install dovecot-imapd) for a real IMAP server"
        if CI:
            pytest.fail(f"CI=true: {message}; .ci/run installs it.")
        pytest.skip(message)
    return found


class Dovecot:
    def __init__(self, binary: str) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="sprintboard-dovecot-"))
        self.port = free_port()
        for folder in ("run", "state", "mail"):
            (self.root / folder).mkdir()
        (self.root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        if os.geteuid() == 0:  # root: Dovecot's own unprivileged users run it; mail belongs to nobody
            nobody = pwd.getpwnam("nobody")
            uid, gid, users = nobody.pw_uid, nobody.pw_gid, ""
            os.chmod(self.root, 0o755)
            os.chown(self.root / "mail", uid, gid)
        else:  # an ordinary user runs every process itself
            me = pwd.getpwuid(os.getuid()).pw_name
            uid, gid = os.getuid(), os.getgid()
            users = f"default_login_user = {me}\ndefault_internal_user = {me}\ndefault_internal_group = {me}\n"
        config = self.root / "dovecot.conf"
        config.write_text(CONFIG.format(root=self.root, port=self.port, uid=uid, gid=gid, users=users))
        self.log = open(self.root / "dovecot.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([binary, "-F", "-c", str(config)], stdout=self.log, stderr=self.log)
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Dovecot exited: {(self.root / 'dovecot.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"Dovecot did not listen: {(self.root / 'dovecot.log').read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def client(self) -> imaplib.IMAP4:
        connection = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        connection.login(USER, PASSWORD)
        return connection

    def deliver(self, message: EmailMessage | bytes, *, seen: bool = False) -> None:
        raw = message if isinstance(message, bytes) else message.as_bytes()
        connection = self.client()
        try:
            status, data = connection.append("INBOX", r"(\Seen)" if seen else None, None, raw)
            assert status == "OK", data
        finally:
            connection.logout()

    def flags(self) -> list[tuple[str, bool]]:
        """Every message of the inbox, oldest first: (Message-ID, read?)."""
        connection = self.client()
        try:
            connection.select("INBOX", readonly=True)
            status, data = connection.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            if status != "OK" or data == [None]:
                return []
            found = []
            for item in data:
                if isinstance(item, tuple):
                    header = item[1].decode().split(":", 1)[-1].strip()
                    found.append((header, b"\\Seen" in item[0]))
            return found
        finally:
            connection.logout()


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot(dovecot_binary())
    yield server
    server.stop()


@pytest.fixture
def mailbox(dovecot, settings, project):
    """An empty inbox that feeds the DATA project's triage queue."""
    connection = dovecot.client()
    connection.select("INBOX")
    if connection.search(None, "ALL")[1][0]:
        connection.store("1:*", "+FLAGS.SILENT", r"(\Deleted)")
        connection.expunge()
    connection.logout()
    settings.IMAP_HOST, settings.IMAP_PORT = "127.0.0.1", dovecot.port
    settings.IMAP_SSL = settings.IMAP_STARTTLS = False
    settings.IMAP_USER, settings.IMAP_PASSWORD = USER, PASSWORD
    settings.IMAP_MAILBOX, settings.IMAP_PROJECT, settings.IMAP_TIMEOUT = "INBOX", project.key, 5
    return dovecot
