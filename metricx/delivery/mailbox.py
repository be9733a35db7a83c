"""The local mailbox: a real SMTP server on 127.0.0.1 that keeps every message it accepts as
an .eml file, so `metricx up` without SMTP_URL and the tests deliver email for real and the
mail can be read back (the Alerts page, or the files under `METRICX_DATA_DIR/mailbox`).

It asks what a careful mail submission server asks (RFC 6409): STARTTLS before anything else
(RFC 3207), then AUTH (RFC 4954) with a generated user and password, over a self-signed
certificate for 127.0.0.1/localhost. The certificate, key and password are kept under the
mailbox's directory, so a restarted mailbox is the same server to its clients.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.errors
import hashlib
import hmac
import ipaddress
import logging
import os
import secrets
import socket
import ssl
import tempfile
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from metricx.config import local_secret, write_private_file

log = logging.getLogger(__name__)


class _QuietDeprecation(logging.Filter):
    """aiosmtpd 1.4 itself sets Session.login_data after every AUTH and then warns that it is
    deprecated: a line per message that tells the reader nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


logging.getLogger("mail.log").addFilter(_QuietDeprecation())

USERNAME = "metricx"
HOST = "127.0.0.1"
#: A certificate this close to its end is replaced at the next start.
_CERT_RENEW_BEFORE = dt.timedelta(days=30)
_CERT_LIFETIME = dt.timedelta(days=3650)


@dataclass(frozen=True)
class MailboxAddress:
    #: SMTP_URL for the mailbox, credentials included
    url: str
    #: SMTP_CA_FILE for the mailbox: its self-signed certificate
    ca_file: Path


@dataclass(frozen=True)
class StoredMail:
    path: Path
    sender: str
    to: str
    subject: str
    date: dt.datetime | None
    message_id: str
    text: str | None
    html: str | None
    image_count: int


