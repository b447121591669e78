"""The glue between Chalice and the portal's pages: declare a page once, get routing, the session,
CSRF checks, Japanese/English, form parsing and HTML error pages.

Pages call the same domain functions (shared/) as the JSON API, with a Principal taken from the
session cookie instead of a bearer token, so there is no second set of rules.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from chalice import Blueprint, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import ValidationError

from functions.api.http import request_id_of, status_of
from shared import access, aws, openapi
from shared.clock import japan_time
from shared.errors import ApiError, PayloadTooLarge, UnsupportedMedia
from shared.logging import logger
from shared.portal import refusals, sessions
from shared.settings import get_settings

SESSION_COOKIE = "ailas_session"
CSRF_COOKIE = "ailas_csrf"  # double-submit token for forms before sign-in
LANG_COOKIE = "ailas_lang"

templates = Environment(
    loader=PackageLoader("functions.portal", "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

templates.filters["jst"] = japan_time

# Codes people read on the pages: statuses and kinds, in Japanese and English.
NAMES: dict[str, tuple[str, str]] = {
    "valid": ("有効", "valid"),
    "suspended": ("停止中", "suspended"),
    "revoked": ("取消", "revoked"),
    "expired": ("期限切れ", "expired"),
    "pending_review": ("審査中", "under review"),
    "registered": ("登録済み", "registered"),
    "rejected": ("却下", "rejected"),
    "conflict": ("係争中", "in conflict"),
    "processing": ("処理中", "processing"),
    "awaiting_upload": ("アップロード待ち", "awaiting upload"),
    "active": ("有効", "active"),
    "awaiting_confirmation": ("確認待ち", "awaiting confirmation"),
    "ended": ("終了", "ended"),
    "pending": ("承認待ち", "pending"),
    "performer": ("実演家", "performer"),
    "rights_holder": ("権利者", "rights holder"),
    "business": ("AI事業者", "AI business"),
    "operator": ("運営", "operator"),
    "agent": ("代理人", "agency"),
}


def content_policy() -> str:
    """The pages' CSP: this site's scripts and styles only; a page's script may send to this
    site and to the audio bucket's origin (the presigned upload), and nowhere else."""
    settings = get_settings()
    return _content_policy(settings.bucket, settings.aws_endpoint_url)


