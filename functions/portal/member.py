"""The members' pages (/portal/…): each form calls the same domain function as the JSON API, with
the principal of the session. Performers: intent, agencies, the voices that name them. Rights
holders: register and upload recordings, contracts to confirm. Businesses: AI systems, the
fairness check, contracts, labels. Operators: the approval queue, recordings in conflict and
the event backlog."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from typing import Any

from chalice import Blueprint, Response
from pydantic import ValidationError

from functions.api.http import status_of
from functions.portal.web import Redirect, Web, field_errors, json_reply, page, uploaded_file
from shared import access, audit, checkpoints, events, ids
from shared.access import Principal
from shared.business import ai_systems, contracts
from shared.business.models import AiSystemSheet, ContractFiling
from shared.clock import today
from shared.errors import ApiError, Conflict, NotFound, ValidationFailed
from shared.formats.uses import DECISION_NAMES, DECISIONS, PROHIBITED_CONTENT, USES
from shared.intents import service as intents
from shared.intents.models import IntentBody
from shared.labels import service as labels
from shared.members import service as members
from shared.members.models import Reason
from shared.text import nfkc
from shared.voices import conflicts, usage
from shared.voices import service as voices
from shared.voices.models import VoiceRegistration

bp = Blueprint(__name__)
FINAL_VOICE = ("registered", "rejected", "conflict")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


@page(bp, "/portal", name="portal.dashboard")
def dashboard(web: Web) -> Response:
    principal = web.session.principal  # type: ignore[union-attr]
    member = members.require(principal.member_id)
    return web.render("dashboard.html", member=member, role=principal.role)


# --- API token -------------------------------------------------------------------------------


@page(bp, "/portal/tokens", name="portal.tokens", methods=("GET", "POST"))
def tokens(web: Web) -> Response:
    principal = web.session.principal  # type: ignore[union-attr]
    shown, stale = None, False
    if web.method == "POST":
        # The form names the token it was shown with: a reload of the answer (the browser
        # posts the form again) must not replace the token the member has just copied.
        seen = members.require(principal.member_id).get("token_prefix") or ""
        if web.value("token_prefix") != seen:
            stale = True
        elif web.value("action") == "revoke":
            members.revoke_token(principal.member_id, principal)
        else:
            _, shown = members.rotate_token(principal.member_id, principal)
    member = members.require(principal.member_id)
    return web.render("tokens.html", member=member, token=shown, stale=stale)


# --- performers ------------------------------------------------------------------------------


def _intent_form(web: Web) -> dict[str, Any]:
    typed = nfkc(web.value("territories")).upper()  # ＪＰ，ＵＳ as a Japanese keyboard types it
    territories = list(dict.fromkeys(c for c in re.split(r"[\s,、;]+", typed) if c))
    return {
        "uses": {code: web.value(f"use_{code}", "contract") for code in USES},
        "commercial": web.value("commercial", "contract"),
        "conditions": {
            "credit_required": web.value("credit_required") == "yes",
            "prohibited_content": web.values("prohibited_content"),
            "territories": territories or None,  # none: worldwide
        },
        "valid_until": web.value("valid_until") or None,
        "note": web.value("note") or None,
    }


@page(bp, "/portal/intent", name="portal.intent", methods=("GET", "POST"))
def intent(web: Web) -> Response:
    performer_id = web.session.principal.member_id  # type: ignore[union-attr]
    return _intent_page(web, performer_id, "/portal/intent")


@page(bp, "/portal/performers", name="portal.agency")
def represented(web: Web) -> Response:
    """The performers who authorised this agency to write their intent."""
    agency_id = web.session.principal.member_id  # type: ignore[union-attr]
    return web.render("agency.html", performers=intents.represented_by(agency_id))


@page(bp, "/portal/performers/{performer_id}/intent", name="portal.agency", methods=("GET", "POST"))
def intent_for(web: Web, performer_id: str) -> Response:
    """An agency writes the intent of a performer who authorised it (as the API lets it)."""
    number = ids.normalize(performer_id, "member") or performer_id
    intents.author_role(number, web.session.principal)  # type: ignore[union-attr]
    return _intent_page(web, number, f"/portal/performers/{number}/intent")


def _intent_page(web: Web, performer_id: str, here: str) -> Response:
    """The intent form of ``performer_id`` at ``here``: the performer's own, or an agency's."""
    principal = web.session.principal  # type: ignore[union-attr]
    context = _intent_context(performer_id, own=principal.member_id == performer_id)
    errors = _save_intent(web, principal, performer_id, here) if web.method == "POST" else {}
    if errors:
        context["intent"] = _intent_form(web)  # what was typed stays on the form to be corrected
    version = web.query.get("saved", "")
    shown = version.isascii() and version.isdigit() and len(version) < 10 and not errors
    saved = {"version": int(version), "withdrawn": "withdrawn" in web.query} if shown else None
    return web.render(
        "intent.html",
        status=422 if errors else 200,
        errors=errors,
        saved=saved,
        here=here,
        **context,
    )


def _save_intent(web: Web, principal: Principal, performer_id: str, here: str) -> dict[str, str]:
    """Save the posted intent and answer with a page to GET (a reload of the answer must not
    save another version); else the form's errors by field. A use left out is an error, not
    the default: a form always sends every choice."""
    if web.value("action") == "deny_all":  # the one button: the rest of the intent stays
        current = intents.current(performer_id)
        if current is None:
            raise ValidationFailed(web.t("まだ意思が登録されていません。", "No intent yet."))
        body = intents.withdrawn(current)
        written = intents.write(performer_id, body, principal, based_on=current["version"])
        raise Redirect(f"{here}?saved={written['version']}&withdrawn=1")
    errors = {
        f"use_{code}": web.t("選んでください。", "Choose one.")
        for code in USES
        if not web.value(f"use_{code}")
    }
    try:
        body = IntentBody.model_validate_json(json.dumps(_intent_form(web)))
    except ValidationError as error:
        return errors | field_errors(error, web.lang)
    if errors:
        return errors
    written = intents.write(performer_id, body, principal)
    raise Redirect(f"{here}?saved={written['version']}")


def _intent_context(performer_id: str, own: bool) -> dict[str, Any]:
    current = intents.current(performer_id)
    performer = members.get(performer_id) or {}
    return {
        "acting_for": None if own else performer.get("display_name", performer_id),
        "intent": intents.view(current) if current else None,
        "history": [intents.view(v) for v in reversed(intents.history(performer_id))],
        "uses": USES,
        "decisions": DECISION_NAMES,
        "decision_codes": DECISIONS,
        "prohibited": PROHIBITED_CONTENT,
        "agents": intents.agents(performer_id) if own else [],  # the performer's own business
    }


@page(bp, "/portal/agents", name="portal.intent", methods=("POST",))
def agents(web: Web) -> Response:
    principal = web.session.principal  # type: ignore[union-attr]
    agent_id = ids.normalize(web.value("agent_id"), "member") or web.value("agent_id")
    with _done_already("already_agent"):  # added twice (a reload, a second tab): it holds
        if web.value("action") == "remove":
            intents.remove_agent(principal.member_id, agent_id, principal)
        else:
            intents.add_agent(principal.member_id, agent_id, principal)
    raise Redirect("/portal/intent#agents")


@page(bp, "/portal/my-voices", name="portal.my_voices")
def my_voices(web: Web) -> Response:
    performer_id = web.session.principal.member_id  # type: ignore[union-attr]
    found = voices.for_performer(performer_id)
    return web.render("my_voices.html", voices=found)


# --- voices: one voice, for its holder, performers and operators ------------------------------


def _voice(web: Web, voice_no: str) -> dict[str, Any]:
    number = ids.normalize(voice_no, "voice")
    voice = voices.get(number) if number else None
    if voice is None or not access.can_read_private(
        web.session.principal if web.session else None, voices.owners(voice)
    ):
        raise NotFound(web.t("その音声はありません。", "No such voice."), code="voice_not_found")
    return voice


@page(bp, "/portal/voices/{voice_no}", name="portal.voice")
def voice_page(web: Web, voice_no: str) -> Response:
    voice = _voice(web, voice_no)
    return web.render(
        "voice.html",
        voice={**voice, "performers": voices.performers_of(voice)},
        usage=usage.of_voice(voice["voice_no"]),
    )


@page(bp, "/portal/voices/{voice_no}/status", name="portal.voice")
def voice_status(web: Web, voice_no: str) -> Response:
    """The upload page's live status (JSON, same session)."""
    voice = _voice(web, voice_no)
    return json_reply(
        {
            "voice_no": voice["voice_no"],
            "status": voice["status"],
            "final": voice["status"] in FINAL_VOICE,
            "error": voice.get("error"),
            "said": web.rejection(voice.get("error")),  # as the page's reader reads it
            "audio": voice.get("audio"),
        }
    )


