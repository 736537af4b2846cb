"""Sending one e-mail through SMTP (``OPENPROM_SMTP_URL``) with :mod:`smtplib`.

URL forms: ``smtp://host:port`` (plain), ``smtp://host:port?starttls=1``,
``smtps://user:password@host:465`` (TLS from the start); ``from=`` sets the sender
(default ``openprom@localhost``).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit


class MailConfigError(ValueError):
    """``OPENPROM_SMTP_URL`` is missing or malformed."""


@dataclass(frozen=True)
class SmtpSettings:
    """Parsed ``OPENPROM_SMTP_URL``."""

    host: str
    port: int
    tls: bool
    starttls: bool
    username: str | None
    password: str | None
    sender: str
    timeout: float = 20.0


def parse_smtp_url(url: str | None) -> SmtpSettings:
    """Parse an SMTP URL; MailConfigError explains what is wrong."""
    if not url:
        raise MailConfigError("OPENPROM_SMTP_URL is not set (e.g. smtp://127.0.0.1:25)")
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise MailConfigError("OPENPROM_SMTP_URL must look like smtp://host:port or smtps://...")
    query = parse_qs(parts.query)
    tls = parts.scheme == "smtps"
    return SmtpSettings(
        host=parts.hostname,
        port=parts.port or (465 if tls else 25),
        tls=tls,
        starttls=query.get("starttls", ["0"])[0] in ("1", "true", "yes"),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        sender=query.get("from", ["openprom@localhost"])[0],
    )


def send_email(settings: SmtpSettings, recipient: str, subject: str, body: str) -> None:
    """Send one plain-text message; raises OSError/smtplib.SMTPException on failure."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = recipient
    message["Subject"] = subject
    message.set_content(body)
    context = ssl.create_default_context()
    if settings.tls:
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=context
        )
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    with client:
        if settings.starttls:
            client.starttls(context=context)
        if settings.username:
            client.login(settings.username, settings.password or "")
        client.send_message(message)
