"""The digest as an e-mail, and sending it over SMTP with bounded retries.

The message is multipart/alternative: a text/plain part, then the HTML part (inside multipart/related when
inline images are attached by Content-ID, each ``Content-Disposition: inline`` so that no client lists the
chart as an attachment as well). Sending uses STARTTLS whenever the server offers it (implicit TLS
on port 465) and never sends the password over an unencrypted connection to anything but loopback.
Temporary failures (4xx replies, connection errors, timeouts) are retried with exponential backoff; permanent
ones (5xx, refused recipients) fail at once. The caller keeps the .eml in the outbox either way.
"""

from __future__ import annotations

import ipaddress
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from pipelines.settings import SmtpConfig


class SendError(Exception):
    """The message could not be delivered (after retries, or permanently)."""

    def __init__(self, message: str, attempts: int, permanent: bool):
        super().__init__(message)
        self.attempts = attempts
        self.permanent = permanent


def build_message(subject: str, sender: str, to: list[str], text: str, html: str,
                  images: dict[str, bytes] | None = None) -> EmailMessage:
    msg = EmailMessage()
    # The subject carries names from the config and the data: a line break in one must not start a header.
    msg["Subject"] = " ".join(subject.split())
    msg["From"] = sender
    if to:
        msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    if images:
        html_part = msg.get_payload()[1]
        for cid, png in images.items():
            html_part.add_related(png, maintype="image", subtype="png", cid=f"<{cid}>", filename=f"{cid}.png",
                                  disposition="inline")
    return msg


@dataclass(frozen=True)
class Retry:
    attempts: int = 3
    backoff_s: float = 2.0  # waits backoff_s, then 2 × backoff_s, …


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _send_once(msg: EmailMessage, cfg: SmtpConfig, password: str | None, to: list[str]) -> None:
    implicit_tls = cfg.port == 465
    cls = smtplib.SMTP_SSL if implicit_tls else smtplib.SMTP
    kwargs = {"context": ssl.create_default_context()} if implicit_tls else {}
    with cls(cfg.host, cfg.port, timeout=cfg.timeout_s, **kwargs) as smtp:
        smtp.ehlo()
        secure = implicit_tls
        if cfg.starttls and not implicit_tls and smtp.has_extn("starttls"):
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
            secure = True
        if cfg.user and password:
            if not secure and not _loopback(cfg.host):
                raise SendError(f"{cfg.host} offers no TLS: not sending the SMTP password in clear", 1, True)
            smtp.login(cfg.user, password)
        refused = smtp.send_message(msg, from_addr=cfg.sender, to_addrs=to)
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)


def _permanent(e: Exception) -> bool:
    if isinstance(e, SendError):
        return e.permanent
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in e.recipients.values())
    if isinstance(e, smtplib.SMTPResponseException):
        return e.smtp_code >= 500
    return False  # connection refused or dropped, timeouts, 4xx: worth another try


def send(msg: EmailMessage, cfg: SmtpConfig, password: str | None, to: list[str], retry: Retry = Retry(),
         log: Callable[[str], None] | None = None, sleep: Callable[[float], None] = time.sleep) -> int:
    """Deliver ``msg`` to ``to``; returns the number of attempts it took, raises SendError."""
    if not cfg.host:
        raise SendError("no SMTP host configured (tokenbooks.yaml smtp.host or TOKENBOOKS_SMTP_HOST)", 0, True)
    last: Exception | None = None
    for attempt in range(1, retry.attempts + 1):
        try:
            _send_once(msg, cfg, password, to)
            return attempt
        except (smtplib.SMTPException, OSError, socket.timeout, SendError) as e:
            last = e
            if _permanent(e):
                raise SendError(f"{cfg.host}:{cfg.port} refused the digest: {_describe(e)}", attempt, True) from e
            if log:
                log(f"send attempt {attempt}/{retry.attempts} to {cfg.host}:{cfg.port} failed: {_describe(e)}")
            if attempt < retry.attempts:
                sleep(retry.backoff_s * 2 ** (attempt - 1))
    raise SendError(f"{cfg.host}:{cfg.port} failed {retry.attempts} times: {_describe(last)}", retry.attempts, False)


def _describe(e: Exception | None) -> str:
    if isinstance(e, smtplib.SMTPResponseException):
        detail = e.smtp_error.decode("utf-8", "replace") if isinstance(e.smtp_error, bytes) else str(e.smtp_error)
        return f"{e.smtp_code} {detail}"
    return f"{type(e).__name__}: {e}" if e else "unknown error"
