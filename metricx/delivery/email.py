"""Email delivery: a `Message` as a MIME email, handed to the mail server of SMTP_URL.

The email is multipart/alternative: the plain text, then the HTML inside multipart/related
with each inline image as an image/png part whose Content-ID the HTML names
(`<img src="cid:...">`, RFC 2392). Its Message-ID is derived from the delivery, so a resend
of the same delivery is recognisable as the same message.

Failures become `DeliveryError`s classified as RFC 5321 §4.2.1 does: a 4yz reply is a
transient failure (try again later), a 5yz reply a permanent one; a server that cannot be
reached or stops answering is transient too.
"""

from __future__ import annotations

import base64
import html
import re
import smtplib
import ssl
import unicodedata
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.policy import Policy
from email.utils import formatdate, parseaddr
from pathlib import Path

from metricx.config import ConfigError, SmtpServer, get_config
from metricx.delivery.errors import DeliveryError
from metricx.delivery.message import Message

#: RFC 5322 §3.2.3 atext: what the id part of a Message-ID may hold (others become ".")
_NOT_ATEXT = re.compile(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+")
_WHOLE_MESSAGE_ID = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")


def send_email(message: Message, to: str, *, message_id: str) -> None:
    """Send `message` to one address through SMTP_URL; raises DeliveryError (transient or
    not) when it does not get through. `message_id`: stable for this delivery (its dedupe key
    or `delivery-{id}`), so a resend carries the same Message-ID."""
    config = get_config()
    try:
        server = config.smtp_server
    except ConfigError as error:
        raise DeliveryError(str(error), transient=False) from None
    if server is None:
        raise DeliveryError(
            "Email is not set up: set SMTP_URL (see the README's configuration table)",
            transient=False,
        )
    email = build_email(message, to, message_id=message_id, sender=config.smtp_from)
    tls = _tls_context(config.smtp_ca_file)
    where = f"{server.host}:{server.port}"
    try:
        _hand_over(email, server, tls, float(config.smtp_timeout_seconds))
    except DeliveryError:
        raise
    except smtplib.SMTPRecipientsRefused as error:
        code, reply = next(iter(error.recipients.values()), (550, b""))
        raise _reply_error(
            f"the mail server {where} refused the recipient {to}", code, reply
        ) from None
    except smtplib.SMTPAuthenticationError as error:
        raise _reply_error(
            f"the mail server {where} refused the user and password of SMTP_URL",
            error.smtp_code,
            error.smtp_error,
        ) from None
    except smtplib.SMTPResponseException as error:  # sender refused, DATA refused, HELO...
        raise _reply_error(
            f"the mail server {where} refused", error.smtp_code, error.smtp_error
        ) from None
    except smtplib.SMTPNotSupportedError as error:  # e.g. no AUTH offered
        raise DeliveryError(f"The mail server {where}: {error}", transient=False) from None
    except smtplib.SMTPServerDisconnected as error:
        # smtplib reports a reply that timed out as a disconnection caused by the timeout
        what = (
            f"did not answer within {config.smtp_timeout_seconds}s"
            if isinstance(error.__context__, TimeoutError)
            else "closed the connection"
        )
        raise DeliveryError(f"The mail server {where} {what}", transient=True) from None
    except ssl.SSLCertVerificationError as error:
        raise DeliveryError(
            f"The mail server {where}'s certificate is not trusted ({error.verify_message}); "
            "set SMTP_CA_FILE to its certificate authority",
            transient=False,
        ) from None
    except TimeoutError:  # socket.timeout is TimeoutError
        raise DeliveryError(
            f"The mail server {where} did not answer within {config.smtp_timeout_seconds}s",
            transient=True,
        ) from None
    except ssl.SSLError as error:  # e.g. smtps:// to a port that speaks plain SMTP
        raise DeliveryError(
            f"TLS with the mail server {where} failed ({error.reason or error})", transient=True
        ) from None
    except OSError as error:  # refused, unreachable, name not resolved
        reason = error.strerror or str(error) or type(error).__name__
        raise DeliveryError(
            f"Cannot reach the mail server {where} ({reason})", transient=True
        ) from None


def build_email(message: Message, to: str, *, message_id: str, sender: str) -> EmailMessage:
    """The MIME email for `message` (multipart/alternative: text, then HTML with its inline
    images in multipart/related)."""
    recipient = parseaddr(to)[1]
    if "@" not in recipient or recipient != to.strip():
        raise DeliveryError(f"{to!r} is not an email address", transient=False)
    email = EmailMessage(policy=SMTP_POLICY)
    email["From"] = sender
    email["To"] = recipient
    email["Subject"] = _subject_header(subject_line(message.subject))
    email["Date"] = formatdate(localtime=False, usegmt=True)
    email["Message-ID"] = email_message_id(message_id, parseaddr(sender)[1])
    # RFC 3834 §5: machine-sent, so out-of-office replies stay away
    email["Auto-Submitted"] = "auto-generated"
    text = message.text
    body_html = message.html
    if message.images and body_html is None:  # images are only seen in an HTML body
        body_html = f"<pre>{html.escape(text)}</pre>"
        body_html += "".join(
            f'<p><img src="cid:{image.cid}" alt="{html.escape(image.alt)}"></p>'
            for image in message.images
        )
    if message.link:
        text = f"{text.rstrip()}\n\nOpen in Metricx: {message.link}\n"
        # A body that already links there (the digest's button) gets no second link.
        if body_html is not None and html.escape(message.link) not in body_html:
            body_html = _before_body_end(
                body_html, f'<p><a href="{html.escape(message.link)}">Open in Metricx</a></p>'
            )
    email.set_content(text)
    if body_html is None:
        return email
    email.add_alternative(body_html, subtype="html")
    html_part = list(email.iter_parts())[1]
    assert isinstance(html_part, EmailMessage)  # parts of an EmailMessage are EmailMessages
    for image in message.images:
        # RFC 2387 multipart/related; Content-ID is the cid: the HTML points at (RFC 2392)
        html_part.add_related(
            image.png,
            maintype="image",
            subtype="png",
            cid=f"<{image.cid}>",
            filename=f"{image.cid}.png",
            disposition="inline",
        )
    return email


def subject_line(subject: str) -> str:
    """The subject on one line: line breaks (a header injection attempt, say) and runs of
    whitespace and control characters become one space."""
    spaced = "".join(" " if unicodedata.category(c) == "Cc" else c for c in subject)
    return " ".join(spaced.split())


class _EncodedSubject(str):
    """A Subject written wholly as RFC 2047 encoded words. The email package's own folding
    loses a space here and there when it folds long non-ASCII subjects, and writes text that
    merely looks like an encoded word (`=?utf-8?q?...?=`) as it is, which readers then decode
    into something else; these read back as written. (A value with a `name` is a header
    object to the email policy: stored as given, written by its own `fold`.)"""

    name = "Subject"

    def fold(self, *, policy: Policy) -> str:
        words, chunk = [], b""
        for char in self:
            encoded = char.encode()
            # 42 bytes are 56 base64 characters: lines under RFC 5322 §2.1.1's 78
            if len(chunk) + len(encoded) > 42:
                words.append(chunk)
                chunk = b""
            chunk += encoded
        words.append(chunk)
        # RFC 2047 §6.2: the white space between two encoded words is not part of the text
        encoded_words = [f"=?utf-8?b?{base64.b64encode(word).decode()}?=" for word in words]
        return f"Subject: {f'{policy.linesep} '.join(encoded_words)}{policy.linesep}"


def _subject_header(subject: str) -> str:
    """A short ASCII subject as it is (readable in the raw message), any other encoded."""
    plain = subject.isascii() and len(subject) <= 69 and "=?" not in subject  # 78 with "Subject: "
    return subject if plain else _EncodedSubject(subject)


def email_message_id(key: str, sender_address: str) -> str:
    """`<key@sender-domain>` (RFC 5322 §3.6.4), the same for the same key; a key that is
    already `<local@domain>` is kept."""
    key = key.strip()
    if _WHOLE_MESSAGE_ID.fullmatch(key):
        return key
    local = _NOT_ATEXT.sub(".", key).strip(".") or "metricx"
    local = re.sub(r"\.{2,}", ".", local)
    domain = sender_address.rpartition("@")[2] or "metricx.localhost"
    return f"<{local}@{domain}>"


def _before_body_end(body_html: str, footer: str) -> str:
    at = body_html.lower().rfind("</body>")
    return body_html + footer if at < 0 else body_html[:at] + footer + body_html[at:]


def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Certificates checked against the system's trust store, or only SMTP_CA_FILE's."""
    if ca_file and not Path(ca_file).is_file():
        raise DeliveryError(f"SMTP_CA_FILE {ca_file} does not exist", transient=False)
    try:
        return ssl.create_default_context(cafile=ca_file or None)
    except ssl.SSLError as error:
        raise DeliveryError(
            f"SMTP_CA_FILE {ca_file} is not a PEM certificate ({error.reason})", transient=False
        ) from None


def _hand_over(
    email: EmailMessage, server: SmtpServer, tls: ssl.SSLContext, timeout: float
) -> None:
    client: smtplib.SMTP
    if server.implicit_tls:  # RFC 8314 §3: TLS from the first byte
        client = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=tls)
    else:
        client = smtplib.SMTP(server.host, server.port, timeout=timeout)
    with client:
        client.ehlo()
        if not server.implicit_tls:
            if client.has_extn("starttls"):
                # RFC 3207 §4.2: after STARTTLS the client forgets what it knew and says
                # EHLO again (smtplib forgets; the ehlo below asks anew)
                client.starttls(context=tls)
                client.ehlo()
            elif server.username is not None:
                # RFC 4954 §4 / RFC 3207: a password never crosses an unencrypted connection
                raise DeliveryError(
                    f"The mail server {server.host}:{server.port} does not offer STARTTLS, so "
                    "the password of SMTP_URL is not sent (use a server with TLS, or smtps://)",
                    transient=False,
                )
        if server.username is not None and server.password is not None:
            client.login(server.username, server.password)  # RFC 4954 AUTH
        sender, recipient = parseaddr(str(email["From"]))[1], parseaddr(str(email["To"]))[1]
        client.send_message(email, from_addr=sender, to_addrs=[recipient])


def _reply_error(what: str, code: int, reply: bytes | str) -> DeliveryError:
    """RFC 5321 §4.2.1: 4yz is a transient negative completion reply, 5yz a permanent one."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return DeliveryError(f"{what[:1].upper()}{what[1:]}: {code} {text.strip()}", 400 <= code < 500)
