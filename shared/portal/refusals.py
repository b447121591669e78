"""The domain's refusals as the Japanese pages (the portal, the public verify page) say them.
The domain raises each with a stable code and an English sentence (the API's contract); a
performer reading the portal in Japanese gets the sentence for the code, with the English (which
may name a record) beside it. A code not listed here keeps its English."""

from __future__ import annotations

JAPANESE: dict[str, str] = {
    "not_found": "お探しのページや記録は見つかりませんでした。",
    "member_not_found": "その会員は見つかりませんでした。",
    "voice_not_found": "その音声は見つかりませんでした。",
    "ai_system_not_found": "そのAIシステムは見つかりませんでした。",
    "audit_not_found": "その監査は見つかりませんでした。",
    "forbidden_role": "この操作は、あなたの会員種別ではできません。",
    "not_owner": "この記録はあなたのものではありません。",
    "not_a_party": "この契約の当事者ではありません。",
    "not_agent": "この実演家の意思表示を登録できるのは、本人か、本人が認めた事務所だけです。",
    "not_a_performer": "その会員は実演家ではありません。",
    "not_a_rights_holder": "その会員は権利者（事務所）ではありません。",
    "unknown_performer": (
        "実演家として登録された会員ではありません。会員でない実演家は氏名で入力してください。"
    ),
    "no_performer": "実演家を一人以上入力してください（会員番号または氏名）。",
    "voice_not_registered": "登録が完了していない音声が含まれています。",
    "already_agent": "その事務所はすでに認められています。",
    "already_confirmed": "この契約はすでに確認済みです。",
    "already_decided": "この件はすでに決定済みです。",
    "being_decided": (
        "別の運営担当者がこの競合を判断しているところです。ページを読み込み直してください。"
    ),
    "not_in_conflict": "この音声は競合中ではありません（すでに判断されています）。",
    "label_exists": "このAIシステムには有効なラベルがすでにあります。",
    "invalid_transition": "今の状態では、この操作はできません。",
    "concurrent_write": (
        "同時に別の変更がありました。ページを読み込み直してから、もう一度お試しください。"
    ),
    "busy": "混み合っています。少し待ってから、もう一度お試しください。",
    "is_operator": "運営の会員は運営用のコマンドで管理します。",
    "email_taken": "このメールアドレスはすでに会員が使っています。",
    "too_large": "ファイルが大きすぎます。",
    "body_too_large": "送信された内容が大きすぎます。",
    "too_long": "入力が長すぎます。",
    "invalid_character": "使えない文字が含まれています。",
    "validation_failed": "入力の形式が違います。",
    "unknown_use": "知らない利用区分が含まれています。",
}


def japanese(code: str) -> str | None:
    return JAPANESE.get(code)


# Why an upload (a voice, a trace, a screen) was not taken, as a holder reads it in the list
# (short) and on the voice's page (with the English detail, which names times and sizes).
UPLOAD_REJECTIONS: dict[str, tuple[str, str]] = {
    "unsupported_format": (
        "読めない形式",
        "この形式のファイルは登録できません（WAV・FLAC・OGG・Opus・MP3）。",
    ),
    "corrupt_audio": ("壊れたファイル", "ファイルが途中で切れているか、壊れています。"),
    "empty": ("空のファイル", "ファイルに音声が入っていません。"),
    "no_speech": ("声が足りない", "声の部分が短すぎるか、ありません（2秒以上の声が必要です）。"),
    "constant_signal": ("音ではない", "一定の値（直流）だけで、音が入っていません。"),
    "pure_tone": ("声ではない", "単一の音（純音）だけで、声ではありません。"),
    "too_long": ("長すぎる", "録音が長すぎます（3時間まで）。"),
    "too_complex": ("大きすぎる", "チャンネル数やサンプリング周波数が大きすぎます。"),
    "no_fingerprint": ("指紋が作れない", "指紋（特徴情報）を作れる音がありませんでした。"),
    "size_mismatch": ("サイズ違い", "申告したサイズと、送られたファイルのサイズが違います。"),
    "duplicate": ("登録済みと同じ", "同じ録音がすでに登録されています。"),
    "conflict_lost": ("競合で却下", "別の権利者の録音として運営が判断しました。"),
    "upload_replaced": (
        "差し替えられた",
        "処理中に別のファイルが送られました。もう一度登録してください。",
    ),
    "internal_error": (
        "登録側の問題",
        "協会側の問題で処理できませんでした。もう一度お試しください。",
    ),
}
