"""Sending one SMS through an HTTP gateway (``OPENPROM_SMS_URL``), and phone numbers.

The gateway receives ``POST`` with a JSON body ``{"to": "+4791234567", "text": "..."}``
and answers 2xx when it has accepted the message (anything else is a failure, retried
by the outbox like a failed e-mail). URL forms: ``http://host:port/path`` or
``https://user:password@host/path`` (basic authentication); ``from=NAME`` in the query
adds ``"from"`` to the body (the sender name shown on the phone).

Phone numbers are kept in E.164 form (``+`` and 8-15 digits); a Norwegian number may be
given without ``+47``. They are stored encrypted like every other identifier.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

PHONE_CONTEXT = b"phone"
E164 = re.compile(r"\+[1-9][0-9]{7,14}")
NORWEGIAN = re.compile(r"[2-9][0-9]{7}")  # 8 digits, without the country code
MAX_TEXT = 306  # two concatenated GSM-7 SMS segments


class SmsConfigError(ValueError):
    """``OPENPROM_SMS_URL`` is missing or malformed."""


class SmsSendError(OSError):
    """The gateway refused the message or could not be reached."""


class InvalidPhone(ValueError):
    """Not a phone number openprom can send an SMS to."""


@dataclass(frozen=True)
class SmsSettings:
    """Parsed ``OPENPROM_SMS_URL``."""

    url: str
    username: str | None
    password: str | None
    sender: str | None
    timeout: float = 20.0


def parse_sms_url(url: str | None) -> SmsSettings:
    """Parse an SMS gateway URL; SmsConfigError explains what is wrong."""
    if not url:
        raise SmsConfigError("OPENPROM_SMS_URL is not set (e.g. https://sms.example/send)")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SmsConfigError("OPENPROM_SMS_URL must look like https://host/path")
    query = parse_qs(parts.query)
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    rest = "&".join(f"{k}={v}" for k, vs in query.items() if k != "from" for v in vs)
    return SmsSettings(
        url=urlunsplit((parts.scheme, netloc, parts.path or "/", rest, "")),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        sender=query.get("from", [None])[0],
    )


def normalise_phone(raw: str) -> str:
    """``+4791234567`` from ``912 34 567``, ``0047 91234567`` or ``+47 912 34 567``."""
    text = re.sub(r"[\s\-().]", "", raw or "")
    if text.startswith("00"):
        text = "+" + text[2:]
    if NORWEGIAN.fullmatch(text):
        text = "+47" + text
    if not E164.fullmatch(text) or not text[1:].isascii():
        raise InvalidPhone("not a phone number: give 8 digits (Norway) or + and the country code")
    return text


def send_sms(settings: SmsSettings, to: str, text: str) -> None:
    """Post one SMS to the gateway; raises SmsSendError (an OSError) on failure."""
    body = {"to": to, "text": text}
    if settings.sender:
        body["from"] = settings.sender
    # the scheme is http(s) only: parse_sms_url refuses anything else
    request = urllib.request.Request(  # noqa: S310
        settings.url,
        data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    if settings.username:
        pair = f"{settings.username}:{settings.password or ''}".encode()
        request.add_header("Authorization", "Basic " + base64.b64encode(pair).decode("ascii"))
    try:
        with urllib.request.urlopen(request, timeout=settings.timeout) as answer:  # noqa: S310
            status = answer.status
    except urllib.error.HTTPError as exc:
        raise SmsSendError(f"SMS gateway answered {exc.code}") from None
    except (urllib.error.URLError, TimeoutError) as exc:
        raise SmsSendError(f"SMS gateway unreachable ({type(exc).__name__})") from None
    if not 200 <= status < 300:
        raise SmsSendError(f"SMS gateway answered {status}")
