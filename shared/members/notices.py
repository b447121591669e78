"""What the owner of an address is told when someone applies with it while it is an active
member's: the API's answer is the same as for any application, so the owner hears it by mail —
from the domain-event stream, after the answer (sent inside the request, the mail made the answer
to a member's address measurably slower: who is a member showed in the timing)."""

from __future__ import annotations

from shared import events, mail
from shared.logging import logger
from shared.members import service as members
from shared.settings import get_settings


@events.subscribe("member.applied")
def notice_to_the_address_owner(event: events.DomainEvent) -> None:
    """Once per application marked ``email_in_use`` (whatever the redeliveries)."""

    def send() -> None:
        member = members.get(event.entity.split(":", 1)[1])
        if member and member.get("email_in_use"):
            applied_with_a_members_address(member["email"])

    mail.once_per_event(event.seq, event.action, send)


def applied_with_a_members_address(email: str) -> None:
    base = get_settings().public_base_url
    text = (
        "AILAS 公正取引音声登録に、このアドレスで入会申請がありました。\n"
        "このアドレスはすでに会員として登録されているため、この申請は承認されません。\n"
        f"サインインはこちら: {base}/signin\n\n"
        "Someone applied to the AILAS Fair-Trade Voice Registry with this address. It already "
        "belongs to a member, so the application will not be approved.\n"
        f"To sign in: {base}/signin\n\n"
        "心当たりがない場合は、このメールを破棄してください。\n"
        "If this was not you, ignore this mail.\n"
    )
    try:
        mail.send(email, "AILAS: 入会申請がありました / An application with your address", text)
    except Exception:  # the application stands; the notice is a courtesy
        logger.exception("could not send the notice of an application with a member's address")
