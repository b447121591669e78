"""`ailas`: the command-line client of the AILAS Fair-Trade Voice Registry.

    ailas upload FILE --title T --performer-id M-… [--retain]     (rights holders)
    ailas trace FILE [--upload]                                   (members)
    ailas audit DIR --ai A-…  [--out audit] [--workers N]         (businesses)
    ailas verify TOKEN [--jwks FILE|URL] [--online]               (anyone, offline)
    ailas verify FILE [--trust-anchors CA.pem]                    (anyone: C2PA label in audio)
    ailas label-file IN --label L-… --cert C --key K -o OUT       (businesses)
    ailas dev-cert --org NAME [--out DIR]                         (a test CA and certificate)
    ailas log verify [--api URL] [--mirror FILE] [--jwks FILE|URL] (anyone)
    ailas screen FILE | DIR [--out report]                        (members)

The API and token come from --api/--token or AILAS_API/AILAS_TOKEN. --json prints JSON only.
"""

from __future__ import annotations

import json
import mimetypes
import re
import sys
import time
from pathlib import Path
from typing import Any

import click
import requests

from ailas import audit as dataset_audit
from ailas import dataset
from ailas.api import ApiError, Client, presigned_post

FINAL_VOICE = ("registered", "rejected", "conflict")
FINAL_TRACE = ("done", "failed")
SCREENED = ("tts", "voice_conversion", "singing")


class Context:
    def __init__(self, api: str | None, token: str | None, as_json: bool) -> None:
        self.client = Client(api, token)
        self.as_json = as_json

    def emit(self, data: Any, human: str) -> None:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2) if self.as_json else human)


