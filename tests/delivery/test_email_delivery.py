"""Email delivery through a real SMTP server: the local mailbox (aiosmtpd with STARTTLS and
AUTH) or, for the server behaviours it does not show, a plain aiosmtpd server told how to
answer."""

from __future__ import annotations

import smtplib
import socket
import ssl
import struct
import zlib
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from metricx.delivery.email import send_email, subject_line
from metricx.delivery.errors import DeliveryError
from metricx.delivery.mailbox import LocalMailbox, ensure_certificate, read_messages
from metricx.delivery.message import InlineImage, Message


def png(width: int = 2, height: int = 1) -> bytes:
    """A real (grey) PNG: signature, IHDR, IDAT, IEND (PNG spec §5)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stored_email(path: Path) -> EmailMessage:
    parsed = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert isinstance(parsed, EmailMessage)
    return parsed


ALERT = Message(
    subject="Revenue fell 31% — Acme",
    text="Revenue yesterday: $1,234 (a week before: $1,790).",
    html='<html><body><p>Revenue fell <b>31%</b></p><img src="cid:chart-1"></body></html>',
    images=(InlineImage(cid="chart-1", png=png(), alt="Revenue, last 14 days"),),
    link="http://localhost:8501/alerts?event=7",
)


def test_an_alert_arrives_whole_through_starttls_and_auth(local_mailbox):
    # Given the local mailbox, which takes mail only after STARTTLS and AUTH
    # When an alert with text, HTML and an inline chart is sent to Ada
    send_email(ALERT, "ada@acme.test", message_id="event:7:email:ada@acme.test")

    # Then the mailbox holds exactly that message
    [mail] = read_messages(local_mailbox.root)
    assert mail.subject == "Revenue fell 31% — Acme"
    assert mail.sender == "Metricx <alerts@metricx.localhost>"
    assert mail.to == "ada@acme.test"
    assert mail.message_id == "<event.7.email.ada.acme.test@metricx.localhost>"
    assert mail.text == (
        "Revenue yesterday: $1,234 (a week before: $1,790).\n\n"
        "Open in Metricx: http://localhost:8501/alerts?event=7\n"
    )
    assert mail.html is not None and "Revenue fell <b>31%</b>" in mail.html
    assert '<a href="http://localhost:8501/alerts?event=7">Open in Metricx</a>' in mail.html
    assert mail.image_count == 1
    # And the chart is the part the HTML's cid: points at, byte for byte, inside
    # multipart/related beside the HTML, the plain text its alternative
    email = stored_email(mail.path)
    assert email.get_content_type() == "multipart/alternative"
    plain, related = email.iter_parts()
    assert (plain.get_content_type(), related.get_content_type()) == (
        "text/plain",
        "multipart/related",
    )
    html_part, image = related.iter_parts()
    assert 'src="cid:chart-1"' in html_part.get_content()
    assert image["Content-ID"] == "<chart-1>"
    assert image.get_content_type() == "image/png"
    assert image.get_content() == png()
    assert email["Auto-Submitted"] == "auto-generated"


def test_a_resend_of_the_same_delivery_carries_the_same_message_id(local_mailbox):
    # Given one delivery sent twice (a retry after a timeout that had in fact got through)
    send_email(ALERT, "ada@acme.test", message_id="delivery-42")
    send_email(ALERT, "ada@acme.test", message_id="delivery-42")
    # Then both copies say they are the same message, so mail clients can fold them
    ids = {mail.message_id for mail in read_messages(local_mailbox.root)}
    assert ids == {"<delivery-42@metricx.localhost>"}


def test_a_text_only_message_is_a_single_plain_part(local_mailbox):
    send_email(
        Message(subject="Weekly digest", text="All quiet."), "ada@acme.test", message_id="t1"
    )
    [mail] = read_messages(local_mailbox.root)
    assert stored_email(mail.path).get_content_type() == "text/plain"
    assert (mail.text, mail.html, mail.image_count) == ("All quiet.\n", None, 0)


def test_the_mailbox_refuses_mail_before_starttls_and_auth(local_mailbox):
    # Given a client that neither starts TLS nor logs in
    port = int(local_mailbox.address.url.rsplit(":", 1)[1])
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
        client.ehlo()
        # Then AUTH is not even offered in clear, and mail is refused until STARTTLS
        assert not client.has_extn("auth")
        code, reply = client.mail("eve@evil.test")
        assert code == 530 and b"STARTTLS" in reply
    assert read_messages(local_mailbox.root) == []


def test_a_wrong_password_is_a_permanent_failure_that_says_so(local_mailbox, setenv):
    # Given SMTP_URL with the right user and a wrong password
    url = local_mailbox.address.url
    userinfo, _, where = url.removeprefix("smtp://").rpartition("@")
    setenv(SMTP_URL=f"smtp://{userinfo.split(':')[0]}:wrong@{where}")
    # When an alert is sent
    with pytest.raises(DeliveryError) as failure:
        send_email(ALERT, "ada@acme.test", message_id="event:1")
    # Then it is not retried (a password does not fix itself) and the message names the cause
    assert failure.value.transient is False
    assert "refused the user and password of SMTP_URL" in str(failure.value)
    assert "535" in str(failure.value) and "wrong" not in str(failure.value)
    assert read_messages(local_mailbox.root) == []


def test_a_certificate_the_system_does_not_trust_is_refused(local_mailbox, setenv):
    # Given the mailbox's self-signed certificate, but no SMTP_CA_FILE to trust it by
    setenv(SMTP_CA_FILE="")
    with pytest.raises(DeliveryError, match=r"certificate is not trusted.*SMTP_CA_FILE") as failure:
        send_email(ALERT, "ada@acme.test", message_id="event:1")
    assert failure.value.transient is False
    assert read_messages(local_mailbox.root) == []


def test_a_mail_server_that_is_down_is_a_transient_failure(setenv):
    # Given SMTP_URL pointing at a port nobody listens on
    setenv(SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
    with pytest.raises(DeliveryError, match="Cannot reach the mail server") as failure:
        send_email(ALERT, "ada@acme.test", message_id="event:1")
    # Then the delivery is tried again later
    assert failure.value.transient is True


def test_a_mail_server_that_never_answers_is_a_transient_failure_after_the_timeout(setenv):
    # Given a port that takes connections but never says a word (a hung server)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        setenv(SMTP_URL=f"smtp://127.0.0.1:{silent.getsockname()[1]}", SMTP_TIMEOUT_SECONDS="1")
        with pytest.raises(DeliveryError, match="did not answer within 1s") as failure:
            send_email(ALERT, "ada@acme.test", message_id="event:1")
    assert failure.value.transient is True


class Recording:
    """An aiosmtpd handler that answers RCPT TO with `rcpt_reply` and records every AUTH.

    aiosmtpd handlers (https://aiosmtpd.readthedocs.io/en/latest/handlers.html): the string
    `handle_RCPT` returns is the reply sent to the client; a handler that accepts appends the
    address to `envelope.rcpt_tos`. An `authenticator` is called for every AUTH attempt
    (https://aiosmtpd.readthedocs.io/en/latest/auth.html)."""

    def __init__(self, rcpt_reply: str = "250 OK") -> None:
        self.rcpt_reply = rcpt_reply
        self.auth_attempts: list[str] = []
        self.received: list[bytes] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return self.rcpt_reply

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope.original_content)
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.auth_attempts.append(mechanism)
        return AuthResult(success=True)


@pytest.fixture
def plain_server():
    """Start a plain-text aiosmtpd server (no TLS) answering as told; its port and handler."""
    started: list[Controller] = []

    def start(handler: Recording) -> int:
        port = free_port()
        # auth_require_tls=False: AUTH is offered without TLS, as a careless server would
        controller = Controller(
            handler,
            hostname="127.0.0.1",
            port=port,
            server_hostname="localhost",
            auth_require_tls=False,
            authenticator=handler.authenticate,
        )
        controller.start()
        started.append(controller)
        return port

    yield start
    for controller in started:
        controller.stop()


def test_a_password_is_never_sent_to_a_server_without_starttls(plain_server, setenv):
    # Given a server that offers AUTH but no STARTTLS, and SMTP_URL with a password
    handler = Recording()
    port = plain_server(handler)
    setenv(SMTP_URL=f"smtp://metricx:s3cret@127.0.0.1:{port}", SMTP_CA_FILE="")
    # When an alert is sent
    with pytest.raises(DeliveryError, match="does not offer STARTTLS") as failure:
        send_email(ALERT, "ada@acme.test", message_id="event:1")
    # Then it stops before AUTH: the password never crossed the wire, nothing was sent
    assert failure.value.transient is False
    assert handler.auth_attempts == [] and handler.received == []


def test_without_credentials_a_server_without_tls_still_gets_the_mail(plain_server, setenv):
    # (an internal relay that trusts its network: nothing secret is sent)
    handler = Recording()
    setenv(SMTP_URL=f"smtp://127.0.0.1:{plain_server(handler)}", SMTP_CA_FILE="")
    send_email(ALERT, "ada@acme.test", message_id="event:1")
    assert len(handler.received) == 1 and handler.auth_attempts == []


def test_smtps_speaks_tls_from_the_first_byte_then_logs_in(tmp_path, setenv):
    # Given a server on implicit TLS (RFC 8314), its certificate trusted by SMTP_CA_FILE
    cert_file, key_file = ensure_certificate(tmp_path / "tls")
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_file, key_file)
    handler, port = Recording(), free_port()
    # aiosmtpd: `ssl_context` wraps the listening socket itself, so TLS starts on connect
    # (https://aiosmtpd.readthedocs.io/en/latest/controller.html)
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        server_hostname="localhost",
        ssl_context=tls,
        # aiosmtpd counts only STARTTLS as TLS for `auth_require_tls` (its smtp_EHLO checks
        # the STARTTLS protocol object), so on implicit TLS AUTH must be allowed explicitly
        auth_require_tls=False,
        authenticator=handler.authenticate,
    )
    controller.start()
    try:
        setenv(SMTP_URL=f"smtps://metricx:s3cret@127.0.0.1:{port}", SMTP_CA_FILE=str(cert_file))
        # When an alert is sent
        send_email(ALERT, "ada@acme.test", message_id="event:1")
    finally:
        controller.stop()
    # Then it logged in (over TLS, the only way there is) and the message arrived
    assert handler.auth_attempts == ["PLAIN"] and len(handler.received) == 1