# --- rights holders ---------------------------------------------------------------------------


@page(bp, "/portal/voices", name="portal.voices")
def holder_voices(web: Web) -> Response:
    holder = web.session.principal.member_id  # type: ignore[union-attr]
    found, cursor = voices.list_for_holder(holder, 100, web.query.get("cursor") or None)
    return web.render("voices.html", voices=found, next=cursor)


def _voice_sheet(web: Web) -> dict[str, Any]:
    return {
        "title": web.value("title"),
        "performer_ids": [
            ids.normalize(v, "member") or v for v in _lines(web.value("performer_ids"))
        ],
        "performer_names": _lines(web.value("performer_names")),
        "language": web.value("language", "ja") or "ja",
        "rights": {
            "holder_role": web.value("holder_role", "agency"),
            "performer_consent_attested": web.value("consent_attested") == "yes",
        },
        "retention": web.value("retention", "delete_after_fingerprint"),
        "file": uploaded_file(web),
    }


@page(bp, "/portal/voices/new", name="portal.voices", methods=("GET", "POST"))
def new_voice(web: Web) -> Response:
    """GET: the form. POST (from the page's script): the sheet → the voice and its presigned
    upload, as JSON; the browser then uploads the file straight to storage."""
    if web.method == "GET":
        return web.render("voice_new.html")
    try:
        sheet = VoiceRegistration.model_validate_json(json.dumps(_voice_sheet(web)))
        voice, upload = voices.register(sheet, web.session.principal)  # type: ignore[union-attr]
    except ValidationError as error:
        return json_reply({"errors": field_errors(error, web.lang)}, 422)
    except ApiError as error:
        return json_reply({"errors": {"form": error.message}}, status_of(error))
    return json_reply({"voice_no": voice["voice_no"], "upload": upload}, 201)


