"""Pages for everyone: what the registry is, applying, signing in by e-mail link, and the
public registries (intents, AI systems, the transparency log)."""

from __future__ import annotations

import time
from importlib import resources

from chalice import Blueprint, Response
from pydantic import ValidationError

from functions.api.http import status_of
from functions.portal.web import SESSION_COOKIE, Web, field_errors, page
from shared import audit
from shared.business import ai_systems
from shared.errors import ApiError, NotFound
from shared.formats.uses import DECISION_NAMES, DECISIONS, USES
from shared.intents import service as intents
from shared.members import service as members
from shared.members.models import Application
from shared.portal import mails, sessions
from shared.settings import get_settings
from shared.text import nfkc

bp = Blueprint(__name__)

KINDS = (
    ("performer", "実演家（声優・ナレーターなど）", "Performer (voice actor, narrator…)"),
    ("rights_holder", "権利者（事務所・制作会社など）", "Rights holder (agency, producer…)"),
    ("business", "AI事業者（開発・利用）", "AI business (developer or user)"),
)


@page(bp, "/", name="portal.home")
def home(web: Web) -> Response:
    return web.render("home.html")


APPLY_FIELDS = ("kind", "name", "name_kana", "display_name", "email")


@page(bp, "/apply", name="portal.apply", methods=("GET", "POST"))
def apply(web: Web) -> Response:
    if web.method == "GET":
        return web.render("apply.html", form={}, errors={}, kinds=KINDS)
    form = {k: web.value(k) for k in (*APPLY_FIELDS, "organization", "terms")}
    errors, status = _submit_application(form, web.lang)
    if errors:
        return web.render("apply.html", status=status, form=form, errors=errors, kinds=KINDS)
    return web.render(
        "message.html",
        heading=web.t("申請を受け付けました", "Application received"),
        message=web.t(
            "協会が確認します。承認されると、サインイン用のリンクをメールでお送りします。",
            "The association will review it. Once approved, you will receive a sign-in link.",
        ),
    )


def _submit_application(form: dict[str, str], lang: str) -> tuple[dict[str, str], int]:
    """The form's errors by field and the status to show them with; none when applied."""
    try:
        application = Application.model_validate(
            {
                **{k: form[k] for k in APPLY_FIELDS},
                "organization": form["organization"] or None,
                "terms_version": form["terms"],
            }
        )
        members.apply(application)
    except ValidationError as error:
        return field_errors(error, lang), 422
    except ApiError as error:
        return {"form": error.message}, status_of(error)
    return {}, 200


@page(bp, "/signin", name="portal.signin", methods=("GET", "POST"))
def signin(web: Web) -> Response:
    if web.method == "GET":
        return web.render(
            "signin.html",
            next=sessions.landing(web.query.get("next")),
            expired="expired" in web.query,
        )
    started, ttl_s = time.monotonic(), get_settings().signin_link_ttl_s
    member = sessions.member_by_email(web.value("email"))
    if member is not None:
        mails.send_signin_link(member, ttl_s, next_page=sessions.landing(web.value("next")))
    return _check_your_mail(web, ttl_s, started)


def _check_your_mail(web: Web, ttl_s: int, started: float) -> Response:
    """The same answer either way, and no sooner for a stranger: sending the mail took time
    that told who is a member."""
    time.sleep(max(0.0, get_settings().signin_answer_s - (time.monotonic() - started)))
    valid_ja, valid_en = mails.duration(ttl_s)
    return web.render(
        "message.html",
        heading=web.t("メールを確認してください", "Check your mail"),
        message=web.t(
            f"登録済みのアドレスであれば、サインイン用のリンクを送信しました（{valid_ja}有効）。",
            f"If the address is registered, a sign-in link is on its way (valid {valid_en}).",
        ),
    )


@page(bp, "/signin/{secret}", name="portal.signin_link", methods=("GET", "POST"))
def signin_link(web: Web, secret: str) -> Response:
    # GET only shows a button: mail scanners that open links must not use up the link.
    if web.method == "GET":
        return web.render("signin_confirm.html", secret=secret)
    link = sessions.redeem(secret)
    if link is None or not sessions.may_sign_in(link):
        return _link_unusable(web)
    if web.session:
        sessions.end(web.session.secret)
    web.set_cookie(SESSION_COOKIE, sessions.start(link.member_id), get_settings().session_ttl_s)
    return web.redirect(link.landing)


def _link_unusable(web: Web) -> Response:
    return web.render(
        "message.html",
        status=410,
        heading=web.t("このリンクは使えません", "This link cannot be used"),
        message=web.t(
            "リンクは使用済みか、有効期限が切れています。新しいリンクを請求してください。",
            "The link was already used or has expired. Ask for a new one.",
        ),
        link="/signin",
        link_text=web.t("新しいリンクを請求", "Ask for a new link"),
    )


@page(bp, "/signout", name="portal.signout", methods=("POST",))
def signout(web: Web) -> Response:
    if web.session:
        sessions.end(web.session.secret)
    web.set_cookie(SESSION_COOKIE, "", 0)
    return web.redirect("/")


@page(bp, "/registry/intents", name="portal.intents")
def intent_registry(web: Web) -> Response:
    use = web.query.get("use") if web.query.get("use") in USES else None
    value = web.query.get("value") if web.query.get("value") in DECISIONS else None
    query = nfkc(web.query.get("q", "")).lower()[:100]
    views, cursor = intents.registry_page(use, value, 200, web.query.get("cursor") or None)
    if query:
        views = [v for v in views if query in nfkc(v.get("performer_name") or "").lower()]
    return web.render(
        "registry_intents.html",
        intents=views,
        next=cursor,
        uses=USES,
        decisions=DECISION_NAMES,
        query=web.query,
    )


@page(bp, "/registry/ai-systems", name="portal.ai_systems")
def ai_registry(web: Web) -> Response:
    query = nfkc(web.query.get("q", "")).lower()[:100]
    items, cursor = ai_systems.public_page(200, web.query.get("cursor") or None)
    if query:
        items = [
            i
            for i in items
            if query in nfkc(i["name"]).lower()
            or query in nfkc(i["business"]["display_name"]).lower()
        ]
    return web.render("registry_ai.html", systems=items, next=cursor, query=web.query)


@page(bp, "/transparency", name="portal.log")
def transparency(web: Web) -> Response:
    raw = web.query.get("after", "0")
    after = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 12 else 0
    entries = audit.entries(audit.PUBLIC, after=after, limit=100)
    head = audit.latest(audit.PUBLIC)
    return web.render("log.html", entries=entries, head=head, after=after)


_STATIC = resources.files("functions.portal").joinpath("static")
_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


@page(bp, "/static/{name}", name="portal.static", summary="The portal's stylesheet and script")
def static(web: Web, name: str) -> Response:
    """The portal's own assets (no CDN)."""
    path = _STATIC.joinpath(name)
    suffix = name[name.rfind(".") :] if "." in name else ""
    if "/" in name or suffix not in _TYPES or not path.is_file():
        raise NotFound("No such file.")
    return Response(
        body=path.read_text("utf-8"),
        status_code=200,
        headers={"Content-Type": _TYPES[suffix], "Cache-Control": "public, max-age=300"},
    )
