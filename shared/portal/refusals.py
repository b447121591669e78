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