# --- contracts (both parties) -------------------------------------------------------------------


@page(bp, "/portal/contracts", name="portal.contracts")
def contract_list(web: Web) -> Response:
    principal = web.session.principal  # type: ignore[union-attr]
    mine = [contracts.view(c) for c in contracts.for_member(principal.member_id)]
    mine.sort(key=lambda c: c["created_at"], reverse=True)
    done = CONTRACT_DONE.get(web.query.get("done", ""))
    return web.render(
        "contracts.html",
        contracts=_named(mine),
        me=principal.member_id,
        done=web.t(*done) if done else None,
        done_no=ids.normalize(web.query.get("no", ""), "contract") if done else None,
    )


# What the contracts page says after a form (the number is shown only when it is one).
CONTRACT_DONE = {
    "confirm": (
        "契約を確認しました。すべての権利者が確認すると有効になり、ラベルは数秒で従います。",
        "Confirmed. The contract is active once every rights holder confirms; labels follow "
        "within seconds.",
    ),
    "revoke": (
        "契約を取り消しました。この契約に依拠するラベルは数秒で停止されます。",
        "Revoked. Labels relying on this contract are suspended within seconds.",
    ),
    "already": (
        "この契約の状態はすでに変わっていました。下の一覧で確かめてください。",
        "The contract had already changed; see its status below.",
    ),
}


