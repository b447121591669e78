"""``ailas`` meets a newcomer's mistakes with a sentence and an exit code, never a traceback:
a URL without its scheme, no token, a label number or a missing file where a token goes, pinned
keys that are not there, an upload the registry could not read, a token of the wrong member
before hours of fingerprinting, a folder without audio."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from ailas import audit as dataset_audit
from ailas import cli, dataset
from ailas.api import ApiError, Client

TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJsYWJlbF9ubyI6IkwifQ.c2ln"


def run(*args: str) -> Any:
    return CliRunner().invoke(cli.main, list(args), catch_exceptions=False)


def test_a_url_without_its_scheme_is_said_so() -> None:
    with pytest.raises(ApiError) as caught:
        Client("localhost:8070").get("/v1/health")
    assert caught.value.code == "invalid_api_url" and "http://" in caught.value.message
    done = run("--api", "localhost:8070", "verify", TOKEN)
    assert done.exit_code == 2 and "not a registry URL" in done.output


def test_a_missing_token_names_where_to_give_it(monkeypatch: pytest.MonkeyPatch) -> None:
    refused = requests.Response()
    refused.status_code, refused._content = 401, b'{"code": "unauthorized", "message": "x"}'
    monkeypatch.setattr(requests.Session, "request", lambda *a, **k: refused)
    monkeypatch.delenv("AILAS_TOKEN", raising=False)
    with pytest.raises(ApiError) as caught:
        Client("http://127.0.0.1:1").get("/v1/audits/x")
    assert "AILAS_TOKEN" in caught.value.message and "--token" in caught.value.message


@pytest.mark.parametrize(
    ("argument", "says"),
    [
        ("L-XV9V-NJQ4-3", "is a label number, not its token"),
        ("L-C0H8-BGR2-=", "/verify/L-C0H8-BGR2-="),
        ("missing.wav", "no such file: missing.wav"),
        ("some/dir/clip.mp3", "no such file"),
    ],
)
def test_what_is_not_a_token_is_named(argument: str, says: str) -> None:
    done = run("verify", argument)
    assert done.exit_code == 2 and says in done.output, done.output


def test_pinned_keys_that_are_not_there_are_an_error_not_the_registrys(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def registry_keys(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the registry's keys were fetched in place of the pinned ones")

    monkeypatch.setattr(Client, "get", registry_keys)
    missing = str(tmp_path / "pinned.json")
    done = run("verify", TOKEN, "--jwks", missing)
    assert done.exit_code == 2 and "cannot read the JWKS" in done.output
    with pytest.raises(FileNotFoundError):
        dataset_audit.load_jwks(Client("http://127.0.0.1:1"), missing)


def test_an_upload_trace_the_registry_could_not_read_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clip = tmp_path / "notes.wav"
    clip.write_text("not audio")
    created = {"trace_id": "T-1", "upload": {"url": "http://x", "fields": {}}}
    failed = {
        "status": "failed",
        "error": {"code": "unsupported_format", "message": "The file is not audio."},
    }
    monkeypatch.setattr(Client, "post", lambda *a, **k: created)
    monkeypatch.setattr(cli, "upload_with_progress", lambda *a, **k: None)
    monkeypatch.setattr(cli, "wait_for", lambda *a, **k: failed)
    done = run("trace", "--upload", str(clip))
    assert done.exit_code == 1
    assert "The file is not audio. [unsupported_format]" in done.output
    assert "no registered voice" not in done.output


def test_an_audit_checks_the_token_before_fingerprinting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    public_view = {"ai_no": "A-AAAA-BBBB-C", "name": "voice bot"}  # no training_data
    monkeypatch.setattr(Client, "get", lambda *a, **k: public_view)

    def fingerprinted(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("fingerprinted before the token was checked")

    monkeypatch.setattr(dataset, "fingerprint_dataset", fingerprinted)
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    monkeypatch.delenv("AILAS_TOKEN", raising=False)
    args = ("audit", str(tmp_path), "--ai", "A-AAAA-BBBB-C", "--out", str(tmp_path / "r"))
    done = run(*args)  # no token at all: said as such, not as another business's AI system
    assert done.exit_code == 1 and "token_required" in done.output, done.output
    assert "not an AI system of the business" not in done.output
    done = run("--token", "another-business", *args)
    assert done.exit_code == 1 and "not_your_ai_system" in done.output


def test_an_audit_of_a_folder_without_audio_says_so(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no audio here")
    done = run("audit", str(tmp_path), "--ai", "A-AAAA-BBBB-C", "--out", str(tmp_path / "r"))
    assert done.exit_code == 2 and "no audio files" in done.output
