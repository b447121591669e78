"""Labels inside the audio: an AILAS label carried in AI-generated audio as a C2PA manifest,
read and judged with the reference implementation's own reader (``c2pa-python``).

The manifest a business writes (``ailas label-file``) holds an ``ailas.label`` assertion
(``label_no``, ``token``, ``verify_url``) and a CAWG ``cawg.training-mining`` assertion made from
the consent of the performers behind the label, and is signed with the business's own
certificate. A check answers three separate questions, like a W3C VC verifier: is the C2PA
manifest intact and signed (the audio unchanged since), does the label token verify against
AILAS's published keys, and what is the label's live status. Importable without AWS: the CLI
and the API share it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, BinaryIO

from . import jws
from .cawg import CAWG_MAPPING, cawg

LABEL_ASSERTION = "ailas.label"
CAWG_ASSERTION = "cawg.training-mining"
# IPTC digital source type for media made by a trained model.
AI_SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
FORMATS = {"audio/wav": "WAV", "audio/mpeg": "MP3"}
# Validation codes that say nothing about integrity: an unlisted signer, skipped OCSP.
NOT_INTEGRITY = ("signingCredential.untrusted", "signingCredential.ocsp")
CAWG_ORDER = ("allowed", "constrained", "notAllowed")

VERDICTS: dict[str, tuple[str, str]] = {
    "ok": ("有効なAILASラベルが付いています。", "A valid AILAS label is attached."),
    "no_manifest": (
        "このファイルにはC2PAマニフェストがありません。",
        "This file carries no C2PA manifest.",
    ),
    "tampered": (
        "署名後にファイルが変更されています（音声またはマニフェストが改変されました）。",
        "The file was changed after it was signed (its audio or manifest was altered).",
    ),
    "no_label": (
        "C2PAマニフェストはありますが、AILASラベルが含まれていません。",
        "The C2PA manifest holds no AILAS label.",
    ),
    "bad_token": (
        "ラベルの署名をAILASの公開鍵で検証できません。",
        "The label's signature does not verify with AILAS's published keys.",
    ),
    "unknown_label": (
        "このラベルはAILASに登録されていません。",
        "AILAS has no such label.",
    ),
    "consent_overstated": (
        "ラベルは有効ですが、ファイル内のAI学習・利用の可否（CAWG）が、実演家の現在の意思より"
        "広い利用を認めています。",
        "The label is valid, but the file's AI training and mining statement (CAWG) allows more "
        "than the performers' intents in force.",
    ),
    "suspended": ("ラベルは一時停止中です。", "The label is suspended."),
    "revoked": ("ラベルは取り消されています。", "The label is revoked."),
    "expired": ("ラベルは期限切れです。", "The label has expired."),
    "pending_review": ("ラベルは審査中です。", "The label is under review."),
}


class Unsupported(ValueError):
    """Not a format this check reads (WAV and MP3)."""


def sniff(head: bytes) -> str:
    """The MIME type from the first bytes: WAV (RIFF/WAVE) or MP3 (ID3 tag or frame sync)."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    raise Unsupported("Only WAV and MP3 files can be checked.")


# --- the assertions a business embeds ---------------------------------------------------------


def label_assertion(label_no: str, token: str, verify_url: str) -> dict[str, Any]:
    return {
        "label": LABEL_ASSERTION,
        "data": {"label_no": label_no, "token": token, "verify_url": verify_url},
    }


def merged_cawg(intents: list[dict[str, Any]], urls: list[str]) -> dict[str, Any]:
    """One ``cawg.training-mining`` assertion for audio made by an AI that learnt from several
    performers: each entry takes the most restrictive of their intents (exports.cawg's mapping);
    a performer without an intent counts as ``contract`` for every use."""
    entries: dict[str, dict[str, Any]] = {}
    for intent, url in zip(intents, urls, strict=True):
        for name, value in cawg(intent, url)["data"]["entries"].items():
            held = entries.get(name)
            if held is None or CAWG_ORDER.index(value["use"]) > CAWG_ORDER.index(held["use"]):
                entries[name] = dict(value)
            elif value["use"] == held["use"] == "constrained":
                held["constraints_info"] += " | " + value["constraints_info"]
    for name in CAWG_MAPPING:
        entries.setdefault(
            name,
            {
                "use": "constrained",
                "constraints_info": "A contract confirmed through the AILAS Fair-Trade Voice "
                "Registry is required.",
            },
        )
    return {"label": CAWG_ASSERTION, "data": {"entries": entries}}


