"""Labels inside the audio: a label written into WAV and MP3 as a C2PA manifest (the client's
writer, the business's own test certificate), read back with c2pa's own Reader and judged — by
the shared check and by the verify page's upload — intact, tampered, and suspended."""

from __future__ import annotations

from pathlib import Path

import pytest

from ailas import c2pa_label
from shared.formats import provenance
from tests import labelled_audio
from tests.handler.test_verify_page import make_label
from tests.scenario import CONTRACT_INTENT, Actor, Registry


@pytest.fixture
def label(registry: Registry, registered_voice) -> tuple[str, Actor, str]:
    return make_label(registry, registered_voice)


@pytest.fixture
def cert(tmp_path: Path) -> c2pa_label.DevCertificate:
    return c2pa_label.dev_cert(tmp_path / "cert", "こえAI株式会社")


def labelled(api, label_no: str, cert, tmp_path: Path, fmt: str) -> Path:
    source = tmp_path / f"generated.{fmt.lower()}"
    source.write_bytes(labelled_audio.audio(fmt))
    out = tmp_path / f"labelled.{fmt.lower()}"
    c2pa_label.label_file(
        source,
        out,
        api.get(f"/v1/labels/{label_no}").json,
        api.get(f"/v1/labels/{label_no}/cawg").json,
        cert.cert.read_bytes(),
        cert.key.read_bytes(),
    )
    return out


def check(api, path: Path, trust: str | None = None) -> provenance.FileCheck:
    def live(label_no: str):
        reply = api.get(f"/v1/labels/{label_no}")
        return reply.json if reply.status == 200 else None

    def consent(label_no: str):
        return api.get(f"/v1/labels/{label_no}/cawg").json["data"]

    manifest = provenance.read_bytes(path.read_bytes(), trust)
    return provenance.judge(manifest, api.get("/.well-known/jwks.json").json, live, consent)


def test_labelled_wav_and_mp3_verify_and_tampering_is_caught(
    registry: Registry, label, cert, tmp_path: Path
) -> None:
    for fmt in ("WAV", "MP3"):
        labelled_audio_verifies_and_tampering_is_caught(registry, label, cert, tmp_path, fmt)


def labelled_audio_verifies_and_tampering_is_caught(
    registry: Registry,
    label,
    cert,
    tmp_path: Path,
    fmt: str,
) -> None:
    api = registry.api
    label_no, _, _ = label
    out = labelled(api, label_no, cert, tmp_path, fmt)
    result = check(api, out)
    assert result.verdict == "ok", result
    assert result.manifest.state == "Valid" and not result.manifest.trusted  # a test CA
    assert result.manifest.signer["issuer"] == "こえAI株式会社"
    assert result.label_no == label_no and result.token_valid and result.live["status"] == "valid"
    assert result.cawg["entries"]["cawg.ai_training"]["use"] == "notAllowed"
    assert result.cawg_source == "registry" and result.overstated == []
    # with the business's CA as a trust anchor the library calls the signer trusted
    trusted = check(api, out, cert.ca.read_text())
    assert trusted.manifest.state == "Trusted" and trusted.manifest.trusted

    bad = tmp_path / f"tampered.{fmt.lower()}"
    bad.write_bytes(labelled_audio.tamper(out.read_bytes()))
    tampered = check(api, bad)
    assert tampered.verdict == "tampered"
    assert "assertion.dataHash.mismatch" in {f["code"] for f in tampered.manifest.failures}

    plain = tmp_path / f"plain.{fmt.lower()}"
    plain.write_bytes(labelled_audio.audio(fmt))
    assert check(api, plain).verdict == "no_manifest"


def test_verify_page_checks_an_uploaded_file_and_follows_the_label(
    registry: Registry,
    label,
    cert,
    tmp_path: Path,
    deliver_events,
) -> None:
    api = registry.api
    label_no, performer, _ = label
    out = labelled(api, label_no, cert, tmp_path, "WAV")

    def upload(data: bytes, name: str = "voice.wav", lang: str = ""):
        content_type, body = labelled_audio.multipart(name, data)
        return api.request(
            "POST", "/verify" + lang, raw=body, headers={"Content-Type": content_type}
        )

    ok = upload(out.read_bytes())
    html = ok.body.decode()
    assert ok.status == 200 and 'data-verdict="ok"' in html
    assert "有効なAILASラベル" in html and f"/verify/{label_no}" in html and "改変なし" in html
    english = upload(out.read_bytes(), lang="?lang=en").body.decode()
    assert "A valid AILAS label is attached." in english

    tampered = upload(labelled_audio.tamper(out.read_bytes())).body.decode()
    assert 'data-verdict="tampered"' in tampered and "assertion.dataHash.mismatch" in tampered

    api.put(
        f"/v1/performers/{performer.member_id}/intent",
        {**CONTRACT_INTENT, "uses": {**CONTRACT_INTENT["uses"], "tts": "deny"}},
        token=performer.token,
    )
    deliver_events()
    suspended = upload(out.read_bytes()).body.decode()
    assert 'data-verdict="suspended"' in suspended and "一時停止" in suspended

    assert upload(b"not audio at all" * 10, "x.txt").status == 415
    assert upload(b"").status == 400
    content_type, body = labelled_audio.multipart("big.wav", b"RIFF" + bytes(5 * 2**20))
    big = api.request("POST", "/verify", raw=body, headers={"Content-Type": content_type})
    assert big.status == 413


