"""Checking a hash chain and its signed checkpoints, reporting every problem (not the first).

Pure (no boto3): the registry's ``python -m infra.ops verify-audit`` feeds it entries read from
DynamoDB, the ``ailas log verify`` client feeds it entries mirrored over HTTP. One implementation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import jws
from .canonical import GENESIS, entry_hash

CHECKPOINT_KIND = "ailas-log-checkpoint"
CHECKPOINT_FIELDS = ("chain", "size", "head_hash", "at")


@dataclass(frozen=True)
class Problem:
    """One broken thing. ``reason`` is a short code: content_changed, link_broken, missing,
    inserted, truncated, rewritten, bad_checkpoint, malformed."""

    chain: str
    seq: int | None
    reason: str
    detail: str

    def __str__(self) -> str:
        where = f"entry {self.seq}" if self.seq is not None else "chain"
        return f"{self.chain} {where}: {self.reason.replace('_', ' ')} — {self.detail}"

    def as_dict(self) -> dict[str, Any]:
        return {"chain": self.chain, "seq": self.seq, "reason": self.reason, "detail": self.detail}


@dataclass
class Walker:
    """Feed a chain's entries in stored order with :meth:`add`; every problem is collected.

    Start at the genesis, or after entries already verified (``prev_hash``, ``next_seq`` and the
    hash of the entry before that, ``prev_prev_hash``). ``keep`` names the sizes whose head hash
    must be remembered (the checkpoints' sizes).
    """

    chain: str
    prev_hash: str = GENESIS
    next_seq: int = 1
    prev_prev_hash: str | None = None
    keep: set[int] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)
    hashes: dict[int, str] = field(default_factory=dict)
    checked: int = 0

    @property
    def size(self) -> int:
        return self.next_seq - 1

    def _problem(self, seq: int | None, reason: str, detail: str) -> None:
        self.problems.append(Problem(self.chain, seq, reason, detail))

    def add(self, entry: Mapping[str, Any]) -> None:
        self.checked += 1
        seq, stored = entry.get("seq"), entry.get("hash")
        if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(stored, str):
            self._problem(None, "malformed", f"an entry without a sequence number or hash: {entry}")
            return
        try:
            recomputed = entry_hash({**entry, "chain": self.chain})
        except (TypeError, ValueError) as error:
            recomputed = f"unhashable: {error}"
        if recomputed != stored:
            self._problem(seq, "content_changed", "its fields no longer match its hash")
        if "sk" in entry and entry["sk"] != f"{seq:012d}":
            self._problem(seq, "inserted", f"stored under key {entry['sk']!r}, not its number")
            return
        if seq < self.next_seq:
            self._problem(seq, "inserted", f"numbered {seq} after entry {self.size}")
            return
        if seq > self.next_seq:
            gap = (
                f"entry {self.next_seq} is"
                if seq == self.next_seq + 1
                else f"entries {self.next_seq}–{seq - 1} are"
            )
            self._problem(seq, "missing", f"{gap} missing before it")
        elif entry.get("prev_hash") != self.prev_hash:
            if self.prev_prev_hash is not None and entry.get("prev_hash") == self.prev_prev_hash:
                self._problem(
                    seq - 1, "inserted", f"entry {seq} links to entry {seq - 2}, not to this one"
                )
            else:
                self._problem(seq, "link_broken", "prev_hash is not the previous entry's hash")
        self.prev_prev_hash, self.prev_hash, self.next_seq = self.prev_hash, stored, seq + 1
        if seq in self.keep:
            self.hashes[seq] = stored

    def add_all(self, entries: Iterable[Mapping[str, Any]]) -> Walker:
        for entry in entries:
            self.add(entry)
        return self


class CheckpointError(Exception):
    pass


def checkpoint_claims(checkpoint: Mapping[str, Any], jwks: Mapping[str, Any]) -> dict[str, Any]:
    """The signed claims of a served checkpoint; raises :class:`CheckpointError` unless its JWS
    verifies with a key of ``jwks`` and says exactly what the checkpoint's fields say."""
    token = checkpoint.get("jws")
    if not isinstance(token, str):
        raise CheckpointError("it carries no JWS")
    try:
        claims = jws.verify(token, dict(jwks), check_expiry=False, typ=jws.CHECKPOINT_TYP)
    except jws.TokenError as error:
        raise CheckpointError(f"its signature does not verify ({error.reason})") from None
    if claims.get("kind") != CHECKPOINT_KIND:
        raise CheckpointError("the JWS is not a checkpoint")
    differing = [k for k in CHECKPOINT_FIELDS if claims.get(k) != checkpoint.get(k)]
    if differing:
        raise CheckpointError(f"its fields differ from what was signed: {', '.join(differing)}")
    return claims


def check_checkpoints(
    chain: str,
    checkpoints: Iterable[Mapping[str, Any]],
    hashes: Mapping[int, str],
    size: int,
    jwks: Mapping[str, Any],
) -> tuple[list[Problem], list[Mapping[str, Any]]]:
    """Each checkpoint's signature, and the chain against it: the entry at the signed size must
    carry the signed head hash (else history was rewritten), and the chain must reach that size
    (else its tail was deleted). Returns the problems and the checkpoints that verified."""
    problems: list[Problem] = []
    good: list[Mapping[str, Any]] = []
    for checkpoint in checkpoints:
        try:
            checkpoint_claims(checkpoint, jwks)
        except CheckpointError as error:
            at = checkpoint.get("at")
            problems.append(
                Problem(chain, None, "bad_checkpoint", f"the checkpoint of {at}: {error}")
            )
            continue
        good.append(checkpoint)
    if good:
        latest = max(good, key=lambda c: c["size"])
        if latest["size"] > size:
            problems.append(
                Problem(
                    chain,
                    size + 1,
                    "truncated",
                    f"the chain ends at entry {size}; the checkpoint of {latest['at']} signed "
                    f"{latest['size']} entries",
                )
            )
    for checkpoint in good:
        signed_size = checkpoint["size"]
        if signed_size <= size and hashes.get(signed_size) != checkpoint["head_hash"]:
            problems.append(
                Problem(
                    chain,
                    signed_size,
                    "rewritten",
                    f"its hash is not the head hash signed in the checkpoint of "
                    f"{checkpoint['at']}: history up to it was rewritten",
                )
            )
    return problems, good
