"""`ailas log verify`: mirror the registry's public transparency log into a local file and verify
it — every hash and link, every signed checkpoint (offline, from the JWKS) — and on later runs only
what is new, against what the mirror kept. A rewritten or forked history is reported, never
re-trusted: the mirror only grows when everything verified.

The mirror is JSON Lines: a header line, then one ``{"entry": …}`` or ``{"checkpoint": …}`` per
line, appended in order. No boto3 here: the hashing rule is ``ailas.formats.canonical``, the
checks are ``ailas.formats.logchain``: the registry's own ``verify-audit`` runs the same files.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ailas.formats import canonical, logchain

FORMAT = "ailas-log-mirror/1"
CHAIN = canonical.PUBLIC
PAGE = 200


class Source(Protocol):
    """Anything that GETs a path of the registry's API and returns the JSON (ailas.api.Client)."""

    def get(self, path: str) -> Any: ...


class MirrorError(Exception):
    pass


def default_mirror(api: str) -> Path:
    """One mirror per registry, under $XDG_DATA_HOME (~/.local/share)/ailas."""
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    slug = re.sub(r"[^A-Za-z0-9]+", "-", api.split("://", 1)[-1]).strip("-")
    return base / "ailas" / f"log-{slug}.jsonl"


@dataclass
class Mirror:
    path: Path
    api: str
    entries: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: dict[int, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, api: str) -> Mirror:
        mirror = cls(path, api)
        if not path.exists():
            return mirror
        lines = path.read_text(encoding="utf-8").splitlines()
        try:
            header = json.loads(lines[0]) if lines else {}
            records = [json.loads(line) for line in lines[1:] if line.strip()]
        except ValueError as error:
            raise MirrorError(f"{path} is not a log mirror: {error}") from None
        if header.get("format") != FORMAT:
            raise MirrorError(f"{path} is not a log mirror ({FORMAT})")
        if header.get("api") != api:
            raise MirrorError(
                f"{path} mirrors {header.get('api')}, not {api}: use another --mirror file"
            )
        for record in records:
            if "entry" in record:
                entry = record["entry"]
                if entry.get("seq") != len(mirror.entries) + 1:
                    raise MirrorError(f"{path} is damaged: entry {entry.get('seq')} out of order")
                mirror.entries.append(entry)
            elif "checkpoint" in record:
                mirror.checkpoints[record["checkpoint"]["size"]] = record["checkpoint"]
        return mirror

    def append(self, entries: list[dict[str, Any]], checkpoints: list[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists()
        with open(self.path, "a", encoding="utf-8") as out:
            if new:
                out.write(json.dumps({"format": FORMAT, "api": self.api, "chain": CHAIN}) + "\n")
            for entry in entries:
                out.write(json.dumps({"entry": entry}, ensure_ascii=False) + "\n")
            for checkpoint in checkpoints:
                out.write(json.dumps({"checkpoint": checkpoint}, ensure_ascii=False) + "\n")
        self.entries += entries
        self.checkpoints.update({c["size"]: c for c in checkpoints})


@dataclass
class Report:
    api: str
    mirror: Path
    held: int
    size: int
    new_entries: int
    new_checkpoints: int
    checkpoints: int
    latest: dict[str, Any] | None
    problems: list[logchain.Problem]

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "api": self.api,
            "mirror": str(self.mirror),
            "entries": self.size,
            "new_entries": self.new_entries,
            "checkpoints": self.checkpoints,
            "new_checkpoints": self.new_checkpoints,
            "latest_checkpoint": self.latest,
            "problems": [p.as_dict() for p in self.problems],
        }


def _problem(seq: int | None, reason: str, detail: str) -> logchain.Problem:
    return logchain.Problem(CHAIN, seq, reason, detail)


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return canonical.dumps(a) == canonical.dumps(b)


def _new_checkpoints(
    source: Source, mirror: Mirror, problems: list[logchain.Problem]
) -> list[dict[str, Any]]:
    """Checkpoints newer than the newest the mirror holds (newest first, pages until a held one).
    A held size signed again with other content is a fork."""
    new: list[dict[str, Any]] = []
    before: str | None = None
    while True:
        query = f"/v1/log/checkpoints?chain={CHAIN}&limit={PAGE}"
        page = source.get(query + (f"&before={before}" if before else ""))
        for checkpoint in page.get("checkpoints", []):
            held = mirror.checkpoints.get(checkpoint.get("size"))
            if held is not None:
                if not _same(held, checkpoint):
                    problems.append(
                        _problem(
                            held["size"],
                            "rewritten",
                            f"the registry now serves another checkpoint for size {held['size']}"
                            f" than the one mirrored (signed at {held['at']}): a forked history",
                        )
                    )
                return new
            new.append(checkpoint)
        before = page.get("next")
        if not before:
            return new


def verify(
    source: Source, mirror_path: Path, api: str, jwks: dict[str, Any] | None = None
) -> Report:
    """Fetch what is new, verify it against the mirror, and append it only if all is well."""
    mirror = Mirror.load(mirror_path, api)
    jwks = jwks if jwks is not None else source.get("/.well-known/jwks.json")
    problems: list[logchain.Problem] = []
    # Checkpoints first: every one fetched is then covered by the entries fetched after it.
    fresh = _new_checkpoints(source, mirror, problems)
    held = len(mirror.entries)
    walker = logchain.Walker(
        CHAIN,
        prev_hash=mirror.entries[-1]["hash"] if held else canonical.GENESIS,
        next_seq=held + 1,
        prev_prev_hash=mirror.entries[-2]["hash"] if held > 1 else None,
        keep={c["size"] for c in fresh if isinstance(c.get("size"), int)},
    )
    new_entries: list[dict[str, Any]] = []
    after, head, overlap_seen = max(held - 1, 0), None, False
    while True:
        page = source.get(f"/v1/log?after={after}&limit={PAGE}")
        head = head or page.get("head")
        for entry in page.get("entries", []):
            if held and entry.get("seq") == held and not overlap_seen:
                overlap_seen = True
                if not _same(entry, mirror.entries[-1]):
                    problems.append(
                        _problem(
                            held,
                            "rewritten",
                            "the registry serves it differently from the mirrored copy: "
                            "its history was rewritten (a fork)",
                        )
                    )
                continue
            walker.add(entry)
            new_entries.append(entry)
        if not page.get("next"):
            break
        after = page["next"]
    if held and not overlap_seen:
        served = head["seq"] if head else 0
        problems.append(
            _problem(
                served + 1,
                "truncated",
                f"the registry's log ends at entry {served}; the mirror holds {held} entries: "
                "the head no longer extends the mirror",
            )
        )
    hashes = {e["seq"]: e["hash"] for e in mirror.entries} | walker.hashes
    size = walker.size
    checked, good = logchain.check_checkpoints(CHAIN, fresh, hashes, size, jwks)
    problems += walker.problems + checked
    if not problems:
        mirror.append(new_entries, sorted((dict(c) for c in good), key=lambda c: c["size"]))
    known = list(mirror.checkpoints.values()) if not problems else [dict(c) for c in good]
    latest = max(known, key=lambda c: c["size"]) if known else None
    return Report(
        api=api,
        mirror=mirror_path,
        held=held,
        size=size,
        new_entries=len(new_entries),
        new_checkpoints=len(good),
        checkpoints=len(mirror.checkpoints),
        latest=latest,
        problems=problems,
    )
