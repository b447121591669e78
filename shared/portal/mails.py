"""The mails members receive: the welcome with a first sign-in link when an operator approves
them (sent by a domain-event subscriber, once, however often the event is delivered), and a
sign-in link when they ask for one."""

from __future__ import annotations

from shared import events, keys, mail, store
from shared.members import service as members
from shared.portal import sessions
from shared.settings import get_settings

KINDS_JA = {"performer": "実演家", "rights_holder": "権利者", "business": "事業者"}


def signin_url(secret: str) -> str:
    return f"{get_settings().public_base_url}/signin/{secret}"


def _duration(seconds: int) -> tuple[str, str]:
    """A link's lifetime as people say it: 24時間 / 24 hours, 15分 / 15 minutes."""
    if seconds >= 3600 and seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours}時間", f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = seconds // 60
    return f"{minutes}分", f"{minutes} minute{'s' if minutes != 1 else ''}"


def send_signin_link(member: dict, ttl_s: int, welcome: bool = False) -> None:
    secret = sessions.new_link(member["member_id"], ttl_s)
    valid_ja, valid_en = _duration(ttl_s)
    kind = KINDS_JA.get(member["kind"], member["kind"])
    opening = (
        f"{member['display_name']} 様\n\n"
        f"AILAS 公正取引音声登録への入会が承認されました（{kind}）。\n"
        f"Your membership of the AILAS Fair-Trade Voice Registry was approved ({member['kind']}).\n"
        if welcome
        else f"{member['display_name']} 様\n\nサインイン用のリンクです。/ Your sign-in link.\n"
    )
    text = (
        f"{opening}\n"
        f"次のリンクからサインインしてください（1回限り・{valid_ja}有効）。\n"
        f"Sign in with this link (single use, valid for {valid_en}):\n\n"
        f"{signin_url(secret)}\n\n"
        "このメールに心当たりがない場合は破棄してください。\n"
        "If you did not expect this mail, ignore it.\n"
    )
    subject = "AILAS: 入会承認とサインイン / Welcome" if welcome else "AILAS: サインイン / Sign in"
    mail.send(member["email"], subject, text)


@events.subscribe("member.approved")
def welcome(event: events.DomainEvent) -> None:
    """Mail the approved member a first sign-in link — once per approval event."""
    marker = keys.mailed(event.seq)
    if store.get(marker):
        return  # a redelivered event: already mailed
    member = members.get(event.entity.split(":", 1)[1])
    if member and member["status"] == "active" and member.get("email"):
        send_signin_link(member, get_settings().welcome_link_ttl_s, welcome=True)
    store.registry().put_item(Item={**marker, "action": event.action})
