"""The verification page people reach by scanning a label (GET /verify/{label_no}): Japanese and
English side by side, the status in colour and in words, no external assets, no script."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any

JST = timezone(timedelta(hours=9), "JST")

STATUS: dict[str, tuple[str, str, str, str]] = {
    # status: (Japanese, English, colour, explanation)
    "valid": (
        "有効",
        "Valid",
        "#1a7f37",
        "このAIは、登録された声の実演家の意思と契約に沿って認証されています。 / "
        "This AI system is certified: every registered voice it uses is covered by its "
        "performers' consent or a confirmed contract.",
    ),
    "suspended": (
        "一時停止",
        "Suspended",
        "#b35900",
        "前提となる同意・契約が現在満たされていません。 / "
        "A consent or contract this label relies on does not hold at the moment.",
    ),
    "revoked": (
        "取消",
        "Revoked",
        "#b42318",
        "このラベルは協会により取り消されました。 / The association revoked this label.",
    ),
    "expired": (
        "期限切れ",
        "Expired",
        "#57606a",
        "このラベルの有効期限は過ぎています。 / This label has expired.",
    ),
    "pending_review": (
        "審査中",
        "Under review",
        "#0a5bb5",
        "協会による確認待ちです。 / Awaiting the association's review.",
    ),
    "not_found": (
        "該当なし",
        "Not found",
        "#57606a",
        "このラベル番号は登録されていません。 / No label has this number.",
    ),
}


def _jst(value: str | None) -> str:
    if not value:
        return "—"
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(JST)
    return moment.strftime("%Y-%m-%d %H:%M JST")


def render_verify_page(view: dict[str, Any], *, checked_at: str) -> str:
    status = view.get("status", "not_found")
    ja, en, colour, explanation = STATUS.get(status, STATUS["not_found"])
    label_no = escape(str(view.get("label_no", "")))
    rows = ""
    if status != "not_found":
        ai = view.get("ai_system", {})
        business = view.get("business", {})
        credited = view.get("credits") or []
        rows = f"""
  <dl>
    <dt>AIシステム <span lang="en">AI system</span></dt>
    <dd>{escape(ai.get("name", ""))} <code>{escape(ai.get("ai_no", ""))}</code></dd>
    <dt>事業者 <span lang="en">Business</span></dt>
    <dd>{escape(business.get("display_name", ""))}</dd>
    <dt>利用 <span lang="en">Uses</span></dt>
    <dd>{escape(", ".join(view.get("uses", [])))}{
            " (商用 / commercial)" if view.get("commercial") else ""
        }</dd>
    <dt>実演家クレジット <span lang="en">Performers credited</span></dt>
    <dd>{escape("、".join(credited)) if credited else "—"}</dd>
    <dt>登録音声 <span lang="en">Registered voices</span></dt>
    <dd>{"".join(f"<code>{escape(v)}</code> " for v in view.get("voices", [])) or "—"}</dd>
    <dt>発行日 <span lang="en">Issued</span></dt><dd>{_jst(view.get("issued_at"))}</dd>
    <dt>有効期限 <span lang="en">Expires</span></dt><dd>{_jst(view.get("expires_at"))}</dd>
  </dl>"""
    reasons = view.get("reasons") or []
    reason_items = "".join(
        f'<li>{escape(r.get("message_ja", ""))} <span lang="en">'
        f"{escape(r.get('message_en', r.get('reason', '')))}</span>"
        + (f" <code>{escape(str(r['voice_no']))}</code>" if r.get("voice_no") else "")
        + (f" <code>{escape(str(r['use']))}</code>" if r.get("use") not in (None, "*") else "")
        + "</li>"
        for r in reasons
    )
    reasons_html = f'<ul class="reasons">{reason_items}</ul>' if reason_items else ""
    return f"""<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>AILAS ラベル {label_no} — {ja} / {en}</title>
<style>
  body {{ margin: 0; font: 16px/1.6 system-ui, -apple-system, "Hiragino Sans",
         "Hiragino Kaku Gothic ProN", "Noto Sans JP", "Yu Gothic", Meiryo, sans-serif;
         color: #1f2328; background: #f6f8fa; }}
  main {{ max-width: 36rem; margin: 0 auto; padding: 1rem; }}
  header {{ font-size: .9rem; color: #57606a; }}
  .status {{ background: {colour}; color: #fff; border-radius: 12px; padding: 1.25rem;
            margin: .75rem 0 1rem; }}
  .status .word {{ font-size: 2.2rem; font-weight: 700; line-height: 1.2; }}
  .status p {{ margin: .5rem 0 0; }}
  dl {{ background: #fff; border-radius: 12px; padding: .75rem 1rem; margin: 0; }}
  dt {{ font-size: .8rem; color: #57606a; margin-top: .6rem; }}
  dd {{ margin: 0; overflow-wrap: anywhere; }}
  code {{ font: .9rem ui-monospace, Menlo, monospace; }}
  .reasons {{ background: #fff8c5; border-radius: 8px; padding: .75rem 1rem .75rem 2rem; }}
  footer {{ font-size: .8rem; color: #57606a; margin-top: 1rem; }}
  a {{ color: #0a5bb5; }}
</style>
</head>
<body>
<main>
  <header>AILAS フェアトレード音声レジストリ · <span lang="en">Fair-Trade Voice Registry</span>
    <br>ラベル番号 <span lang="en">Label</span> <code>{label_no}</code></header>
  <section class="status" role="status" aria-live="polite">
    <div class="word">{ja} <span lang="en">/ {en}</span></div>
    <p>{escape(explanation)}</p>
  </section>
  {reasons_html}
  {rows}
  <footer>確認日時 <span lang="en">Checked</span> {_jst(checked_at)} ·
    <a href="/v1/labels/{label_no}">JSON</a> ·
    <a href="/v1/labels/{label_no}/badge.svg">badge</a> ·
    <a href="/.well-known/jwks.json">keys</a></footer>
</main>
</body>
</html>
"""
