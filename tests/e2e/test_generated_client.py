"""A client generated from the served OpenAPI document (openapi-python-client, as a developer
would run it) walks the fair-trade path on the real local stack with its typed models only:
members apply and are approved, a performer states an intent, a rights holder registers a voice
and uploads it with the presigned POST the answer describes, a business registers an AI system
and gets a label, and anyone verifies the label's token."""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests

from tests import audiofiles
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

PACKAGE = "ailas_generated_client"
CONFIG = Path(__file__).resolve().parents[2] / "docs" / "openapi-client.yaml"  # as the README


def generate(stack: Stack, folder: Path) -> ModuleType:
    """`openapi-python-client generate --url …/v1/openapi.json`, then import the package."""
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "openapi-python-client"),
            "generate",
            "--url",
            f"{stack.base_url}/v1/openapi.json",
            "--meta",
            "none",
            "--output-path",
            str(folder / PACKAGE),
            "--config",
            str(CONFIG),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # Every operation and answer is generated: no skipped endpoint, no dropped response.
    assert "WARNING" not in done.stdout + done.stderr, done.stdout + done.stderr
    sys.path.insert(0, str(folder))
    return importlib.import_module(PACKAGE)


def op(name: str) -> ModuleType:
    """A generated operation module, e.g. ``members.members_apply``."""
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def call(name: str, want: type, **kwargs: Any) -> Any:
    """One generated operation; its parsed answer must be the typed model ``want``."""
    answer = op(name).sync_detailed(**kwargs)
    assert isinstance(answer.parsed, want), (name, answer.status_code, answer.content[:400])
    return answer.parsed


class Walk:
    """The generated package, its models, and clients for the stack's callers."""

    def __init__(self, stack: Stack, folder: Path) -> None:
        self.client = generate(stack, folder)
        self.m = importlib.import_module(f"{PACKAGE}.models")
        self.base_url = stack.base_url
        self.anonymous = self.client.Client(base_url=stack.base_url)
        self.operator = self.as_token(stack.operator_token)

    def as_token(self, token: str) -> Any:
        return self.client.AuthenticatedClient(base_url=self.base_url, token=token)

    def member(self, kind: Any) -> tuple[str, Any]:
        """Apply (public), be approved (operator): the id and a client with the new token."""
        m = self.m
        sheet = m.Application(
            kind=kind,
            name="生成 太郎",
            name_kana="セイセイ タロウ",
            display_name=f"Generated {kind.value}",
            email=f"{kind.value}-{time.time_ns()}@example.jp",
            terms_version="2026-01",
        )
        applied = call("members.members_apply", m.Applied, client=self.anonymous, body=sheet)
        assert applied.status == m.AppliedStatus.PENDING
        approved = call(
            "members.members_approve",
            m.TokenIssued,
            client=self.operator,
            member_id=applied.member_id,
        )
        assert approved.status == m.TokenIssuedStatus.ACTIVE
        return applied.member_id, self.as_token(approved.token)

    def registered_voice(self, holder: Any, performer_id: str) -> str:
        """Register, upload as the answer describes (x-presigned-upload), poll until done."""
        m = self.m
        wav = audiofiles.wav_bytes(audiofiles.speech(8, seed=4242), 16000)
        sheet = m.VoiceRegistration(
            title="生成クライアントの声",
            performer_ids=[performer_id],
            rights=m.RightsSheet(holder_role=m.RightsSheetHolderRole.AGENCY),
            file=m.FileFacts(filename="voice.wav", size_bytes=len(wav), content_type="audio/wav"),
        )
        created = call("voices.voices_register", m.VoiceCreated, client=holder, body=sheet)
        assert created.status == m.VoiceCreatedStatus.AWAITING_UPLOAD
        stored = requests.post(
            created.upload.url,
            data=created.upload.fields.to_dict(),  # every field, in order, then the file last
            files={"file": ("voice.wav", wav, "audio/wav")},
            timeout=30,
        )
        assert stored.status_code in (200, 201, 204), stored.text[:300]
        deadline = time.monotonic() + 60
        voice = call("voices.voices_get", m.Voice, client=holder, voice_no=created.voice_no)
        while voice.status in (m.VoiceStatus.AWAITING_UPLOAD, m.VoiceStatus.PROCESSING):
            assert time.monotonic() < deadline, voice
            time.sleep(0.3)
            voice = call("voices.voices_get", m.Voice, client=holder, voice_no=created.voice_no)
        assert voice.status == m.VoiceStatus.REGISTERED, voice.error
        return created.voice_no


def test_a_generated_client_registers_uploads_labels_and_verifies(
    stack: Stack, tmp_path: Path
) -> None:
    walk = Walk(stack, tmp_path)
    m = walk.m
    performer_id, performer = walk.member(m.ApplicationKind.PERFORMER)
    _, holder = walk.member(m.ApplicationKind.RIGHTS_HOLDER)
    _, business = walk.member(m.ApplicationKind.BUSINESS)
    # The performer allows speech synthesis, commercial too: no contract is needed.
    uses = m.IntentBodyUses.from_dict({"tts": m.IntentBodyUsesAdditionalProperty.ALLOW.value})
    intent = m.IntentBody(uses=uses, commercial=m.IntentBodyCommercial.ALLOW)
    put = {"client": performer, "member_id": performer_id, "body": intent}
    call("intents.intents_put", m.IntentWritten, **put)
    voice_no = walk.registered_voice(holder, performer_id)

    # The business's AI system trains on it for TTS; the label is issued.
    ai_sheet = m.AiSystemSheet(
        name="生成AI",
        kind=m.AiSystemSheetKind.TTS,
        role=m.AiSystemSheetRole.DEVELOPER,
        commercial=True,
        uses=[m.AiSystemSheetUsesItem.TTS],
        training_data=m.TrainingData(voices=[voice_no]),
    )
    ai = call("ai_systems.ai_systems_register", m.AiSystemCreated, client=business, body=ai_sheet)
    request = m.LabelRequest(ai_no=ai.ai_no)
    label = call("labels.labels_issue", m.LabelIssued, client=business, body=request)
    assert label.status == m.LabelIssuedStatus.VALID

    # Anyone verifies the token, and reads the label and its badge.
    token = m.VerifyRequest(token=label.token)
    checked = call("labels.labels_verify", m.Verification, client=walk.anonymous, body=token)
    assert checked.signature_valid and checked.label.label_no == label.label_no
    assert checked.label.status == m.LabelViewStatus.VALID and voice_no in checked.label.voices
    view = call("labels.labels_get", m.LabelView, client=walk.anonymous, label_no=label.label_no)
    assert view.uses == [m.LabelViewUsesItem.TTS]
    badge = op("labels.labels_badge").sync_detailed(client=walk.anonymous, label_no=label.label_no)
    assert badge.status_code == 200 and "<svg" in badge.parsed

    # Refusals parse as the typed error model, with their stable code.
    typo = label.label_no[:-1] + ("X" if label.label_no[-1] != "X" else "Y")
    missing = call("labels.labels_get", m.ErrorBody, client=walk.anonymous, label_no=typo)
    assert missing.code == "label_no_mistyped"
