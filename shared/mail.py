"""Mail to members (sign-in links). Amazon SES in AWS; on the local stack, the SMTP server that
`make run` starts (infra/local_mail.py), which keeps every message in .local/mail/."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from shared import keys, store
from shared.aws import client
from shared.logging import logger
from shared.settings import get_settings


def send(to: str, subject: str, text: str) -> None:
    settings = get_settings()
    if settings.smtp_port:  # the local stack's SMTP server
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = settings.mail_from, to, subject
        message.set_content(text)
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
            smtp.send_message(message)
    else:
        client("sesv2").send_email(
            FromEmailAddress=settings.mail_from,
            Destination={"ToAddresses": [to]},
            Content={
                "Simple": {
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": text, "Charset": "UTF-8"}},
                }
            },
        )
    logger.info("mail sent", extra={"subject": subject})  # never the address or the link


def once_per_event(seq: int, action: str, mailing: Callable[[], Any]) -> None:
    """Call ``mailing`` (which mails, or decides not to) for the audit entry ``seq`` once,
    however often its domain event is delivered: a marker item says it was done. One mailing
    per action: the marker does not name who mailed."""
    marker = keys.mailed(seq)
    if store.get(marker):
        return  # a redelivered event: done already
    mailing()
    store.registry().put_item(Item={**marker, "action": action})
