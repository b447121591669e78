"""The pages people see (no script, no external assets, Japanese first with an English switch):

- ``/verify/{label_no}``: what an AILAS label certifies, the label's live status in colour and
  words, since when and why, what the business and the customer can do, who issued it and
  whether its signature was checked, the AI system with readable use names, and an embed snippet;
- ``/verify``: a box to type a label number, and a form to check an audio file's C2PA label;
- ``/criteria``: the published criteria (the fairness rule of API.md) the label stands for.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from shared.clock import japan_time
from shared.formats.uses import USES
from shared.portal import refusals

LANGS = ("ja", "en")


@dataclass(frozen=True)
class Status:
    ja: str
    en: str
    colour: str
    meaning_ja: str
    meaning_en: str


STATUS: dict[str, Status] = {
    "valid": Status(
        "有効",
        "Valid",
        "#1a7f37",
        "このAIサービスが学習・利用している登録音声はすべて、実演家の意思表示または確認済みの契約に"
        "沿っていることを、AILASが確認しています。",
        "AILAS has checked that every registered voice this AI service was trained on or uses is "
        "covered by its performers' stated consent or a confirmed contract.",
    ),
    "suspended": Status(
        "一時停止",
        "Suspended",
        "#b35900",
        "このラベルが前提とする同意または契約が、現在満たされていません。",
        "A consent or contract this label relies on does not hold at the moment.",
    ),
    "revoked": Status(
        "取消",
        "Revoked",
        "#b42318",
        "このラベルはAILASにより取り消されました。再び有効になることはありません。",
        "AILAS revoked this label. It will not become valid again.",
    ),
    "expired": Status(
        "期限切れ",
        "Expired",
        "#57606a",
        "このラベルの有効期限は過ぎています。",
        "This label has passed its expiry date.",
    ),
    "pending_review": Status(
        "審査中",
        "Under review",
        "#0a5bb5",
        "AILASによる確認を待っています。まだ有効なラベルではありません。",
        "Awaiting the association's review; not a valid label yet.",
    ),
    "not_issued": Status(
        "未発行",
        "Not yet issued",
        "#57606a",
        "指定された時点では、このラベルはまだ発行されていませんでした。",
        "The label had not been issued at the time asked for.",
    ),
    "unknown": Status(
        "該当なし",
        "Unknown",
        "#57606a",
        "この番号のラベルは登録されていません。番号をもう一度お確かめください。",
        "No label has this number. Please check the number again.",
    ),
    "mistyped": Status(
        "番号の誤り",
        "Mistyped number",
        "#6639ba",
        "番号の最後の文字（チェック文字）が合いません。入力や読み取りの誤りの可能性があります。",
        "The last character of the number (its check character) does not match: most likely a "
        "typo or a misread character.",
    ),
    "malformed": Status(
        "番号の形式が違います",
        "Not a label number",
        "#6639ba",
        "AILASのラベル番号は L-XXXX-XXXX-X の形です。",
        "AILAS label numbers look like L-XXXX-XXXX-X.",
    ),
}
STATUS["not_found"] = STATUS["unknown"]

# What each side can do, per status: (business ja, business en, customer ja, customer en).
ADVICE: dict[str, tuple[str, str, str, str]] = {
    "valid": (
        "ラベルの表示を続けられます。同意や契約が変われば、このページに自動で反映されます。",
        "The business may keep displaying the label; if a consent or contract changes, this page "
        "shows it at once.",
        "このページはいつでも最新の状態を表示します。バッジも同じ状態を示します。",
        "This page always shows the live status; so does the badge.",
    ),
    "suspended": (
        "下記の理由を解消してください（実演家との合意、契約の更新・再確認、学習データ申告の修正）。"
        "条件が再び満たされると、ラベルは自動的に「有効」に戻ります。それまで該当する利用は"
        "控えてください。",
        "Resolve the reasons below (agree with the performer, renew or re-confirm the contract, "
        "or correct the training-data sheet). The label returns to valid by itself as soon as "
        "they hold again; until then, hold back the uses concerned.",
        "現時点では、このサービスが声の持ち主の同意を得ているとは確認できません。"
        "事業者に問い合わせるか、後でもう一度確認してください。",
        "For now, it cannot be confirmed that this service has the voice owners' consent. Ask "
        "the business, or check again later.",
    ),
    "revoked": (
        "取消は最終的なものです。AILASに理由を確認し、公正な条件を整えた上で新しいラベルを"
        "申請してください。このラベルの表示は直ちにやめてください。",
        "Revocation is final. Ask AILAS for the reasons, put the trade right, and apply for a new "
        "label; stop displaying this one now.",
        "このラベルは信頼できません。サービスの利用について事業者に確認してください。",
        "Do not rely on this label. Ask the business about the service.",
    ),
    "expired": (
        "契約や意思表示の期間を確認・更新し、新しいラベルを申請してください。",
        "Check and renew the contracts or consents that ended, then apply for a new label.",
        "このラベルは現在のものではありません。事業者が新しいラベルを表示しているか"
        "確認してください。",
        "This label is no longer current. Look for a newer label from the business.",
    ),
    "pending_review": (
        "AILASの審査が終わるまでお待ちください。",
        "Wait for the association's review to finish.",
        "まだ有効なラベルではありません。",
        "This is not a valid label yet.",
    ),
}

# Readable reasons (fairness.MESSAGES has the sentences; here the short heading of each).
CONTRACT_REASONS = {
    "contract_missing",
    "contract_not_confirmed",
    "contract_not_in_force",
    "contract_revoked",
    "contract_ended",
}

T: dict[str, tuple[str, str]] = {
    "registry": ("AILAS フェアトレード音声レジストリ", "AILAS Fair-Trade Voice Registry"),
    "label": ("ラベル番号", "Label number"),
    "certifies": ("このラベルが示すこと", "What this label certifies"),
    "certifies_text": (
        "AILASラベルは、AIサービスが使う登録音声のすべてについて、実演家本人の意思表示または"
        "権利者と確認された契約があることを示します。同意が撤回されると、ラベルは自動で"
        "「一時停止」になります。",
        "An AILAS label says that, for every registered voice an AI service uses, the "
        "performer's own stated consent or a contract confirmed with the rights holder covers "
        "that use. When a consent is withdrawn, the label turns to suspended by itself.",
    ),
    "criteria": ("認証基準を読む", "Read the published criteria"),
    "since": ("この状態になった日時", "In this status since"),
    "why": ("理由", "Why"),
    "notes": ("注記", "Notes"),
    "not_member": ("会員ではない実演家", "performer who is not a member"),
    "business_can": ("事業者ができること", "What the business can do"),
    "customer_can": ("利用者ができること", "What you can do"),
    "issuer": ("発行者", "Issuer"),
    "signature": ("電子署名", "Signature"),
    "sig_ok": (
        "確認済み：公開鍵（JWKS）で署名を検証しました",
        "Checked: the signature verifies with the published keys (JWKS)",
    ),
    "sig_bad": ("確認できません", "Could not be checked"),
    "key_id": ("鍵ID", "Key id"),
    "ai": ("AIシステム", "AI system"),
    "business": ("事業者", "Business"),
    "uses": ("認められた利用", "Uses covered"),
    "commercial": ("商用利用を含む", "Includes commercial use"),
    "credits": ("実演家クレジット", "Performers credited"),
    "voices": ("登録音声", "Registered voices"),
    "issued": ("発行日", "Issued"),
    "expires": ("有効期限", "Expires"),
    "history": ("状態の履歴", "Status history"),
    "embed": ("ウェブサイトに埋め込む", "Embed on a web page"),
    "embed_text": (
        "次のHTMLを貼り付けると、最新の状態を示すバッジとこのページへのリンクが表示されます。",
        "Paste this HTML to show a badge with the live status, linked to this page.",
    ),
    "checked": ("確認日時", "Checked"),
    "lookup": ("ラベル番号で確認する", "Check a label number"),
    "lookup_hint": (
        "ラベルやQRコードに書かれた番号を入力してください（例：L-7K3M-9Q2D-X）。",
        "Type the number printed on the label or under its QR code (e.g. L-7K3M-9Q2D-X).",
    ),
    "check": ("確認", "Check"),
    "file_check": ("音声ファイルのラベルを確認する", "Check the label inside an audio file"),
    "file_hint": (
        "AI生成音声に埋め込まれたC2PAマニフェストを読み、署名、ラベル、現在の状態を確認します"
        "（WAV・MP3、{limit} MBまで）。ファイルは保存されません。",
        "Reads the C2PA manifest inside AI-generated audio and checks its signature, the label "
        "and the label's live status (WAV or MP3, up to {limit} MB). The file is not kept.",
    ),
    "upload": ("ファイルを確認", "Check the file"),
    "you_typed": ("入力された番号", "You typed"),
    "other_lang": ("English", "日本語"),
    "keys": ("公開鍵", "Public keys"),
    "perf_intent": ("実演家の意思表示", "performer's intent"),
    "use": ("利用", "use"),
    "voice": ("音声", "voice"),
}


def tr(key: str, lang: str) -> str:
    ja, en = T[key]
    return en if lang == "en" else ja


def jst(value: str | None) -> str:
    return japan_time(value, missing="—")


# The public pages' headers: no script, styles inline, images from here or data: URLs.
PAGE_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-cache",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "img-src 'self' data:; form-action 'self'",
}


def use_name(code: str, lang: str) -> str:
    if code == "commercial":
        return "商用利用" if lang == "ja" else "Commercial use"
    if code == "*":
        return ""
    ja, en = USES.get(code, (code, code))
    return en if lang == "en" else ja


STYLE = """
  body { margin: 0; font: 16px/1.6 system-ui, -apple-system, "Hiragino Sans",
         "Hiragino Kaku Gothic ProN", "Noto Sans JP", "IPAPGothic", "Yu Gothic", Meiryo,
         sans-serif; color: #1f2328; background: #f6f8fa; }
  main { max-width: 40rem; margin: 0 auto; padding: 1rem; }
  header { font-size: .9rem; color: #57606a; display: flex; justify-content: space-between;
           gap: 1rem; flex-wrap: wrap; }
  .status { color: #fff; border-radius: 12px; padding: 1.25rem; margin: .75rem 0 1rem; }
  .status .word { font-size: 2.2rem; font-weight: 700; line-height: 1.2; }
  .status .other { font-size: 1.1rem; font-weight: 600; opacity: .95; }
  .status p { margin: .5rem 0 0; }
  section.card { background: #fff; border-radius: 12px; padding: .75rem 1rem; margin: 0 0 1rem; }
  h2 { font-size: 1rem; margin: .25rem 0 .5rem; }
  dl { margin: 0; }
  dt { font-size: .8rem; color: #57606a; margin-top: .6rem; }
  dd { margin: 0; overflow-wrap: anywhere; }
  code, pre { font: .85rem ui-monospace, Menlo, monospace; overflow-wrap: anywhere; }
  pre { white-space: pre-wrap; background: #f6f8fa; padding: .5rem; border-radius: 6px; }
  .reasons { background: #fff8c5; }
  .reasons li { margin: .25rem 0; }
  .ok { color: #1a7f37; font-weight: 600; }
  .bad { color: #b42318; font-weight: 600; }
  input[type=text] { font: inherit; padding: .5rem; width: 100%; box-sizing: border-box;
                     border: 1px solid #8c959f; border-radius: 6px; }
  button { font: inherit; padding: .45rem 1rem; margin-top: .5rem; border-radius: 6px;
           border: 0; background: #0a5bb5; color: #fff; }
  footer { font-size: .8rem; color: #57606a; margin-top: 1rem; }
  a { color: #0a5bb5; }
"""


def layout(title: str, body: str, lang: str, switch_href: str) -> str:
    return f"""<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{escape(title)}</title>
<style>{STYLE}</style>
</head>
<body>
<main>
  <header><span>{tr("registry", lang)}</span>
    <a href="{escape(switch_href)}" lang="{"ja" if lang == "en" else "en"}"
       hreflang="{"ja" if lang == "en" else "en"}" id="lang-switch">{tr("other_lang", lang)}</a>
  </header>
{body}
</main>
</body>
</html>
"""


def _with_lang(path: str, lang: str) -> str:
    return path if lang == "ja" else f"{path}{'&' if '?' in path else '?'}lang=en"


def status_block(status: str, lang: str, extra: str = "") -> str:
    s = STATUS.get(status, STATUS["unknown"])
    word, other = (s.en, s.ja) if lang == "en" else (s.ja, s.en)
    meaning = s.meaning_en if lang == "en" else s.meaning_ja
    return f"""  <section class="status" id="status" data-status="{escape(status)}"
    style="background: {s.colour}" role="status">
    <div class="word">{escape(word)}</div><div class="other" lang="{
        "ja" if lang == "en" else "en"
    }">{escape(other)}</div>
    <p>{escape(meaning)}</p>{extra}
  </section>"""


def _reason_item(reason: dict[str, Any], lang: str, base: str) -> str:
    message = reason.get("message_en" if lang == "en" else "message_ja") or reason["reason"]
    parts = [escape(str(message))]
    use = use_name(str(reason.get("use") or "*"), lang)
    if use:
        parts.append(f"{tr('use', lang)}: <strong>{escape(use)}</strong>")
    if reason.get("voice_no"):
        parts.append(f"{tr('voice', lang)}: <code>{escape(str(reason['voice_no']))}</code>")
    if reason.get("performer_name"):
        name = escape(str(reason["performer_name"]))
        parts.append(f"{tr('not_member', lang)}: <strong>{name}</strong>")
    if reason.get("performer_id") and reason["reason"] not in CONTRACT_REASONS:
        performer = escape(str(reason["performer_id"]))
        parts.append(
            f'<a href="{base}/v1/performers/{performer}/intent">{tr("perf_intent", lang)}</a>'
        )
    if reason["reason"] in CONTRACT_REASONS:
        parts.append("契約" if lang == "ja" else "contract")
    return f'<li data-reason="{escape(reason["reason"])}">{" · ".join(parts)}</li>'


def embed_snippet(label_no: str, base: str) -> str:
    return (
        f'<a href="{base}/verify/{label_no}"><img src="{base}/v1/labels/{label_no}/badge.svg" '
        f'alt="AILAS label {label_no}" height="20"></a>'
    )


def render_verify_page(result: Any, *, lang: str = "ja", checked_at: str = "") -> str:
    """``result`` is a :class:`shared.labels.verification.Verification`."""
    lang = lang if lang in LANGS else "ja"
    status = result.status
    typed = escape(result.number.typed)
    label_no = escape(result.number.canonical or result.number.typed)
    path = f"/verify/{result.number.canonical or result.number.typed}"
    s = STATUS.get(status, STATUS["unknown"])
    if result.lookup != "found":
        body = f"""  <p>{tr("you_typed", lang)}: <code id="typed">{typed}</code></p>
{status_block(status, lang)}
{lookup_form(lang, value=result.number.typed)}
  <footer><a href="{_with_lang("/criteria", lang)}">{tr("criteria", lang)}</a></footer>"""
        return layout(f"AILAS {typed} — {s.ja} / {s.en}", body, lang, _switch(path, lang))
    extra = ""
    if result.since and status != "valid":
        extra = f'\n    <p id="since">{tr("since", lang)}: <strong>{jst(result.since)}</strong></p>'
    body = f"""  <p>{tr("label", lang)} <code id="label-no">{label_no}</code></p>
{status_block(status, lang, extra)}
{_reasons_html(result.view.get("reasons") or [], lang, result.issuer.url)}
{_advice_html(status, lang)}
  <section class="card" id="certifies"><h2>{tr("certifies", lang)}</h2>
    <p>{tr("certifies_text", lang)}</p>
    <p><a href="{_with_lang("/criteria", lang)}" id="criteria-link">{tr("criteria", lang)}</a></p>
  </section>
{_issuer_html(result, lang)}
{_details_html(result, lang)}
{_embed_html(result, status, label_no, lang)}
  <footer>{tr("checked", lang)} {jst(checked_at)} ·
    <a href="/v1/labels/{label_no}">JSON</a> ·
    <a href="/v1/labels/{label_no}/qr.svg">QR</a> ·
    <a href="{_with_lang("/verify", lang)}">{tr("lookup", lang)}</a></footer>"""
    return layout(f"AILAS {label_no} — {s.ja} / {s.en}", body, lang, _switch(path, lang))


def _reasons_html(reasons: list[dict[str, Any]], lang: str, base: str) -> str:
    blocking = [r for r in reasons if r.get("blocking", True)]
    notices = [r for r in reasons if not r.get("blocking", True)]  # e.g. consent attested
    reasons_html = ""
    if blocking:
        items = "".join(_reason_item(r, lang, base) for r in blocking)
        reasons_html = f"""  <section class="card reasons" id="reasons"><h2>{tr("why", lang)}</h2>
    <ul>{items}</ul></section>"""
    if notices:
        items = "".join(_reason_item(r, lang, base) for r in notices)
        reasons_html += f"""
  <section class="card" id="notices"><h2>{tr("notes", lang)}</h2><ul>{items}</ul></section>"""
    return reasons_html


def _advice_html(status: str, lang: str) -> str:
    advice = ADVICE.get(status)
    if not advice:
        return ""
    business, customer = (advice[1], advice[3]) if lang == "en" else (advice[0], advice[2])
    return f"""  <section class="card" id="advice">
    <h2>{tr("customer_can", lang)}</h2><p>{escape(customer)}</p>
    <h2>{tr("business_can", lang)}</h2><p>{escape(business)}</p>
  </section>"""


def _issuer_html(result: Any, lang: str) -> str:
    signature, issuer = result.signature, result.issuer
    if signature and signature.checked:
        sig = f'<span class="ok" id="signature">✔ {tr("sig_ok", lang)}</span> ({signature.alg})'
    else:
        why = escape(signature.error if signature else "no token")
        sig = f'<span class="bad" id="signature">✘ {tr("sig_bad", lang)}: {why}</span>'
    return f"""  <section class="card" id="issuer"><dl>
    <dt>{tr("issuer", lang)}</dt>
    <dd>{escape(issuer.name)} — <code>{escape(issuer.domain)}</code></dd>
    <dt>{tr("signature", lang)}</dt><dd>{sig}</dd>
    <dt>{tr("key_id", lang)}</dt>
    <dd><code id="kid">{escape(signature.kid or "—") if signature else "—"}</code>
      (<a href="/.well-known/jwks.json">{tr("keys", lang)}</a>)</dd>
  </dl></section>"""


def _status_word(status: str, lang: str) -> str:
    word = STATUS.get(status, STATUS["unknown"])
    return word.en if lang == "en" else word.ja


def _details_html(result: Any, lang: str) -> str:
    view = result.view
    ai = view.get("ai_system", {})
    uses = "".join(
        f'<li data-use="{escape(u)}">{escape(use_name(u, lang))} <code>{escape(u)}</code></li>'
        for u in view.get("uses", [])
    )
    if view.get("commercial"):
        uses += f'<li data-use="commercial">{tr("commercial", lang)}</li>'
    credited = ("、" if lang == "ja" else ", ").join(view.get("credits") or [])
    voices = " ".join(f"<code>{escape(v)}</code>" for v in view.get("voices", [])) or "—"
    history = "".join(
        f"<li>{jst(h['at'])} — {escape(_status_word(h['status'], lang))}</li>"
        for h in result.history
    )
    return f"""  <section class="card" id="details"><dl>
    <dt>{tr("ai", lang)}</dt>
    <dd>{escape(ai.get("name", ""))} <code>{escape(ai.get("ai_no", ""))}</code></dd>
    <dt>{tr("business", lang)}</dt>
    <dd>{escape(view.get("business", {}).get("display_name", ""))}</dd>
    <dt>{tr("uses", lang)}</dt><dd><ul id="uses">{uses}</ul></dd>
    <dt>{tr("credits", lang)}</dt><dd>{escape(credited) or "—"}</dd>
    <dt>{tr("voices", lang)}</dt><dd>{voices}</dd>
    <dt>{tr("issued", lang)}</dt><dd>{jst(view.get("issued_at"))}</dd>
    <dt>{tr("expires", lang)}</dt><dd>{jst(view.get("expires_at"))}</dd>
    <dt>{tr("history", lang)}</dt><dd><ul>{history}</ul></dd>
  </dl></section>"""


def _embed_html(result: Any, status: str, label_no: str, lang: str) -> str:
    """A revoked or expired label is not to be displayed any more: no snippet for it."""
    if status not in ("valid", "suspended", "pending_review"):
        return ""
    snippet = embed_snippet(str(result.view["label_no"]), result.issuer.url)
    return f"""  <section class="card" id="embed"><h2>{tr("embed", lang)}</h2>
    <p>{tr("embed_text", lang)}</p>
    <p><img src="/v1/labels/{label_no}/badge.svg" alt="AILAS {label_no}" height="20"></p>
    <pre><code id="embed-snippet">{escape(snippet)}</code></pre>
  </section>"""


def _switch(path: str, lang: str) -> str:
    return path if lang == "en" else f"{path}?lang=en"


def lookup_form(lang: str, value: str = "", error: str = "") -> str:
    return f"""  <section class="card" id="lookup"><h2>{tr("lookup", lang)}</h2>
    <form method="get" action="/verify">
      <label for="label_no">{tr("lookup_hint", lang)}</label>
      <input type="text" id="label_no" name="label_no" value="{escape(value)}"
             autocomplete="off" autocapitalize="characters" spellcheck="false"
             placeholder="L-XXXX-XXXX-X" required>
      {f'<input type="hidden" name="lang" value="{lang}">' if lang == "en" else ""}
      <button type="submit">{tr("check", lang)}</button>
    </form>{error}
  </section>"""


def file_form(lang: str, limit_mb: int) -> str:
    hint = tr("file_hint", lang).format(limit=limit_mb)
    return f"""  <section class="card" id="file-check"><h2>{tr("file_check", lang)}</h2>
    <form method="post" action="{_with_lang("/verify", lang)}" enctype="multipart/form-data">
      <p>{escape(hint)}</p>
      <input type="file" name="file" accept="audio/wav,audio/mpeg,.wav,.mp3" required>
      <button type="submit">{tr("upload", lang)}</button>
    </form>
  </section>"""


def render_lookup_page(lang: str, limit_mb: int) -> str:
    lang = lang if lang in LANGS else "ja"
    body = f"""  <h1 style="font-size:1.4rem">{tr("lookup", lang)}</h1>
  <section class="card"><p>{tr("certifies_text", lang)}</p>
    <p><a href="{_with_lang("/criteria", lang)}">{tr("criteria", lang)}</a></p></section>
{lookup_form(lang)}
{file_form(lang, limit_mb)}"""
    return layout(tr("lookup", lang) + " — AILAS", body, lang, _switch("/verify", lang))


CRITERIA: dict[str, tuple[str, list[str]]] = {
    "ja": (
        "AILASラベルの認証基準",
        [
            "ラベルはAIシステム（またはそれを使う事業）ごとに発行されます。事業者は、AIの利用"
            "目的（学習、追加学習、音声合成、ボイスチェンジャー、歌声合成、研究）と商用か否か、"
            "学習に使った登録音声をすべて申告します。",
            "申告された登録音声ごと、その声の会員実演家ごと、利用目的ごとに、その時点で有効な"
            "実演家の意思表示が判断します。「許可」はそのまま満たします。「要契約」は、このAI"
            "システム・その音声・その利用（商用なら商用も）を対象とし、期間中で、権利者が確認"
            "済みの契約があるときだけ満たします。「不許可」は満たしません。意思表示のない実演家は"
            "すべて「要契約」として扱います。音声は登録済みでなければなりません。",
            "すべてが満たされたときだけラベルが発行されます。満たされない点は一つ残らず示されます。",
            "発行後に一つでも満たされなくなると（意思表示の変更、契約の取消・終了、音声の係争）、"
            "ラベルは直ちに理由付きで「一時停止」になり、再び満たされると自動で「有効」に"
            "戻ります。AILASによる「取消」は最終的です。「期限切れ」は有効期限（契約の終了日、"
            "意思表示の期限、発行から1年のうち最も早い日）に従います。",
            "ラベルにはES256の電子署名（JWS）が付き、公開鍵（/.well-known/jwks.json）で誰でも"
            "検証できます。状態の変化はすべて公開の透明性ログ（/v1/log）に記録されます。",
            "AILASは契約の当事者ではなく、金銭を扱いません。",
        ],
    ),
    "en": (
        "The criteria of the AILAS label",
        [
            "A label is issued per AI system (or the business using it). The business declares "
            "the AI's uses (training, fine-tuning, speech synthesis, voice conversion, singing, "
            "research), whether it is commercial, and every registered voice it was trained on.",
            "For every declared voice, every member performer of that voice and every use, the "
            "performer's intent in force decides: allow passes; contract passes only with an "
            "active contract for this AI system that lists the voice and the use (and commercial "
            "use when the AI is commercial), whose dates cover today and which the rights holder "
            "confirmed; deny fails. A performer with no intent counts as contract for every use. "
            "The voice must be registered.",
            "A label is issued only when everything passes; every failure is listed.",
            "When anything stops holding after issue (an intent changed, a contract revoked or "
            "ended, a voice in conflict), the label turns suspended at once, with the reasons, "
            "and returns to valid by itself when it holds again. Revocation by AILAS is final. "
            "Expiry follows the earliest of the contracts' end dates, the intents' validity and "
            "one year after issue.",
            "Every label carries an ES256 signature (JWS) that anyone can check with the "
            "published keys (/.well-known/jwks.json); every change of status is recorded in the "
            "public transparency log (/v1/log).",
            "AILAS is not a party to the contracts and handles no money.",
        ],
    ),
}


def render_criteria_page(lang: str) -> str:
    lang = lang if lang in LANGS else "ja"
    title, items = CRITERIA[lang]
    body = f"""  <h1 style="font-size:1.4rem">{escape(title)}</h1>
  <section class="card"><ol id="criteria">{"".join(f"<li>{escape(i)}</li>" for i in items)}</ol>
  </section>
  <footer><a href="{_with_lang("/verify", lang)}">{tr("lookup", lang)}</a></footer>"""
    return layout(title, body, lang, _switch("/criteria", lang))


F: dict[str, tuple[str, str]] = {
    "title": ("音声ファイルの確認結果", "Audio file check"),
    "c2pa": ("C2PAマニフェスト", "C2PA manifest"),
    "intact": (
        "改変なし：署名後に音声もマニフェストも変更されていません",
        "Intact: neither the audio nor the manifest changed since signing",
    ),
    "not_intact": ("改変あり", "Altered"),
    "absent": ("なし", "None found"),
    "signer": ("署名者（事業者の証明書）", "Signed by (the business's certificate)"),
    "trust": (
        "この証明書はAILASの信頼リストにはありません（事業者自身の証明書です）。",
        "This certificate is not on an AILAS trust list (it is the business's own).",
    ),
    "label_token": ("AILASラベルの署名", "AILAS label signature"),
    "live": ("ラベルの現在の状態", "The label's live status"),
    "issued_to": ("ラベルの発行先（事業者・AIシステム）", "Label issued to (business, AI system)"),
    "cawg": ("AI学習・データマイニングの可否（CAWG）", "AI training and data mining (CAWG)"),
    "cawg_registry": (
        "AILASに登録された実演家の現在の意思による",
        "as the performers' intents in force at AILAS state it",
    ),
    "cawg_file": (
        "ファイル内の記載（AILASで確認できていません）",
        "as the file states it (not checked against AILAS)",
    ),
    "overstated": (
        "ファイルの記載はこれより広い利用を認めています",
        "the file claims more than this",
    ),
    "open_label": ("ラベルのページを開く", "Open the label's page"),
    "again": ("別のファイルを確認する", "Check another file"),
}
CAWG_WORDS = {
    "allowed": ("許可", "allowed"),
    "constrained": ("要契約", "needs a contract"),
    "notAllowed": ("不許可", "not allowed"),
}


def _f(key: str, lang: str) -> str:
    ja, en = F[key]
    return en if lang == "en" else ja


def render_file_page(check: Any, lang: str = "ja", *, filename: str = "") -> str:
    """``check`` is a :class:`shared.formats.provenance.FileCheck`."""
    lang = lang if lang in LANGS else "ja"
    status = "valid" if check.ok else (check.live or {}).get("status") or "unknown"
    if check.verdict in ("tampered", "bad_token", "no_manifest", "no_label"):
        status = "revoked" if check.verdict in ("tampered", "bad_token") else "unknown"
    elif check.verdict == "consent_overstated":
        status = "suspended"  # the label holds; what the file says of consent does not
    s = STATUS.get(status, STATUS["unknown"])
    message = check.message_en if lang == "en" else check.message_ja
    live = check.live or {}
    body = f"""  <h1 style="font-size:1.4rem">{_f("title", lang)}</h1>
  <p><code>{escape(filename)}</code> ({escape(check.manifest.format)})</p>
  <section class="status" id="status" data-verdict="{escape(check.verdict)}"
    style="background: {s.colour}" role="status">
    <div class="word" style="font-size: 1.5rem">{escape(message)}</div>
  </section>
  <section class="card"><dl>
    <dt>{_f("c2pa", lang)}</dt><dd>{_c2pa_line(check.manifest, lang)}</dd>
    <dt>{_f("signer", lang)}</dt><dd>{_signer_line(check.manifest, lang)}</dd>
    <dt>{_f("label_token", lang)}</dt><dd>{_token_line(check, lang)}</dd>
    <dt>{_f("live", lang)}</dt><dd>{_live_line(live.get("status"), lang)}</dd>
    <dt>{_f("issued_to", lang)}</dt>
    <dd id="issued-to">{escape(str(live.get("business") or "—"))} · {
        escape(str(live.get("ai_system") or "—"))
    }</dd>
    <dt>{_f("cawg", lang)}</dt><dd>{_cawg_source(check, lang)}<ul id="cawg">{
        _cawg_items(check.cawg, lang, check.overstated) or "—"
    }</ul></dd>
  </dl>{_label_link(check, lang)}</section>
  <footer><a href="{_with_lang("/verify", lang)}">{_f("again", lang)}</a></footer>"""
    return layout(_f("title", lang), body, lang, _switch("/verify", lang))


def _c2pa_line(manifest: Any, lang: str) -> str:
    if not manifest.found:
        return f'<span class="bad">{_f("absent", lang)}</span>'
    if manifest.intact:
        return f'<span class="ok" id="c2pa-state">✔ {_f("intact", lang)}</span>'
    codes = ", ".join(escape(f["code"]) for f in manifest.failures)
    return f'<span class="bad" id="c2pa-state">✘ {_f("not_intact", lang)}: {codes}</span>'


def _signer_line(manifest: Any, lang: str) -> str:
    signer = manifest.signer or {}
    if not signer:
        return "—"
    trust = "" if manifest.trusted else f"<br><small>{_f('trust', lang)}</small>"
    return (
        f"{escape(str(signer.get('common_name', '')))} / {escape(str(signer.get('issuer', '')))} "
        f"({escape(str(signer.get('alg', '')))})" + trust
    )


def _token_line(check: Any, lang: str) -> str:
    if check.token_valid:
        return (
            f'<span class="ok">✔ {tr("sig_ok", lang)}</span> <code>{escape(check.kid or "")}</code>'
        )
    if check.token_valid is False or check.token_error:
        return f'<span class="bad">✘ {escape(check.token_error or "")}</span>'
    return "—"


def _live_line(live_status: Any, lang: str) -> str:
    if live_status not in STATUS:
        return "—"
    return f'<span id="live-status">{escape(_status_word(live_status, lang))}</span>'


def _cawg_source(check: Any, lang: str) -> str:
    if check.cawg_source not in ("registry", "file"):
        return ""
    return f"<small>{_f('cawg_' + check.cawg_source, lang)}</small>"


def _cawg_items(cawg: Any, lang: str, overstated: list[str] | tuple[str, ...] = ()) -> str:
    entries = ((cawg or {}).get("entries") or {}) if isinstance(cawg, dict) else {}
    side = 1 if lang == "en" else 0
    return "".join(
        f"<li><code>{escape(name)}</code>: {escape(_cawg_word(v.get('use'), side))}"
        + (f' <span class="bad">✘ {_f("overstated", lang)}</span>' if name in overstated else "")
        + "</li>"
        for name, v in entries.items()
        if isinstance(v, dict)
    )


def _cawg_word(use: Any, side: int) -> str:
    word = str(use)
    return CAWG_WORDS.get(word, (word, word))[side]


def _label_link(check: Any, lang: str) -> str:
    """Only a number the token vouches for becomes a link (the manifest's text is the
    uploader's)."""
    vouched = (check.claims or {}).get("label_no") if check.token_valid else None
    if not isinstance(vouched, str) or check.verdict == "tampered":
        return ""
    return (
        f'<p><a href="{escape(_with_lang("/verify/" + vouched, lang))}" id="label-link">'
        f"{_f('open_label', lang)} <code>{escape(vouched)}</code></a></p>"
    )


def render_form_error(lang: str, limit_mb: int, message: str) -> str:
    lang = lang if lang in LANGS else "ja"
    body = f"""  <h1 style="font-size:1.4rem">{tr("file_check", lang)}</h1>
  <section class="card reasons" id="error" role="alert"><p>{escape(message)}</p></section>
{file_form(lang, limit_mb)}"""
    return layout(tr("file_check", lang), body, lang, _switch("/verify", lang))


# What a person can do about the refusals a public page may meet before its handler runs (in
# English; their Japanese is the portal's, shared/portal/refusals.py).
PAGE_ERRORS = {
    "too_long": "What was typed is too long.",
    "invalid_character": "What was typed holds a bad character.",
    "validation_failed": "What was typed is not in the expected form.",
}


def render_error_page(lang: str, code: str, message: str) -> str:
    """A refusal on a public page, in the page's language, with the way back to the lookup."""
    lang = lang if lang in LANGS else "ja"
    if code in PAGE_ERRORS:
        ja, en = refusals.japanese(code) or code, PAGE_ERRORS[code]
    else:
        ja, en = "このページを表示できません。", message
    body = f"""  <h1 style="font-size:1.4rem">{tr("lookup", lang)}</h1>
  <section class="card reasons" id="error" role="alert" data-code="{escape(code)}">
    <p>{escape(en if lang == "en" else ja)}</p></section>
{lookup_form(lang)}"""
    return layout(tr("lookup", lang), body, lang, _switch("/verify", lang))