def test_a_forged_or_borrowed_label_token_is_refused(
    registry: Registry, label, cert, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    from shared.formats import jws
    from shared.labels import keys

    api = registry.api
    label_no, _, _ = label
    real = api.get(f"/v1/labels/{label_no}").json
    training_mining = api.get(f"/v1/labels/{label_no}/cawg").json
    source = tmp_path / "generated.wav"
    source.write_bytes(labelled_audio.audio("WAV"))

    class Forger:
        key = ec.generate_private_key(ec.SECP256R1())
        kid = keys.jwk_of(key.public_key())["kid"]

        def sign_der(self, message: bytes) -> bytes:
            return self.key.sign(message, ec.ECDSA(hashes.SHA256()))

    forged = {**real, "token": jws.sign({"label_no": label_no, "ai_no": "A-0"}, Forger())}
    borrowed = {**real, "label_no": "L-0000-0000-0"}  # a real token under another number
    for name, claimed, reason in (
        ("forged", forged, "unknown_kid"),
        ("borrowed", borrowed, "label_no_mismatch"),
    ):
        out = tmp_path / f"{name}.wav"
        c2pa_label.label_file(
            source, out, claimed, training_mining, cert.cert.read_bytes(), cert.key.read_bytes()
        )
        result = check(api, out)
        assert result.manifest.intact and result.verdict == "bad_token", (name, result)
        assert result.token_error == reason


def test_a_label_lifted_onto_other_audio_with_a_generous_consent_statement_is_not_ok(
    registry: Registry, label, tmp_path: Path
) -> None:
    """Anyone can read a label's token and attach it to audio they sign, and write in the
    file that the performers allow every AI use. The consent shown and judged is the
    registry's; a file claiming more is `consent_overstated` (it was `ok`, showing the file's)."""
    api = registry.api
    label_no, _, _ = label
    public = api.get(f"/v1/labels/{label_no}").json
    stated = api.get(f"/v1/labels/{label_no}/cawg").json
    generous = {
        "data": {"entries": {name: {"use": "allowed"} for name in stated["data"]["entries"]}}
    }
    impostor = c2pa_label.dev_cert(tmp_path / "impostor", "なりすまし株式会社")
    source = tmp_path / "other.wav"
    source.write_bytes(labelled_audio.audio("WAV"))
    out = tmp_path / "lifted.wav"
    c2pa_label.label_file(
        source, out, public, generous, impostor.cert.read_bytes(), impostor.key.read_bytes()
    )
    result = check(api, out)
    assert result.verdict == "consent_overstated" and not result.ok
    assert result.cawg == stated["data"] and result.cawg_source == "registry"
    assert "cawg.ai_training" in result.overstated
    content_type, body = labelled_audio.multipart("lifted.wav", out.read_bytes())
    page = api.request("POST", "/verify", raw=body, headers={"Content-Type": content_type})
    html = page.body.decode()
    assert 'data-verdict="consent_overstated"' in html and "実演家の現在の意思" in html
    assert '<code>cawg.ai_training</code>: 不許可 <span class="bad">✘' in html


def test_the_address_to_verify_at_is_the_registrys_never_the_files(
    registry: Registry, label, cert, tmp_path: Path
) -> None:
    """A genuine token copied into a file with its own verify_url (a phishing page that
    "confirms" it) was printed under an OK verdict; the registry's address is shown, and the
    file's other one is a warning."""
    from ailas.cli import _file_check_lines

    api = registry.api
    label_no, _, _ = label
    public = api.get(f"/v1/labels/{label_no}").json
    evil = {**public, "verify_url": f"https://evil.example/verify/{label_no}"}
    source = tmp_path / "generated.wav"
    source.write_bytes(labelled_audio.audio("WAV"))
    out = tmp_path / "phishing.wav"
    training_mining = api.get(f"/v1/labels/{label_no}/cawg").json
    c2pa_label.label_file(
        source, out, evil, training_mining, cert.cert.read_bytes(), cert.key.read_bytes()
    )
    result = check(api, out)
    assert result.verdict == "ok" and result.verify_url == public["verify_url"]
    assert result.file_verify_url == evil["verify_url"]
    printed = "\n".join(_file_check_lines(result, result.manifest))
    assert f"verify: {public['verify_url']}" in printed
    assert "WARNING: the file points elsewhere to verify (https://evil.example/" in printed