def counted(n: int, one: str, many: str | None = None) -> str:
    """ "1 entry", "2 entries": the CLI's lines read as sentences."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def fail(error: ApiError) -> None:
    click.secho(f"error: {error.message} [{error.code}]", fg="red", err=True)
    if error.details:
        click.echo(json.dumps(error.details, ensure_ascii=False, indent=2), err=True)
    sys.exit(2 if error.status == 0 else 1)


@click.group()
@click.option(
    "--api",
    envvar="AILAS_API",
    help="Registry URL (default http://127.0.0.1:$PORT, or :8000 without PORT)",
)
@click.option("--token", envvar="AILAS_TOKEN", help="Your member token")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only (for scripts)")
@click.version_option(package_name="ailas", prog_name="ailas")
@click.pass_context
def main(ctx: click.Context, api: str | None, token: str | None, as_json: bool) -> None:
    """AILAS Fair-Trade Voice Registry client."""
    ctx.obj = Context(api, token, as_json)


AUDIO_TYPES = {
    ".wav": "audio/wav",
    ".wave": "audio/wav",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
}


def content_type_of(path: Path) -> str:
    guessed = mimetypes.guess_type(path.name)[0] or ""
    return AUDIO_TYPES.get(path.suffix.lower()) or (
        guessed if guessed.startswith("audio/") else "audio/x-unknown"
    )


def upload_with_progress(ctx: Context, upload: dict[str, Any], path: Path, ctype: str) -> None:
    from tqdm import tqdm

    with tqdm(
        total=path.stat().st_size,
        unit="B",
        unit_scale=True,
        desc=path.name,
        disable=ctx.as_json,
        file=sys.stderr,
    ) as bar:
        presigned_post(upload, path, ctype, bar.update)


def wait_for(ctx: Context, path: str, final: tuple[str, ...], timeout_s: float) -> dict:
    """Poll until the record is final: soon at first (a trace is done within a second of its
    upload), then backing off to once a second (a long registration)."""
    deadline, pause = time.monotonic() + timeout_s, 0.1
    while True:
        record = ctx.client.get(path)
        if record["status"] in final or time.monotonic() > deadline:
            return record
        time.sleep(pause)
        pause = min(1.0, pause * 1.5)


def check_locally(file: Path) -> None:
    """Decode FILE here with the registry's own checks before anything is registered: a file
    the registry would reject does not use up a voice number."""
    from ailas import audio

    try:
        audio.decode(str(file))
    except audio.AudioRejected as rejection:
        click.secho(
            f"error: {file.name}: {rejection.message} [{rejection.code}] (nothing registered)",
            fg="red",
            err=True,
        )
        sys.exit(1)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--title", required=True)
@click.option("--performer-id", "performer_ids", multiple=True, help="member id (repeatable)")
@click.option(
    "--performer-name",
    "performer_names",
    multiple=True,
    help="a performer who is not a member (repeatable)",
)
@click.option("--language", default="ja", show_default=True)
@click.option(
    "--holder-role",
    type=click.Choice(["performer", "agency", "producer", "other"]),
    default="agency",
    show_default=True,
)
@click.option(
    "--attest-performer-consent",
    is_flag=True,
    help="As rights holder, attest that the --performer-name performers (not members) consented",
)
@click.option(
    "--retain",
    is_flag=True,
    help="Keep the audio (encrypted); default: delete it once fingerprinted",
)
@click.option("--wait/--no-wait", default=True, show_default=True)
@click.pass_obj
def upload(
    ctx: Context,
    file: Path,
    title: str,
    performer_ids: tuple[str, ...],
    performer_names: tuple[str, ...],
    language: str,
    holder_role: str,
    attest_performer_consent: bool,
    retain: bool,
    wait: bool,
) -> None:
    """Register a voice: the rights sheet, then the audio (presigned POST)."""
    check_locally(file)
    ctype = content_type_of(file)
    try:
        created = ctx.client.post(
            "/v1/voices",
            {
                "title": title,
                "performer_ids": list(performer_ids),
                "performer_names": list(performer_names),
                "language": language,
                "rights": {
                    "holder_role": holder_role,
                    "performer_consent_attested": attest_performer_consent,
                },
                "retention": "retain" if retain else "delete_after_fingerprint",
                "file": {
                    "filename": file.name,
                    "size_bytes": file.stat().st_size,
                    "content_type": ctype,
                },
            },
        )
        upload_with_progress(ctx, created["upload"], file, ctype)
        voice = created
        if wait:
            voice = wait_for(ctx, f"/v1/voices/{created['voice_no']}", FINAL_VOICE, 600)
    except ApiError as error:
        fail(error)
        return
    status = voice["status"]
    human = f"{created['voice_no']}  {status}"
    if voice.get("error"):
        human += f"  {voice['error']['code']}: {voice['error']['message']}"
    if voice.get("audio"):
        human += f"  ({voice['audio']['duration_s']:.1f} s, {voice['audio']['format']})"
    ctx.emit(voice, human)
    if status in ("rejected", "conflict"):
        sys.exit(1)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--upload",
    "send_audio",
    is_flag=True,
    help="Send the audio to the registry instead of a fingerprint computed here",
)
@click.pass_obj
def trace(ctx: Context, file: Path, send_audio: bool) -> None:
    """Find registered voices in FILE (by default no audio leaves this machine)."""
    try:
        if send_audio:
            ctype = content_type_of(file)
            created = ctx.client.post(
                "/v1/traces",
                {
                    "file": {
                        "filename": file.name,
                        "size_bytes": file.stat().st_size,
                        "content_type": ctype,
                    }
                },
            )
            upload_with_progress(ctx, created["upload"], file, ctype)
            result = wait_for(ctx, f"/v1/traces/{created['trace_id']}", FINAL_TRACE, 600)
        else:
            result = dataset_audit.match_fingerprint(
                ctx.client, dataset_audit.fingerprint_query(file)
            )
    except (ApiError, dataset_audit.Unreadable) as error:
        if isinstance(error, dataset_audit.Unreadable):
            click.secho(f"error: {error}", fg="red", err=True)
            sys.exit(1)
        fail(error)
        return
    if result.get("status") == "failed":  # the registry could not read the upload
        problem = result.get("error") or {}
        ctx.emit(
            result,
            f"error: {problem.get('message', 'the trace failed')} "
            f"[{problem.get('code', 'failed')}]",
        )
        sys.exit(1)
    lines = [match_line(m) for m in result.get("matches", [])]
    ctx.emit(result, "\n".join(lines) or "no registered voice found")


def match_line(m: dict[str, Any]) -> str:
    """One trace match for people: where in the clip and the voice, and how it was found when
    the keys alone missed it (the registry checked a near miss on the voice's peaks)."""
    how = "  (found on the voice's peaks)" if m.get("found_by") == "peaks" else ""
    if m.get("voice_status") == "conflict":  # two holders claim it: an operator decides
        how += "  (in conflict: two rights holders claim this recording)"
    return (
        f"{m['voice_no']}  score {m['score']:.3f}  query {m['query_start_s']:.1f}s  "
        f"voice {m['voice_start_s']:.1f}s  for {m['duration_s']:.1f}s  {m['title']}{how}"
    )


@main.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--ai", "ai_no", required=True, help="the AI system whose training data this is")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("ailas-audit"),
    show_default=True,
    help="writes OUT.json, OUT.csv, OUT.html (and OUT.work/, the resumable fingerprint cache)",
)
@click.option("--workers", type=int, default=0, help="parallel fingerprinting (default: CPUs)")
@click.pass_obj
def audit(ctx: Context, directory: Path, ai_no: str, out: Path, workers: int) -> None:
    """Audit a local dataset: which files hold registered voices, and may this AI use them?

    Fingerprints are computed here, in parallel (an interrupted audit resumes where it
    stopped); only they are sent, and the registry's fairness rule decides. Exit 1 when a file
    is not covered, unreadable, too short or not speech."""
    from ailas import audit_report, dataset

    audio = dataset.audio_files(directory)
    others = sum(1 for p in directory.rglob("*") if p.is_file()) - len(audio)
    if not audio:
        suffixes = ", ".join(sorted(dataset.AUDIO_SUFFIXES))
        click.secho(f"error: no audio files ({suffixes}) in {directory}", fg="red", err=True)
        sys.exit(2)
    if others and not ctx.as_json:
        click.echo(f"note: {others} other files skipped (not audio by their name)", err=True)
    try:
        report = dataset_audit.run(ctx.client, audio, ai_no, out, workers or None, ctx.as_json)
    except ApiError as error:
        fail(error)
        return
    ctx.emit(report, f"{audit_report.summary_line(report)}. Report: {out}.html, .csv, .json")
    if any(report["summary"][s] for s in dataset_audit.PROBLEM_STATUSES):
        sys.exit(1)