def manifest_definition(title: str, assertions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "claim_generator_info": [{"name": "ailas", "version": "0.1.0"}],
        "title": title,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": AI_SOURCE}]},
            },
            *assertions,
        ],
    }


# --- reading ------------------------------------------------------------------------------------


@dataclass
class Manifest:
    """What the C2PA reader found in a file."""

    format: str
    found: bool
    state: str | None = None  # Valid, Trusted or Invalid (the library's validation_state)
    failures: list[dict[str, str]] = field(default_factory=list)
    trusted: bool = False
    signer: dict[str, Any] | None = None
    assertions: dict[str, Any] = field(default_factory=dict)

    @property
    def intact(self) -> bool:
        return self.found and self.state in ("Valid", "Trusted") and not self.failures


def read(stream: BinaryIO, mime: str, trust_anchors: str | None = None) -> Manifest:
    """Read and validate the manifest with c2pa's Reader; ``trust_anchors`` (PEM) makes a signer
    chaining to them "Trusted"."""
    import c2pa  # a 23 MB native library: loaded only where files are checked

    context = None
    if trust_anchors:
        context = c2pa.Context.from_dict(
            {"verify": {"verify_trust": True}, "trust": {"trust_anchors": trust_anchors}}
        )
    try:
        reader = c2pa.Reader(mime, stream, context=context)
    except c2pa.C2paError.ManifestNotFound:
        return Manifest(FORMATS.get(mime, mime), False)
    except c2pa.C2paError as error:
        # a manifest so damaged that it cannot be parsed is a tampered file, not a missing one
        return Manifest(
            FORMATS.get(mime, mime),
            True,
            "Invalid",
            [{"code": "manifest.unreadable", "explanation": str(error)[:300]}],
        )
    with reader:
        store = json.loads(reader.json())
        active = store.get("manifests", {}).get(store.get("active_manifest", ""), {})
        results = (store.get("validation_results") or {}).get("activeManifest") or {}
        state = store.get("validation_state")
    failures = [
        {"code": f["code"], "explanation": f.get("explanation", "")}
        for f in results.get("failure", [])
        if not f["code"].startswith(NOT_INTEGRITY)
    ]
    trusted = any(s["code"] == "signingCredential.trusted" for s in results.get("success", []))
    return Manifest(
        FORMATS.get(mime, mime),
        True,
        state,
        failures,
        trusted,
        active.get("signature_info"),
        {a["label"]: a.get("data") for a in active.get("assertions", [])},
    )


def read_bytes(data: bytes, trust_anchors: str | None = None) -> Manifest:
    return read(io.BytesIO(data), sniff(data[:16]), trust_anchors)


# --- judging ------------------------------------------------------------------------------------


@dataclass
class FileCheck:
    verdict: str
    message_ja: str
    message_en: str
    manifest: Manifest
    label_no: str | None = None
    verify_url: str | None = None  # the registry's address for the label (never the file's)
    file_verify_url: str | None = None  # what the file says: anyone can write one in
    token_valid: bool | None = None
    token_error: str | None = None
    kid: str | None = None
    claims: dict[str, Any] | None = None
    live: dict[str, Any] | None = None
    cawg: dict[str, Any] | None = None  # the registry's statement when known, else the file's
    cawg_source: str | None = None  # "registry" or "file"
    overstated: list[str] = field(default_factory=list)  # entries the file allows beyond it

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        out["manifest"]["intact"] = self.manifest.intact
        return out


def overstated(in_file: Any, registry: dict[str, Any]) -> list[str]:
    """The CAWG entries a file's assertion makes more permissive than the registry's (the
    performers' intents in force), or leaves out: anyone can write a CAWG assertion into a file
    they sign, so the registry's is the one that counts."""
    entries = (in_file or {}).get("entries") if isinstance(in_file, dict) else None
    entries = entries if isinstance(entries, dict) else {}
    found = []
    for name, value in sorted((registry.get("entries") or {}).items()):
        claimed = entries.get(name)
        use = claimed.get("use") if isinstance(claimed, dict) else None
        if use not in CAWG_ORDER or CAWG_ORDER.index(use) < CAWG_ORDER.index(value["use"]):
            found.append(name)
    return found


