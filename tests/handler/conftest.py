"""Handler tests: the Chalice app in-process (chalice.test.Client) on moto in-process, provisioned
from infra/resources.yaml like every other stack."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client
from moto import mock_aws

import infra.moto_server  # noqa: F401 - the same partition-only Query speed-up as the stack
from tests.http import Api, chalice_api
from tests.scenario import Registry


@pytest.fixture
def aws() -> Iterator[dict[str, str]]:
    from infra.provision import Provisioner
    from shared.aws import reset_all
    from shared.labels import keyring
    from shared.settings import reset_settings

    with mock_aws():
        reset_settings()
        reset_all()
        keyring.forget()
        yield Provisioner(None, "ap-northeast-1", "local").run()  # type: ignore[arg-type]
        reset_all()


@pytest.fixture
def app(aws: dict[str, str]) -> Any:
    from app import app as chalice_app

    return chalice_app


@pytest.fixture
def api(app: Any) -> Iterator[Api]:
    with Client(app, stage_name="local") as client:
        yield chalice_api(client)


@pytest.fixture
def registry(api: Api) -> Registry:
    from shared.members.operators import create_operator

    _, token = create_operator("Test operator", "op@example.org")
    return Registry(api, token)


@pytest.fixture
def registered_voice(registry: Registry):
    """Register a voice through the API and mark it registered through the domain's own state
    change (the audio path is covered by the ingest and end-to-end tests)."""
    from shared.voices import service
    from tests.scenario import voice_sheet

    def make(holder, performer_ids: list[str] | None = None) -> str:
        reply = registry.api.post("/v1/voices", voice_sheet(performer_ids), token=holder.token)
        assert reply.status == 201, reply
        voice_no = reply.json["voice_no"]
        service.transition(
            voice_no,
            to="registered",
            allowed_from=("awaiting_upload",),
            actor="test",
            action="voice.registered",
            changes={
                "audio": {
                    "duration_s": 30.0,
                    "sample_rate": 16000,
                    "channels": 1,
                    "format": "WAV/PCM_16",
                    "sha256": "0" * 64,
                }
            },
        )
        return voice_no

    return make


@pytest.fixture
def deliver_events(app, aws):
    """Deliver the audit stream to the domain-event handler, exactly as Lambda's event source
    mapping would (the same poller the local stack runs)."""
    from infra.local_worker import StreamPoller

    poller = StreamPoller(app.handler_map["domain_events"], "domain_events", aws["AuditStreamArn"])

    def deliver() -> int:
        total = 0
        while (count := poller.poll_once()) > 0:
            total += count
        return total

    return deliver