@main.command()
@click.argument("token_or_file")
@click.option("--jwks", "jwks_source", help="JWKS file or URL (default: the registry's)")
@click.option("--online", is_flag=True, help="Also ask the registry for the live status")
@click.option(
    "--trust-anchors",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM file of CA certificates whose signers count as trusted (files only)",
)
@click.pass_obj
def verify(
    ctx: Context,
    token_or_file: str,
    jwks_source: str | None,
    online: bool,
    trust_anchors: Path | None,
) -> None:
    """Verify a label token (offline; ES256 with the published keys), or an audio FILE
    carrying a C2PA label: the manifest's signature and integrity, the label token, and the
    label's live status (always asked of the registry for a file). Exit 0 only when valid."""
    if is_file(token_or_file):
        verify_file(ctx, Path(token_or_file), jwks_source, trust_anchors)
        return
    if problem := not_a_token(token_or_file):
        click.secho(f"error: {problem}", fg="red", err=True)
        sys.exit(2)
    from ailas.formats import jws

    token = jws.normalize(token_or_file)  # a pasted newline: the same token for check and lookup
    keys = published_keys(ctx.client, jwks_source)
    try:
        if not isinstance(keys, dict):
            raise jws.TokenError("unknown_kid", "the JWKS is not a JSON object")
        claims = jws.verify(token, keys)
        if "label_no" not in claims:  # the same keys sign the log's checkpoints
            raise jws.TokenError("not_a_label")
        human = (
            f"signature valid: label {claims['label_no']} for AI system {claims['ai_no']} "
            f"({claims.get('ai_name', '')}), expires "
            f"{time.strftime('%Y-%m-%d', time.gmtime(claims['exp']))}"
        )
    except jws.TokenError as error:
        ctx.emit({"signature_valid": False, "error": error.reason}, f"NOT VALID: {error.reason}")
        sys.exit(1)
    except (KeyError, TypeError, ValueError, OverflowError):
        # A signature by a published key over claims that are not a label's.
        ctx.emit(
            {"signature_valid": False, "error": "malformed_claims"}, "NOT VALID: malformed_claims"
        )
        sys.exit(1)
    result: dict[str, Any] = {"signature_valid": True, "claims": claims}
    if online:
        result["status"] = label_status(ctx, claims["label_no"])
        human += f"\nlive status: {result['status']}"
    ctx.emit(result, human)
    if result.get("status", "valid") != "valid":  # a good signature, a label no longer in force
        sys.exit(1)