def token_of(manifest: Manifest) -> str | None:
    """The label token a file's manifest carries, if any (to pick the keys to check it with)."""
    label = manifest.assertions.get(LABEL_ASSERTION) if manifest.found else None
    token = label.get("token") if isinstance(label, dict) else None
    return token if isinstance(token, str) else None


def judge(
    manifest: Manifest,
    jwks: dict[str, Any],
    live_status: Callable[[str], dict[str, Any] | None],
    consent: Callable[[str], dict[str, Any] | None] | None = None,
) -> FileCheck:
    """The checks, in order; the verdict is the first that fails. ``live_status`` asks the
    registry for a label's public view (None: no such label); ``consent`` for the label's
    ``cawg.training-mining`` data as the registry states it now, which replaces the file's."""

    def done(verdict: str, **kw: Any) -> FileCheck:
        ja, en = VERDICTS[verdict]
        return FileCheck(verdict, ja, en, manifest, **kw)

    if not manifest.found:
        return done("no_manifest")
    label = manifest.assertions.get(LABEL_ASSERTION)
    cawg_data = manifest.assertions.get(CAWG_ASSERTION)
    found: dict[str, Any] = {"cawg": cawg_data, "cawg_source": "file" if cawg_data else None}
    if isinstance(label, dict):
        found |= {"label_no": label.get("label_no"), "file_verify_url": label.get("verify_url")}
    if not manifest.intact:
        return done("tampered", **found)
    if not isinstance(label, dict) or not isinstance(label.get("token"), str):
        return done("no_label", **found)
    try:
        claims = jws.verify(label["token"], jwks, check_expiry=False)
        kid = jws.header(label["token"]).get("kid")
    except jws.TokenError as error:
        return done("bad_token", token_valid=False, token_error=error.reason, **found)
    found |= {"token_valid": True, "kid": kid, "claims": claims}
    if claims.get("label_no") != label.get("label_no"):
        return done("bad_token", token_error="label_no_mismatch", **found)  # noqa: S106
    view = live_status(claims["label_no"])
    if view is None:
        return done("unknown_label", **found)
    found["verify_url"] = view.get("verify_url")
    if view.get("token") not in (None, label["token"]):
        # signed by the registry, but not the token it issued for this label
        return done("bad_token", token_error="not_the_issued_token", **found)  # noqa: S106
    live = _live(view)
    stated = consent(claims["label_no"]) if consent and live["status"] == "valid" else None
    return _by_live_status(live, cawg_data, stated, found, done)


def _by_live_status(
    live: dict[str, Any],
    cawg_data: Any,
    stated: dict[str, Any] | None,
    found: dict[str, Any],
    done: Callable[..., FileCheck],
) -> FileCheck:
    """The verdict of a genuine token: the label's status now, then what the file overstates."""
    if live["status"] != "valid":
        verdict = live["status"] if live["status"] in VERDICTS else "unknown_label"
        return done(verdict, live=live, **found)
    found |= _registry_consent(cawg_data, stated)
    return done("consent_overstated" if found.get("overstated") else "ok", live=live, **found)


def _registry_consent(in_file: Any, stated: dict[str, Any] | None) -> dict[str, Any]:
    """The registry's consent statement in place of the file's, and what the file overstates."""
    if stated is None:
        return {}
    extra = overstated(in_file, stated) if in_file is not None else []
    return {"cawg": stated, "cawg_source": "registry", "overstated": extra}


def _live(view: dict[str, Any]) -> dict[str, Any]:
    """The label's live status, and who it was issued to: shown beside who signed the file, as
    nothing binds the two yet (a person compares them)."""
    return {
        "status": view["status"],
        "reasons": view.get("reasons", []),
        "business": (view.get("business") or {}).get("display_name"),
        "ai_system": (view.get("ai_system") or {}).get("name"),
    }
