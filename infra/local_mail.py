"""The local stack's mail server: a real SMTP server (aiosmtpd) on 127.0.0.1 that keeps each
message as a file in the mail folder (default .local/mail/) and prints a line in the run log,
so the sign-in links the registry mails can be followed without any mail account."""

from __future__ import annotations

import re
import time
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class MailFolder:
    """aiosmtpd handler: one .eml file per message and recipient."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=default)
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body else ""
        for recipient in envelope.rcpt_tos:
            self.count += 1
            name = f"{time.strftime('%Y%m%d-%H%M%S')}-{self.count:04d}-{_safe(recipient)}.eml"
            (self.folder / name).write_bytes(envelope.content)
            link = re.search(r"https?://\S+/signin/\S+", text)
            print(
                f"mail to {recipient}: {message['subject']}"
                + (f"\n  sign-in link: {link.group(0)}" if link else "")
                + f"\n  (saved as {self.folder / name})",
                flush=True,
            )
        return "250 Message accepted for delivery"


def _safe(address: str) -> str:
    return re.sub(r"[^A-Za-z0-9@._-]", "_", address)[:80]


def start(folder: Path, port: int) -> Controller:
    controller = Controller(MailFolder(folder), hostname="127.0.0.1", port=port)
    controller.start()
    return controller