def label_status(ctx: Context, label_no: str) -> str:
    try:
        return str(ctx.client.get(f"/v1/labels/{label_no}")["status"])
    except ApiError as error:
        fail(error)
        raise  # fail() exits


def _reason_line(reason: dict[str, Any]) -> str:
    """A label's reason: its sentence, then the use and voice it is about when it names them."""
    where = [str(v) for v in (reason.get("use"), reason.get("voice_no")) if v not in (None, "*")]
    said = reason.get("message_en") or reason["reason"]
    return f"{said} ({', '.join(where)})" if where else said


def published_keys(client: Client, source: str | None) -> Any:
    """The JWKS to check signatures with (``--jwks``, else the registry's), or exit: 1 when the
    registry answers an error, 2 when the keys given cannot be read."""
    try:
        return dataset_audit.load_jwks(client, source)
    except ApiError as error:
        fail(error)
        raise  # fail() exits
    except (OSError, ValueError, requests.RequestException) as error:
        click.secho(f"error: cannot read the JWKS {source}: {error}", fg="red", err=True)
        sys.exit(2)


def not_a_token(argument: str) -> str | None:
    """What a newcomer gave instead of a token, said plainly: a label number (what a badge
    shows) or a file that is not there. None for anything that may be a token."""
    text = argument.strip()
    if re.fullmatch(r"L-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-\S", text):
        return (
            f"{text} is a label number, not its token: its live status is at /verify/{text} "
            f"(or `curl …/v1/labels/{text}`); `ailas verify` takes the label's token "
            "(eyJ…) or an audio file that carries it."
        )
    if "/" in text or Path(text).suffix.lower() in AUDIO_TYPES:
        return f"no such file: {text}"
    return None


def is_file(argument: str) -> bool:
    """A token is no file name (and too long to be one: stat() refuses it)."""
    try:
        return Path(argument).is_file()
    except OSError:
        return False


def verify_file(
    ctx: Context, path: Path, jwks_source: str | None, trust_anchors: Path | None
) -> None:
    from ailas.formats import provenance

    def live_status(label_no: str) -> dict[str, Any] | None:
        try:
            return ctx.client.get(f"/v1/labels/{label_no}")
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    def consent(label_no: str) -> dict[str, Any] | None:
        return ctx.client.get(f"/v1/labels/{label_no}/cawg")["data"]

    try:
        with path.open("rb") as handle:
            mime = provenance.sniff(handle.read(16))
            handle.seek(0)
            manifest = provenance.read(
                handle, mime, trust_anchors.read_text() if trust_anchors else None
            )
        check = provenance.judge(
            manifest, published_keys(ctx.client, jwks_source), live_status, consent
        )
    except provenance.Unsupported as error:
        click.secho(f"error: {error}", fg="red", err=True)
        sys.exit(2)
    except ApiError as error:
        fail(error)
        return
    ctx.emit(check.as_dict(), "\n".join(_file_check_lines(check, manifest)))
    if not check.ok:
        sys.exit(1)


def _file_check_lines(check: Any, manifest: Any) -> list[str]:
    """The human reading of a file check (``provenance.FileCheck`` and its manifest)."""
    signer = manifest.signer or {}
    lines = [
        f"{'OK' if check.ok else 'NOT VALID'}: {check.message_en} [{check.verdict}]",
        "C2PA manifest: "
        + (
            "none"
            if not manifest.found
            else f"{manifest.state}"
            + ("" if manifest.intact else " — " + ", ".join(f["code"] for f in manifest.failures))
        ),
    ]
    if signer:
        trust = "trusted" if manifest.trusted else "not on a trust list"
        lines.append(
            f"signed by: {signer.get('common_name')} / {signer.get('issuer')} "
            f"({signer.get('alg')}, {trust})"
        )
    if check.label_no:
        token = "valid" if check.token_valid else f"NOT VALID ({check.token_error or 'unchecked'})"
        lines.append(f"label: {check.label_no}  token {token}  kid {check.kid or '-'}")
    if check.live:
        lines.append(f"live status: {check.live['status']}")
        lines.append(
            f"label issued to: {check.live.get('business')} (AI system "
            f"{check.live.get('ai_system')})"
        )
        lines += [f"  - {_reason_line(r)}" for r in check.live.get("reasons", [])]
    if check.overstated:
        lines.append(
            "the file's CAWG statement allows more than the performers' intents in force: "
            + ", ".join(check.overstated)
        )
    if check.verify_url:
        lines.append(f"verify: {check.verify_url}")
    if check.file_verify_url and check.file_verify_url != check.verify_url:
        lines.append(
            f"WARNING: the file points elsewhere to verify ({check.file_verify_url}); "
            "that is not the registry's address, do not trust what it says"
        )
    return lines