@cache
def _content_policy(bucket: str, endpoint: str | None) -> str:  # endpoint: the cache key
    uploads = aws.s3.upload_origin(bucket)
    return (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        f"connect-src 'self' {uploads}; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    )


def json_reply(body: Any, status: int = 200) -> Response:
    """An answer to a page's own script (same session): JSON, never cached."""
    return Response(
        body=json.dumps(body, ensure_ascii=False),
        status_code=status,
        headers={"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"},
    )


def uploaded_file(web: Web) -> dict[str, Any]:
    """The facts an upload page's script sends about the chosen file (the file itself goes
    straight to storage); a size that is not a number is 0, which the model refuses."""
    size = web.value("file_size")
    return {
        "filename": web.value("file_name"),
        "size_bytes": int(size) if size.isascii() and size.isdigit() else 0,
        "content_type": web.value("file_type") or "application/octet-stream",
    }


class Redirect(Exception):
    def __init__(self, location: str) -> None:
        self.location = location


@dataclass
class Web:
    """One request to a page."""

    method: str
    query: dict[str, str]
    form: dict[str, list[str]]
    cookies: dict[str, str]
    session: sessions.Session | None
    lang: str
    request_id: str
    csrf: str
    back: str = "/"  # the page the request came from (its path on this site), for "Back"
    set_cookies: list[str] = field(default_factory=list)

    def t(self, ja: str, en: str) -> str:
        return en if self.lang == "en" else ja

    def uses(self, codes: list[str]) -> str:
        """Use codes as people read them: 「音声合成, 追加学習」, not "tts, fine_tuning"."""
        from shared.labels.page import use_name  # the verify page names them so too

        return ", ".join(use_name(code, self.lang) for code in codes)

    def name(self, code: str | None) -> str:
        """A status or kind code as people read it."""
        ja, en = NAMES.get(code or "", (code or "—", code or "—"))
        return self.t(ja, en)

    def rejection(self, error: dict[str, Any] | None, short: bool = False) -> str:
        """Why an upload was not taken: in Japanese (the registry's English detail beside it
        on the voice's page), or the English message; the code where nothing else is known."""
        if not error:
            return ""
        said = refusals.UPLOAD_REJECTIONS.get(str(error.get("code")))
        if short:
            return self.t(said[0], str(error.get("code"))) if said else str(error.get("code"))
        if said and self.lang == "ja":
            return f"{said[1]}（{error.get('message', '')}）"
        return str(error.get("message") or error.get("code"))

    def field_name(self, name: str) -> str:
        """A form field's name as people read it (errors are listed by field)."""
        if name.startswith("use_"):
            return self.uses([name.removeprefix("use_")])
        ja, en = FIELD_NAMES.get(name, (name, name))
        return self.t(ja, en)

    def value(self, name: str, default: str = "") -> str:
        return (self.form.get(name) or [default])[0].strip()

    def values(self, name: str) -> list[str]:
        return [v.strip() for v in self.form.get(name, []) if v.strip()]

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        html = templates.get_template(template).render(
            web=self,
            t=self.t,
            name=self.name,
            session=self.session,
            lang=self.lang,
            csrf=self.csrf,
            **context,
        )
        return self._html(html, status)

    def redirect(self, location: str) -> Response:
        return Response(body="", status_code=303, headers={"Location": location, **self._cookies()})

    def _html(self, html: str, status: int) -> Response:
        return Response(
            body=html,
            status_code=status,
            headers={
                "Content-Type": "text/html; charset=utf-8",
                "Cache-Control": "no-store",
                "Content-Security-Policy": content_policy(),
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "same-origin",
                **self._cookies(),
            },
        )

    def _cookies(self) -> dict[str, Any]:
        return {"Set-Cookie": self.set_cookies} if self.set_cookies else {}

    def set_cookie(self, name: str, value: str, max_age: int | None = None) -> None:
        secure = "; Secure" if get_settings().public_base_url.startswith("https:") else ""
        age = f"; Max-Age={max_age}" if max_age is not None else ""
        self.set_cookies.append(f"{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}{age}")


def cookie(header: str | None) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header or "")
    except Exception:
        return {}
    return {k: m.value for k, m in jar.items()}


def parse_form(raw: bytes | None, content_type: str) -> dict[str, list[str]]:
    if not raw:
        return {}
    if len(raw) > get_settings().max_body_bytes:
        raise PayloadTooLarge("The form is too large.", code="body_too_large")
    if "application/x-www-form-urlencoded" not in content_type:
        raise UnsupportedMedia("Forms are sent url-encoded.", code="unsupported_form")
    try:
        return parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=200)
    except (UnicodeDecodeError, ValueError):
        raise ApiError("The form is not readable.", code="invalid_form") from None


Handler = Callable[..., Response]  # (web, **path parameters)


def page(
    bp: Blueprint,
    path: str,
    *,
    name: str,
    methods: tuple[str, ...] = ("GET",),
    summary: str = "A page of the portal (HTML, Japanese and English)",
) -> Callable[[Handler], Handler]:
    """Declare a page. ``name`` is its entry in shared/access.py (public, or the roles that may
    see it: a page for members redirects to sign-in without a session)."""
    rule = access.POLICY[name]  # a page missing from the policy table fails at import

    def decorate(handler: Handler) -> Handler:
        for method in methods:  # documented like every route (text/html), so none is hidden
            openapi.register(
                openapi.Operation(
                    name=f"{name}.{handler.__name__}.{method.lower()}",
                    method=method,
                    path=path,
                    summary=summary,
                    tag="pages",
                    access="public" if rule.public else ",".join(sorted(rule.roles or ())),
                    content_type="text/html",
                )
            )

        def view(**params: str) -> Response:
            return _serve(bp, name, rule, handler, params)

        view.__name__ = "page_" + handler.__name__
        bp.route(
            path,
            methods=list(methods),
            content_types=["application/x-www-form-urlencoded", "multipart/form-data", "*/*"],
        )(view)
        return handler

    return decorate