@pytest.mark.parametrize(
    "reply, transient",
    [
        ("451 4.3.0 Mailbox temporarily unavailable, try later", True),
        ("452 4.2.2 Mailbox full", True),
        ("550 5.1.1 No such user", False),
        ("553 5.1.3 Bad recipient address syntax", False),
    ],
)
def test_a_refused_recipient_is_transient_for_4xx_and_permanent_for_5xx(
    plain_server, setenv, reply, transient
):
    # Given a server refusing the recipient with `reply` (RFC 5321 §4.2.1: 4yz transient)
    handler = Recording(rcpt_reply=reply)
    setenv(SMTP_URL=f"smtp://127.0.0.1:{plain_server(handler)}", SMTP_CA_FILE="")
    with pytest.raises(DeliveryError) as failure:
        send_email(ALERT, "ada@acme.test", message_id="event:1")
    # Then the failure says whether to try again, and quotes the server
    assert failure.value.transient is transient
    assert "refused the recipient ada@acme.test" in str(failure.value)
    assert reply.split(" ", 1)[1] in str(failure.value)


def test_an_address_that_is_not_one_is_refused_before_connecting(setenv):
    setenv(SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
    with pytest.raises(DeliveryError, match="is not an email address") as failure:
        send_email(ALERT, "ada@acme.test\r\nBcc: eve@evil.test", message_id="event:1")
    assert failure.value.transient is False


def test_without_smtp_url_email_is_not_set_up(setenv, monkeypatch):
    monkeypatch.delenv("SMTP_URL", raising=False)
    setenv()
    with pytest.raises(DeliveryError, match="set SMTP_URL") as failure:
        send_email(ALERT, "ada@acme.test", message_id="event:1")
    assert failure.value.transient is False


def test_reading_the_mailbox_skips_a_corrupt_file_and_lists_newest_first(local_mailbox):
    # Given two messages, and between them a file that is not an email
    send_email(Message(subject="first", text="1"), "ada@acme.test", message_id="m1")
    messages = local_mailbox.root / "messages"
    [first] = messages.glob("*.eml")
    (messages / f"{first.name[:8]}T999999999999Z-corrupt.eml").write_bytes(b"\x00\xff\xfe junk")
    send_email(Message(subject="second", text="2"), "ada@acme.test", message_id="m2")
    # When the mailbox is read
    mails = read_messages(local_mailbox.root)
    # Then the two messages are there, newest first, and the junk is left out
    assert [mail.subject for mail in mails] == ["second", "first"]
    assert [mail.subject for mail in read_messages(local_mailbox.root, limit=1)] == ["second"]


def test_a_restarted_mailbox_is_the_same_server_with_the_same_mail(tmp_path):
    # Given a mailbox that ran once
    with LocalMailbox(tmp_path / "mailbox") as first:
        pass
    # When another starts on the same directory
    with LocalMailbox(tmp_path / "mailbox") as second:
        # Then clients keep their certificate and password (only the port may change)
        assert second.ca_file == first.ca_file
        assert second.url.rsplit(":", 1)[0] == first.url.rsplit(":", 1)[0]
    assert read_messages(tmp_path / "empty") == []


#: What every stored alert carries: the mailbox's trace, then what Metricx wrote
HEADERS = (
    *("Return-Path", "Received"),
    *("From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted"),
    *("MIME-Version", "Content-Type"),
)
#: Text a mail reader would decode if it were written as it is
LOOKS_ENCODED = st.builds(lambda a, b: f"{a} =?utf-8?q?{b}?=", st.text(), st.text())
CRLF_INJECTION = st.builds(
    lambda before, after: f"{before}\r\nBcc: eve@evil.test\r\n{after}", st.text(), st.text()
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@example(subject="=?utf-8?q?not_an_encoded_word?=", text="", html="")
@example(subject="x" * 400, text="y" * 5000, html="<p>" + "é" * 3000)
@example(subject="Alert\nTo: eve@evil.test", text=".\r\n.\r\n", html="\r\n.\r\n")
@given(
    subject=st.one_of(st.text(max_size=300), CRLF_INJECTION, LOOKS_ENCODED),
    text=st.one_of(st.text(max_size=2000), st.text(min_size=1200, max_size=3000)),
    html=st.text(max_size=1000),
)
def test_any_subject_and_body_arrive_intact_and_add_no_header(local_mailbox, subject, text, html):
    # Given any subject (long, unicode, or trying to smuggle a header in) and any bodies
    send_email(Message(subject=subject, text=text, html=html), "ada@acme.test", message_id="p")
    # When the newest message is read back
    [mail] = read_messages(local_mailbox.root, limit=1)
    email = stored_email(mail.path)
    # Then the subject is the same words on one line, and no header was added
    assert mail.subject == subject_line(subject)
    assert "Bcc" not in email
    assert sorted(email.keys()) == sorted(HEADERS)
    # And both bodies are what was sent, line breaks aside
    assert mail.text == lines(text)
    assert mail.html == lines(html)


def lines(body: str) -> str:
    """A body as a text part carries it: line breaks made one kind, the last line ended."""
    unified = body.replace("\r\n", "\n").replace("\r", "\n")
    return unified if unified.endswith("\n") else unified + "\n"