@main.command("label-file")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--label", "label_no", required=True, help="your label number (L-…)")
@click.option(
    "--cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="your signing certificate chain, PEM (end-entity first)",
)
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="its private key, PEM (ES256 / P-256)",
)
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.pass_obj
def label_file(ctx: Context, source: Path, label_no: str, cert: Path, key: Path, out: Path) -> None:
    """Attach your AILAS label to generated audio (WAV or MP3) as a signed C2PA manifest: an
    `ailas.label` assertion (number, token, verify URL) and the `cawg.training-mining`
    assertion of the label's consent, signed with your own certificate."""
    from ailas import c2pa_label

    try:
        label = ctx.client.get(f"/v1/labels/{label_no}")
        if label["status"] != "valid":
            click.secho(
                f"error: label {label['label_no']} is {label['status']}; only a valid label "
                "may be attached.",
                fg="red",
                err=True,
            )
            sys.exit(1)
        training_mining = ctx.client.get(f"/v1/labels/{label['label_no']}/cawg")
        c2pa_label.label_file(
            source, out, label, training_mining, cert.read_bytes(), key.read_bytes()
        )
    except ApiError as error:
        fail(error)
        return
    except c2pa_label.LabelFileError as error:
        click.secho(f"error: {error}", fg="red", err=True)
        sys.exit(1)
    ctx.emit(
        {"out": str(out), "label_no": label["label_no"], "verify_url": label["verify_url"]},
        f"{out}: labelled with {label['label_no']} (C2PA, signed by your certificate)\n"
        f"check it: ailas verify {out}",
    )


@main.command("dev-cert")
@click.option("--org", "organization", required=True, help="your business's name")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("ailas-dev-cert"),
    show_default=True,
)
@click.pass_obj
def dev_cert(ctx: Context, organization: str, out_dir: Path) -> None:
    """Make a test CA and an ES256 signing certificate for trying `label-file` (testing only:
    real files should be signed with a certificate from a CA on the C2PA trust list)."""
    from ailas import c2pa_label

    made = c2pa_label.dev_cert(out_dir, organization)
    ctx.emit(
        {"ca": str(made.ca), "cert": str(made.cert), "key": str(made.key)},
        f"test CA {made.ca}\ncertificate chain {made.cert}\nprivate key {made.key}",
    )


@main.group()
def log() -> None:
    """The public transparency log: mirror it and verify it."""


@log.command("verify")
@click.option("--api", "api_url", help="Registry URL (default: the global --api / AILAS_API)")
@click.option(
    "--mirror",
    "mirror_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The local mirror (default: ~/.local/share/ailas/log-<registry>.jsonl)",
)
@click.option("--jwks", "jwks_source", help="JWKS file or URL (default: the registry's)")
@click.pass_obj
def log_verify(
    ctx: Context, api_url: str | None, mirror_path: Path | None, jwks_source: str | None
) -> None:
    """Mirror the public log, verify every hash, link and signed checkpoint; on later runs
    verify what is new against the mirror. Exit 1 on any problem (the mirror is then kept as
    it was: a rewritten or forked history is never re-trusted)."""
    from ailas import log as transparency

    client = Client(api_url, ctx.client.token) if api_url else ctx.client
    path = mirror_path or transparency.default_mirror(client.base_url)
    keys = published_keys(client, jwks_source)
    try:
        report = transparency.verify(client, path, client.base_url, keys)
    except transparency.MirrorError as error:
        click.secho(f"error: {error}", fg="red", err=True)
        sys.exit(2)
    except ApiError as error:
        fail(error)
        return
    latest = report.latest
    against = (
        f"latest checkpoint {latest['size']} entries at {latest['at']}"
        if latest
        else "no checkpoint yet"
    )
    if report.ok:
        ctx.emit(
            report.as_dict(),
            f"public log consistent: {counted(report.size, 'entry', 'entries')} "
            f"({report.new_entries} new), {counted(report.checkpoints, 'signed checkpoint')} "
            f"({against}); mirror {path}",
        )
        return
    ctx.emit(
        report.as_dict(),
        f"public log NOT consistent: {counted(len(report.problems), 'problem')} "
        f"(mirror {path} left as it was):\n"
        + "\n".join(f"  {p}" for p in sorted(report.problems, key=lambda p: p.seq or 0)),
    )
    sys.exit(1)