def _web(request: Any) -> Web:
    """The page's view of the request: query, cookies, language (``?lang=`` is remembered)."""
    cookies = cookie(request.headers.get("cookie"))
    query = dict(request.query_params or {})
    lang = query.get("lang") or cookies.get(LANG_COOKIE) or "ja"
    lang = "en" if lang == "en" else "ja"
    web = Web(
        method=request.method,
        query=query,
        form={},
        cookies=cookies,
        session=None,
        lang=lang,
        request_id=request_id_of(request),
        csrf="",
        back=_back(request.headers.get("referer")),
    )
    if "lang" in query:
        web.set_cookie(LANG_COOKIE, lang, 365 * 86400)
    return web


def _back(referer: str | None) -> str:
    """The referring page's path and query on this site: never another site's address (only
    the path of the Referer is kept, and only when it is an absolute path here)."""
    parts = urlsplit(referer or "")
    path = parts.path if parts.path.startswith("/") and not parts.path.startswith("//") else "/"
    return path + (f"?{parts.query}" if parts.query and path != "/" else "")


def _signin_for(method: str, path: str, query: dict[str, str]) -> str:
    """The sign-in page, remembering the page asked for (a form's target is not a page: after
    signing in, its POST would come back as a GET)."""
    if method != "GET":
        return "/signin?expired=1"
    asked = path + (f"?{urlencode(query)}" if query else "")
    return f"/signin?next={quote(asked, safe='')}"


def _admit(web: Web, request: Any, name: str, rule: access.Rule) -> Response | None:
    """The session, the page's access rule and a POST's CSRF token: a response that stops the
    request here (sign-in, expired form), or None to go on to the handler."""
    web.session = sessions.resume(web.cookies.get(SESSION_COOKIE))
    web.csrf = web.session.csrf if web.session else _anonymous_csrf(web)
    if not rule.public:
        if web.session is None:
            # Chalice's path is the route's pattern ("/portal/voices/{voice_no}"): fill it in
            path = request.path.format_map(request.uri_params or {})
            return web.redirect(_signin_for(request.method, path, web.query))
        access.authorize(name, web.session.principal)
    if request.method == "POST":
        web.form = parse_form(request.raw_body, request.headers.get("content-type", ""))
        if web.value("csrf") != web.csrf or not web.csrf:
            return error_page(
                web,
                403,
                web.t(
                    "フォームの有効期限が切れました。ページを開き直してください。",
                    "The form expired; open the page again.",
                ),
            )
    return None


def _serve(
    bp: Blueprint, name: str, rule: access.Rule, handler: Handler, params: dict[str, str]
) -> Response:
    request = bp.current_request
    web = _web(request)
    try:
        stop = _admit(web, request, name, rule)
        return stop if stop is not None else handler(web, **params)
    except Redirect as redirect:
        return web.redirect(redirect.location)
    except ApiError as error:
        said = refusals.japanese(error.code) if web.lang == "ja" else None
        detail = error.message if said else ""  # the English may name a record
        return error_page(web, status_of(error), said or error.message, detail)
    except ValidationError as error:
        return error_page(web, 422, "; ".join(field_errors(error, web.lang).values()))
    except Exception:
        logger.exception("page failed", extra={"page": name})
        return error_page(
            web,
            500,
            web.t(
                "問題が発生しました。時間をおいて再度お試しください。",
                "Something went wrong on our side. Please try again later.",
            ),
        )


