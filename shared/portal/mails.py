"""The mails members receive: the welcome with a first sign-in link when an operator approves
them, a notice with the operator's reason when an application is rejected or a membership is
suspended or reinstated (each sent by a domain-event subscriber, once, however often the event
is delivered), and a sign-in link when they ask for one."""

from __future__ import annotations

from shared import events, mail
from shared.members import service as members
from shared.portal import sessions
from shared.settings import get_settings

KINDS_JA = {"performer": "実演家", "rights_holder": "権利者", "business": "事業者"}


def signin_url(secret: str) -> str:
    return f"{get_settings().public_base_url}/signin/{secret}"


def duration(seconds: int) -> tuple[str, str]:
    """A link's lifetime as people say it: 24時間 / 24 hours, 15分 / 15 minutes."""
    if seconds >= 3600 and seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours}時間", f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = seconds // 60
    return f"{minutes}分", f"{minutes} minute{'s' if minutes != 1 else ''}"


def send_signin_link(
    member: dict, ttl_s: int, welcome: bool = False, next_page: str = sessions.HOME
) -> None:
    secret = sessions.new_link(member["member_id"], ttl_s, next_page)
    valid_ja, valid_en = duration(ttl_s)
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

    def send() -> None:
        member = members.get(event.entity.split(":", 1)[1])
        if member and member["status"] == "active" and member.get("email"):
            send_signin_link(member, get_settings().welcome_link_ttl_s, welcome=True)

    mail.once_per_event(event.seq, event.action, send)


# What a decision means for the member, in both languages (the reason is the operator's words).
DECISIONS = {
    "member.rejected": (
        "入会申請は承認されませんでした。",
        "Your application was not approved.",
        "",
        "",
    ),
    "member.suspended": (
        "会員資格が停止されました。",
        "Your membership was suspended.",
        "停止中はポータルへのサインインとAPIトークンが使えません。",
        "While it is suspended you cannot sign in or use your API token.",
    ),
    "member.reinstated": (
        "会員資格が回復しました。",
        "Your membership was reinstated.",
        "ポータルには改めてサインインしてください: {base}/signin\n",
        "Sign in to the portal again: {base}/signin\n",
    ),
}


@events.subscribe("member.rejected", requires=("to",))
@events.subscribe("member.suspended", requires=("to",))
@events.subscribe("member.reinstated", requires=("to",))
def decision_notice(event: events.DomainEvent) -> None:
    """Tell the member what the operator decided and why — once per event, and only while the
    decision stands (the reason read is the member's latest: a later decision mails its own)."""

    def send() -> None:
        member = members.get(event.entity.split(":", 1)[1])
        if member and member.get("email") and member["status"] == event.data["to"]:
            mail.send(member["email"], *_decision_mail(member, event.action))

    mail.once_per_event(event.seq, event.action, send)


# What else a suspension does, by the kind of member (the fairness rule's performer_suspended
# and business_not_active; a rights holder's registered recordings and labels stay as they are).
SUSPENSION_EFFECTS = {
    "performer": (
        "あなたの声に依拠するラベルは停止されます。",
        "Labels that rely on your voice are suspended.",
    ),
    "business": (
        "あなたのAIシステムのラベルは停止されます。",
        "Your AI systems' labels are suspended.",
    ),
}


def _decision_mail(member: dict, action: str) -> tuple[str, str]:
    ja, en, after_ja, after_en = DECISIONS[action]
    if action == "member.suspended":
        effect_ja, effect_en = SUSPENSION_EFFECTS.get(member["kind"], ("", ""))
        after_ja, after_en = f"{after_ja}{effect_ja}\n", f"{after_en} {effect_en}".rstrip() + "\n"
    base = get_settings().public_base_url
    reason = member.get("decision_reason") or "—"
    text = (
        f"{member['display_name']} 様\n\n"
        f"AILAS 公正取引音声登録より: {ja}\n理由: {reason}\n{after_ja.format(base=base)}\n"
        f"From the AILAS Fair-Trade Voice Registry: {en}\nReason: {reason}\n"
        f"{after_en.format(base=base)}\n"
        "ご不明な点は協会までお問い合わせください。\n"
        "If you have questions, contact the association.\n"
    )
    return f"AILAS: {ja.rstrip('。')} / {en.rstrip('.')}", text