def _named(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each contract with what a person recognises: the AI system's and business's names and
    the recordings' titles, beside their numbers (a holder confirms what it can read)."""
    ais = ai_systems.AI_SYSTEM.get_many({c["ai_no"] for c in found})
    titles = voices.VOICE.get_many({n for c in found for n in c["voice_nos"]})
    revokers = {c["revoked_by"] for c in found if c.get("revoked_by")}
    people = members.MEMBER.get_many({a["business_id"] for a in ais.values()} | revokers)
    for contract in found:
        ai = ais.get(contract["ai_no"], {})
        business = people.get(ai.get("business_id", ""))
        contract["ai_name"] = ai.get("name", "")
        contract["business_name"] = business["display_name"] if business else ""
        revoker = people.get(contract.get("revoked_by") or "")
        contract["revoker_name"] = (
            revoker["display_name"] if revoker else contract.get("revoked_by")
        )
        contract["voices"] = [
            (n, titles[n]["title"] if n in titles else "") for n in contract["voice_nos"]
        ]
    return found


@page(bp, "/portal/contracts/{contract_id}", name="portal.contracts", methods=("POST",))
def contract_action(web: Web, contract_id: str) -> Response:
    principal = web.session.principal  # type: ignore[union-attr]
    number = ids.normalize(contract_id, "contract") or contract_id
    action = web.value("action")
    if action not in ("confirm", "revoke"):
        raise ValidationFailed(web.t("操作を選んでください。", "Choose an action."))
    # a reload or a second tab: confirmed already, or revoked (or ended) meanwhile
    with _done_already("already_confirmed", "invalid_transition") as held:
        if action == "confirm":
            contracts.confirm(number, principal)
        else:
            contracts.revoke(number, principal, _reason(web).reason)
    raise Redirect(f"/portal/contracts?done={'already' if held else action}&no={number}")


@contextlib.contextmanager
def _done_already(*codes: str) -> Iterator[list[str]]:
    """A form sent again (a reload, a second tab) whose request already holds: the page to
    go back to, not an error page in the API's English. Yields a list that holds the code
    when that happened, so a page does not announce as done what was decided otherwise."""
    held: list[str] = []
    try:
        yield held
    except Conflict as error:
        if error.code not in codes:
            raise
        held.append(error.code)


# --- businesses -------------------------------------------------------------------------------


def _own_ai(web: Web, ai_no: str) -> dict[str, Any]:
    number = ids.normalize(ai_no, "ai")
    ai = ai_systems.get(number) if number else None
    if ai is None or ai["business_id"] != web.session.principal.member_id:  # type: ignore[union-attr]
        raise NotFound(web.t("そのAIシステムはありません。", "No such AI system."))
    return ai


@page(bp, "/portal/ai-systems", name="portal.ai")
def ai_list(web: Web) -> Response:
    me = web.session.principal.member_id  # type: ignore[union-attr]
    items, _ = ai_systems.public_page(200, None)
    return web.render("ai_systems.html", systems=[a for a in items if a["business_id"] == me])


def _ai_sheet(web: Web) -> dict[str, Any]:
    sources = []
    for line in web.value("other_sources").splitlines():
        if line.strip():
            description, _, licence = line.partition("|")
            sources.append({"description": description.strip(), "license": licence.strip()})
    services = []
    if web.value("service_name"):
        services.append(
            {"name": web.value("service_name"), "url": web.value("service_url") or None}
        )
    return {
        "name": web.value("name"),
        "kind": web.value("kind", "tts"),
        "role": web.value("role", "developer"),
        "commercial": web.value("commercial") == "yes",
        "uses": web.values("uses"),
        "description": web.value("description"),
        "services": services,
        "training_data": {
            "voices": [ids.normalize(v, "voice") or v for v in _lines(web.value("voices"))],
            "other_sources": sources,
        },
    }


@page(bp, "/portal/ai-systems/new", name="portal.ai", methods=("GET", "POST"))
def new_ai(web: Web) -> Response:
    form: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if web.method == "POST":
        form = _ai_sheet(web)
        errors = _register_ai(form, web.session.principal, web.lang)  # type: ignore[union-attr]
    return web.render(
        "ai_new.html", status=422 if errors else 200, form=form, errors=errors, uses=USES
    )


def _register_ai(form: dict[str, Any], principal: Principal, lang: str) -> dict[str, str]:
    """Register the sheet and go to its page; else the form's errors by field."""
    try:
        sheet = AiSystemSheet.model_validate_json(json.dumps(form))
        record = ai_systems.register(sheet, principal)
    except ValidationError as error:
        return field_errors(error, lang)
    except ApiError as error:
        return {"form": error.message}
    raise Redirect(f"/portal/ai-systems/{record['ai_no']}")


@page(bp, "/portal/ai-systems/{ai_no}", name="portal.ai")
def ai_page(web: Web, ai_no: str) -> Response:
    return _render_ai(web, _own_ai(web, ai_no))


def _render_ai(
    web: Web,
    ai: dict[str, Any],
    filing: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    """The AI system's page; with a contract filing that was refused, the form as it was
    typed and what is wrong with it."""
    principal = web.session.principal  # type: ignore[union-attr]
    label = labels.get(ai["label_no"]) if ai.get("label_no") else None
    return web.render(
        "ai.html",
        status=422 if errors else 200,
        ai=ai,
        check=labels.check(ai["ai_no"], principal),
        label=labels.public_view(label) if label else None,
        contracts=[contracts.view(c) for c in contracts.for_ai(ai["ai_no"])],
        uses=USES,
        today=today().isoformat(),
        filing=filing,
        filing_errors=errors or {},
    )


@page(bp, "/portal/ai-systems/{ai_no}/label", name="portal.ai", methods=("POST",))
def apply_label(web: Web, ai_no: str) -> Response:
    ai = _own_ai(web, ai_no)
    with contextlib.suppress(labels.Unfair), _done_already("label_exists"):  # the page says
        labels.issue(ai["ai_no"], web.session.principal)  # type: ignore[union-attr]
    raise Redirect(f"/portal/ai-systems/{ai['ai_no']}")


@page(bp, "/portal/ai-systems/{ai_no}/contracts", name="portal.ai", methods=("POST",))
def file_contract(web: Web, ai_no: str) -> Response:
    ai = _own_ai(web, ai_no)
    filing = _filing(web, ai["ai_no"])
    try:
        contract = ContractFiling.model_validate_json(json.dumps(filing))
        contracts.file(contract, web.session.principal)  # type: ignore[union-attr]
    except ValidationError as error:  # the page again, with the form as typed
        return _render_ai(web, ai, filing, field_errors(error, web.lang))
    except ApiError as error:
        return _render_ai(web, ai, filing, {"form": error.message})
    raise Redirect(f"/portal/ai-systems/{ai['ai_no']}#contracts")


def _filing(web: Web, ai_no: str) -> dict[str, Any]:
    return {
        "ai_no": ai_no,
        "voice_nos": web.values("voice_nos"),
        "uses": web.values("uses"),
        "commercial": web.value("commercial") == "yes",
        "starts_on": web.value("starts_on"),
        "ends_on": web.value("ends_on"),
        "compensation": web.value("compensation"),
        "document_sha256": web.value("document_sha256").lower(),
    }


# --- operators --------------------------------------------------------------------------------


@page(bp, "/portal/operator", name="portal.operator")
def operator(web: Web) -> Response:
    pending, _ = members.list_members("pending", 200, None)
    active, _ = members.list_members("active", 200, None)
    suspended, _ = members.list_members("suspended", 200, None)
    active = [m for m in active if m["kind"] != "operator"]
    return web.render(
        "operator.html",
        done=_done(web),
        pending=pending,
        active=active,
        suspended=suspended,
        conflicts=_conflicts(),
        **_log_state(),
    )


# What the operator's last action did, said on the page it returns to (the row alone moves).
DONE = {
    "approve": ("{no} を承認しました。サインイン用のリンクをメールで送りました。",
                "Approved {no}; a sign-in link was mailed."),
    "reject": ("{no} の申請を却下しました。", "Rejected the application {no}."),
    "suspend": ("{no} を停止しました。", "Suspended {no}."),
    "reinstate": ("{no} を再開しました。", "Reinstated {no}."),
}  # fmt: skip
RESOLVED = ("{no} を残し、競合していた音声を却下しました。",
            "Kept {no}; the voices in conflict with it were rejected.")  # fmt: skip
ALREADY = ("{no} は、この操作の前に別の操作で決まっていました。現在の状態は下の表のとおりです。",
           "{no} had been decided by another action first; the tables below show where it "
           "stands.")  # fmt: skip


def _done(web: Web) -> str | None:
    done = web.query.get("done", "")
    said = {"resolve": RESOLVED, "already": ALREADY}.get(done) or DONE.get(done)
    number = web.query.get("no", "")
    if said is None or not (ids.normalize(number, "member") or ids.normalize(number, "voice")):
        return None  # only a well-formed number is repeated on the page
    return web.t(*said).format(no=number)


def _conflicts() -> list[dict[str, Any]]:
    """Recordings two holders claim, the longest waiting first, each with its holder's name."""
    waiting, _ = voices.list_conflicts(None, 200, None)
    holders = members.MEMBER.get_many({v["holder_id"] for v in waiting})  # one batch read
    for voice in waiting:
        holder = holders.get(voice["holder_id"])
        voice["holder_name"] = holder["display_name"] if holder else voice["holder_id"]
    return waiting


def _log_state() -> dict[str, Any]:
    """The event backlog and the chains' heads and checkpoints, for the operator's page."""
    return {
        "cursor": events.delivery_cursor(),
        "set_aside": events.set_aside_count(),
        "dead_letters": events.dead_letters(),
        "head": audit.latest(audit.AUDIT),
        "chains": [
            (chain, audit.latest(chain), checkpoints.latest(chain))
            for chain in (audit.AUDIT, audit.PUBLIC)
        ],
    }


@page(bp, "/portal/operator/members/{member_id}", name="portal.operator", methods=("POST",))
def decide(web: Web, member_id: str) -> Response:
    principal = web.session.principal  # type: ignore[union-attr]
    number = ids.normalize(member_id, "member") or member_id
    action = web.value("action")
    if action not in DONE:
        raise ValidationFailed(web.t("操作を選んでください。", "Choose an action."))
    reason = _reason(web) if action != "approve" else Reason(reason="—")
    with _done_already("already_decided") as held:  # the page shows how it was decided
        _decide(number, principal, action, reason.reason)
    raise Redirect(f"/portal/operator?done={'already' if held else action}&no={number}")


@page(bp, "/portal/operator/voices/{voice_no}/resolve", name="portal.operator", methods=("POST",))
def resolve_conflict(web: Web, voice_no: str) -> Response:
    """The operator keeps this voice; the voices in conflict with it are rejected."""
    number = ids.normalize(voice_no, "voice") or voice_no
    reason = _reason(web)  # it is told to the holder who loses, as the API's is
    with _done_already("not_in_conflict") as held:  # decided already: off the queue
        conflicts.resolve(number, web.session.principal, reason.reason)  # type: ignore[union-attr]
    raise Redirect(f"/portal/operator?done={'already' if held else 'resolve'}&no={number}")


def _reason(web: Web) -> Reason:
    """A decision's reason, required: the member or holder it goes against is told it."""
    if not web.value("reason"):
        raise ValidationFailed(web.t("理由を入力してください。", "Give a reason."))
    return Reason(reason=web.value("reason"))


def _decide(number: str, principal: Principal, action: str, reason: str) -> None:
    if action == "approve":
        members.approve(number, principal)  # the member gets a sign-in link by mail
    elif action == "reject":
        members.reject(number, principal, reason)
    elif action == "suspend":
        members.suspend(number, principal, reason)
    elif action == "reinstate":
        members.reinstate(number, principal, reason)
