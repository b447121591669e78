"""What a person checking a label needs, gathered in one place for the verify page, the badge and
the file check: is the typed number well formed, does the label exist, does its stored token's
signature verify against the published keys, since when does it have its status, and who issued
it. Pages render this; they decide nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from shared import ids
from shared.clock import parse_instant
from shared.formats import jws
from shared.labels import keyring, service
from shared.settings import get_settings

Lookup = Literal["found", "unknown", "malformed", "mistyped"]


@dataclass(frozen=True)
class Number:
    """A typed label number, classified before any lookup.

    ``mistyped``: the shape of a label number whose last (check) character does not match — a
    typo; ``malformed``: not a label number at all; ``ok``: ``canonical`` is set.
    """

    typed: str
    canonical: str | None
    problem: Literal["ok", "mistyped", "malformed"]


def classify(text: str) -> Number:
    canonical = ids.normalize(text, "label")
    if canonical:
        return Number(text, canonical, "ok")
    compact = re.sub(r"[\s-]", "", text.strip().upper())
    body = compact[1:9]
    shaped = (
        len(compact) == 10
        and compact[0] == ids.KINDS["label"]
        and all(c in ids.ALPHABET or c in "OIL" for c in body)
        and compact[9] in ids.CHECK_SYMBOLS
    )
    return Number(text, None, "mistyped" if shaped else "malformed")


@dataclass(frozen=True)
class Signature:
    checked: bool
    error: str | None
    kid: str | None
    alg: str | None


@dataclass(frozen=True)
class Issuer:
    name: str
    domain: str
    url: str


def issuer() -> Issuer:
    base = get_settings().public_base_url
    return Issuer("AILAS", urlsplit(base).netloc or base, base)


def check_signature(token: str) -> Signature:
    """The stored token against the published JWKS (as any third party would check it)."""
    try:
        head = jws.header(token)
    except jws.TokenError as error:
        return Signature(False, error.reason, None, None)
    try:
        jws.verify(token, keyring.jwks_for(token), check_expiry=False)
    except jws.TokenError as error:
        return Signature(False, error.reason, head.get("kid"), head.get("alg"))
    return Signature(True, None, head.get("kid"), head.get("alg"))


def since(label: dict[str, Any], status: str) -> str | None:
    """When the label entered its current status (the start of the last run of it)."""
    if status == "expired" and label["status"] != "expired":
        return label["expires_at"]  # reads report expiry before the schedule records it
    start = None
    for transition in label.get("transitions", []):
        if transition["status"] != status:
            start = None
        elif start is None:
            start = transition["at"]
    return start


@dataclass
class Verification:
    number: Number
    lookup: Lookup
    view: dict[str, Any] = field(default_factory=dict)
    signature: Signature | None = None
    since: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    issuer: Issuer = field(default_factory=issuer)

    @property
    def status(self) -> str:
        return self.view.get("status", "not_found") if self.lookup == "found" else self.lookup


def verify(text: str, at: str | None = None) -> Verification:
    number = classify(text)
    if number.canonical is None:
        return Verification(number, number.problem)  # type: ignore[arg-type]
    label = service.get(number.canonical)
    if label is None:
        return Verification(number, "unknown")
    moment = parse_instant(at) if at else None
    view = service.public_view(label, moment)
    return Verification(
        number,
        "found",
        view,
        check_signature(label["token"]),
        since(label, view["status"]),
        [{"at": t["at"], "status": t["status"]} for t in label.get("transitions", [])],
    )


def training_mining(label: dict[str, Any]) -> dict[str, Any]:
    """The ``cawg.training-mining`` assertion for audio made under this label: from the intents
    in force of the label's member performers (no intent: every use needs a contract)."""
    from shared.formats import provenance
    from shared.formats.uses import USE_CODES
    from shared.intents import service as intents

    base = get_settings().public_base_url
    views, urls = [], []
    for performer_id in label.get("performers", []):
        record = intents.current(performer_id)
        views.append(
            intents.view(record)
            if record
            else {
                "performer_id": performer_id,
                "version": 0,
                "effective_at": None,
                "uses": dict.fromkeys(USE_CODES, "contract"),
                "commercial": "contract",
            }
        )
        urls.append(f"{base}/v1/performers/{performer_id}/intent")
    return provenance.merged_cawg(views, urls)