def screen_one(ctx: Context, path: Path) -> dict[str, Any]:
    """Upload one clip for voice-likeness screening and wait for the answer."""
    ctype = content_type_of(path)
    created = ctx.client.post(
        "/v1/screens",
        {"file": {"filename": path.name, "size_bytes": path.stat().st_size, "content_type": ctype}},
    )
    upload_with_progress(ctx, created["upload"], path, ctype)
    return wait_for(ctx, f"/v1/screens/{created['screen_id']}", FINAL_TRACE, 600)


def screen_lines(name: str, result: dict[str, Any]) -> list[str]:
    if result["status"] != "done":
        error = result.get("error") or {}
        return [f"{name}: {result['status']} {error.get('code', '')} {error.get('message', '')}"]
    if not result["matches"]:
        return [f"{name}: sounds like no registered performer"]
    return [
        f"{name}: {m['display_name']} ({m['performer_id']})  score {m['score']:.2f}  "
        f"similarity {m['similarity']:.3f}  tts {m['intent']['tts']}  "
        f"voice_conversion {m['intent']['voice_conversion']}  singing {m['intent']['singing']}"
        for m in result["matches"]
    ]


@main.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="for a folder: writes OUT.csv and OUT.json (default ailas-screen)",
)
@click.pass_obj
def screen(ctx: Context, path: Path, out: Path | None) -> None:
    """Does PATH (a clip, or a folder of AI outputs) sound like a registered performer?

    The audio is uploaded, embedded and deleted; only the answer is kept, for you alone.
    """
    import csv

    files = (
        [path]
        if path.is_file()
        else sorted(
            p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in dataset.AUDIO_SUFFIXES
        )
    )
    results: dict[str, dict[str, Any]] = {}
    try:
        for file in files:
            name = str(file.relative_to(path)) if path.is_dir() else file.name
            results[name] = screen_one(ctx, file)
    except ApiError as error:
        fail(error)
        return
    if path.is_file():
        result = results[path.name]
        ctx.emit(result, "\n".join(screen_lines(path.name, result)))
        sys.exit(0 if result["status"] == "done" else 1)
    out = out or Path("ailas-screen")
    out.with_suffix(".json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    with out.with_suffix(".csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "file",
                "status",
                "performer_id",
                "display_name",
                "similarity",
                "score",
                "tts",
                "voice_conversion",
                "singing",
            ]
        )
        for name, result in results.items():
            for m in result.get("matches") or [None]:
                if m is None:
                    writer.writerow([name, result["status"], "", "", "", "", "", "", ""])
                    continue
                writer.writerow(
                    [
                        name,
                        result["status"],
                        m["performer_id"],
                        m["display_name"],
                        m["similarity"],
                        m["score"],
                        *(m["intent"][u] for u in SCREENED),
                    ]
                )
    summary = {
        "files": len(results),
        "matched": sum(1 for r in results.values() if r.get("matches")),
        "failed": sum(1 for r in results.values() if r["status"] != "done"),
        "report": [str(out.with_suffix(".csv")), str(out.with_suffix(".json"))],
    }
    lines = [line for name, r in results.items() for line in screen_lines(name, r)]
    ctx.emit(summary, "\n".join([*lines, f"report: {out.with_suffix('.csv')}"]))
    sys.exit(1 if summary["failed"] else 0)  # as for one file: a file not screened is a failure


if __name__ == "__main__":
    main()