def _anonymous_csrf(web: Web) -> str:
    token = web.cookies.get(CSRF_COOKIE) or ""
    if len(token) < 20:
        token = secrets.token_urlsafe(24)
        web.set_cookie(CSRF_COOKIE, token)
    return token


def error_page(web: Web, status: int, message: str, detail: str = "") -> Response:
    """``detail``: the domain's English sentence beside its Japanese (it may name a record)."""
    return web.render(
        "error.html", status=status, status_code=status, message=message, detail=detail
    )


def field_errors(error: ValidationError, lang: str = "en") -> dict[str, str]:
    """pydantic errors by the form field they belong to (the first part of the location), in
    the page's language: a performer reads 「入力してください」, not "String should have…"."""
    found: dict[str, str] = {}
    for problem in error.errors(include_url=False):
        where = str(problem["loc"][0]) if problem["loc"] else "form"
        english = problem["msg"].removeprefix("Value error, ")
        ja, en = FIELD_RULES.get(where, (_japanese(problem) or english, english))
        found.setdefault(where, ja if lang == "ja" else en)
    return found


# A field whose only rule people meet is better said as that rule than as its pattern.
FIELD_RULES = {"terms_version": ("利用規約に同意してください。", "Accept the terms of use.")}


def _japanese(problem: Any) -> str | None:
    """The Japanese of the pydantic errors that forms meet; None for a rule's own message (a
    ``value_error``: the domain's sentence, shown as it is)."""
    kind, ctx = problem["type"], problem.get("ctx") or {}
    if kind in ("missing", "string_too_short") and ctx.get("min_length", 1) <= 1:
        return "入力してください。"
    words = {
        "string_too_short": f"{ctx.get('min_length')}文字以上で入力してください。",
        "string_too_long": f"{ctx.get('max_length')}文字以内で入力してください。",
        "too_long": f"{ctx.get('max_length')}件以内にしてください。",
        "string_pattern_mismatch": "形式が正しくありません。",
        "literal_error": "選択肢から選んでください。",
        "enum": "選択肢から選んでください。",
        "date_from_datetime_parsing": "日付の形式が正しくありません。",
        "date_parsing": "日付の形式が正しくありません。",
        "int_parsing": "数値を入力してください。",
        "float_parsing": "数値を入力してください。",
        "url_parsing": "URLの形式が正しくありません（https://…）。",
        "url_scheme": "URLは http:// または https:// で始めてください。",
        "greater_than_equal": f"{ctx.get('ge')}以上にしてください。",
        "less_than_equal": f"{ctx.get('le')}以下にしてください。",
    }
    if kind == "value_error" and "email" in str(problem.get("msg", "")).lower():
        return (
            "メールアドレスの形式が正しくありません。"
            if problem.get("input")
            else "入力してください。"
        )
    return words.get(kind)


FIELD_NAMES = {
    "name": ("氏名", "name"),
    "name_kana": ("氏名（カナ）", "name (kana)"),
    "display_name": ("公開名", "public name"),
    "email": ("メールアドレス", "e-mail"),
    "organization": ("所属", "organization"),
    "terms_version": ("利用規約への同意", "the terms"),
    "kind": ("会員の種類", "kind of member"),
    "valid_until": ("有効期限", "valid until"),
    "note": ("備考", "note"),
    "uses": ("利用の種類", "uses"),
    "commercial": ("商用利用", "commercial use"),
    "conditions": ("条件", "conditions"),
    "training_data": ("学習データ", "training data"),
    "service_name": ("サービス名", "service name"),
    "service_url": ("サービスURL", "service URL"),
    "title": ("題名", "title"),
    "starts_on": ("開始日", "start date"),
    "ends_on": ("終了日", "end date"),
    "voice_nos": ("対象の音声", "voices"),
    "compensation": ("対価", "compensation"),
    "document_sha256": ("契約書の SHA-256", "document SHA-256"),
    "form": ("入力", "form"),
}