class LocalMailbox:
    """`with LocalMailbox(root) as address:` a running mailbox; `address.url` is its
    SMTP_URL and `address.ca_file` its SMTP_CA_FILE."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.messages_dir = root / "messages"
        self._controller: Controller | None = None
        self.address: MailboxAddress | None = None

    def start(self) -> MailboxAddress:
        if self.address is not None:
            return self.address
        self.messages_dir.mkdir(parents=True, exist_ok=True)
        cert_file, key_file = ensure_certificate(self.root / "tls")
        password = local_secret(self.root / "password.txt", lambda: secrets.token_urlsafe(24))
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(cert_file, key_file)
        for attempt in range(5):  # the free port may be taken between asking and binding
            port = _free_port()
            controller = Controller(
                _Store(self.messages_dir),
                hostname=HOST,
                port=port,
                server_hostname="localhost",
                tls_context=tls,
                # aiosmtpd: with require_starttls every command but EHLO/HELO, STARTTLS,
                # NOOP, RSET, QUIT is answered "530 Must issue a STARTTLS command first";
                # auth_require_tls hides AUTH from EHLO until TLS is up; auth_required
                # answers MAIL with "530 5.7.0 Authentication required" before AUTH
                require_starttls=True,
                auth_require_tls=True,
                auth_required=True,
                authenticator=_Authenticator(USERNAME, password),
            )
            try:
                controller.start()
            except OSError:
                if attempt == 4:
                    raise
                continue
            break
        self._controller = controller
        url = f"smtp://{USERNAME}:{quote(password, safe='')}@{HOST}:{port}"
        self.address = MailboxAddress(url=url, ca_file=cert_file)
        log.info("local mailbox listening on %s:%s, storing in %s", HOST, port, self.root)
        return self.address

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        self.address = None

    def __enter__(self) -> MailboxAddress:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def read_messages(root: Path, limit: int = 50) -> list[StoredMail]:
    """The mailbox's newest `limit` messages, newest first; a file that cannot be read as an
    email is skipped (logged)."""
    folder = root / "messages"
    if not folder.is_dir():
        return []
    found: list[StoredMail] = []
    # names start with the UTC time of receipt, so name order is arrival order
    for path in sorted(folder.glob("*.eml"), reverse=True):
        if len(found) >= limit:
            break
        try:
            found.append(_stored_mail(path))
        except (OSError, ValueError, LookupError, email.errors.MessageError) as error:
            log.warning("skipping unreadable mail %s: %s", path, error)
    return found


def ensure_certificate(folder: Path) -> tuple[Path, Path]:
    """The mailbox's key and self-signed certificate (for 127.0.0.1 and localhost), made on
    first use and kept; two mailboxes starting at once end up with the same pair."""
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    if not key_file.exists():
        new_key = ec.generate_private_key(ec.SECP256R1())
        pem = new_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_private_file(key_file, pem.decode(), replace=False)
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{key_file} is not the mailbox's key: delete {folder} to make a new one")
    now = dt.datetime.now(dt.UTC)
    if cert_file.exists():
        current = x509.load_pem_x509_certificate(cert_file.read_bytes())
        fits = current.public_key() == key.public_key()
        if fits and current.not_valid_after_utc - now > _CERT_RENEW_BEFORE:
            return cert_file, key_file
    cert = _self_signed(key, now)
    write_private_file(cert_file, cert.public_bytes(serialization.Encoding.PEM).decode())
    cert_file.chmod(0o644)  # a certificate is public; clients read it as SMTP_CA_FILE
    return cert_file, key_file


def _self_signed(key: ec.EllipticCurvePrivateKey, now: dt.datetime) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Metricx local mailbox")])
    public = key.public_key()
    # It is its own trust anchor (SMTP_CA_FILE), hence CA:TRUE with keyCertSign, and the
    # server certificate, hence serverAuth and the names clients connect to (RFC 5280)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _CERT_LIFETIME)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


class _Authenticator:
    """aiosmtpd's `authenticator` hook: called with the decoded LOGIN/PLAIN credentials,
    answers an AuthResult (a failure makes aiosmtpd reply 535 5.7.8)."""

    def __init__(self, username: str, password: str) -> None:
        self._username = username.encode()
        self._password = password.encode()

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = hmac.compare_digest(auth_data.login, self._username) & hmac.compare_digest(
            auth_data.password, self._password
        )
        return AuthResult(success=bool(ok), handled=False)


class _Store:
    """aiosmtpd handler: `handle_DATA` keeps the message, then answers 250."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        received = dt.datetime.now(dt.UTC)
        content = envelope.original_content or b""
        # What the delivering server adds (RFC 5321 §4.4): the envelope sender and a trace
        trace = (
            f"Return-Path: <{envelope.mail_from or ''}>\r\n"
            f"Received: from {session.host_name or 'unknown'} ({session.peer and session.peer[0]})"
            f" by localhost (Metricx local mailbox) with ESMTPSA"
            f" for <{', '.join(envelope.rcpt_tos)}>; {format_datetime(received)}\r\n"
        ).encode()
        data = trace + content
        digest = hashlib.sha256(data).hexdigest()[:10]
        name = f"{received:%Y%m%dT%H%M%S%fZ}-{digest}.eml"
        _write_atomically(self.folder / name, data)
        return "250 2.0.0 Message accepted for delivery"


def _write_atomically(path: Path, data: bytes) -> None:
    """A reader sees the whole file or none of it: written under a temporary name, then
    renamed in one step."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _stored_mail(path: Path) -> StoredMail:
    parsed = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    if not isinstance(parsed, EmailMessage) or not parsed.keys() or "Message-ID" not in parsed:
        raise ValueError("no email headers")
    date_header = parsed["Date"]
    date = getattr(date_header, "datetime", None) if date_header is not None else None
    text_part = parsed.get_body(preferencelist=("plain",))
    html_part = parsed.get_body(preferencelist=("html",))
    images = sum(1 for part in parsed.walk() if part.get_content_maintype() == "image")
    return StoredMail(
        path=path,
        sender=str(parsed["From"] or ""),
        to=str(parsed["To"] or ""),
        subject=str(parsed["Subject"] or ""),
        date=date,
        message_id=str(parsed["Message-ID"]).strip(),
        text=_content(text_part),
        html=_content(html_part),
        image_count=images,
    )


def _content(part: object) -> str | None:
    """A text part's content with the line breaks of this machine (the file keeps SMTP's
    CRLF, RFC 5321 §2.3.8)."""
    if not isinstance(part, EmailMessage):
        return None
    content: str = part.get_content()
    return content.replace("\r\n", "\n")
