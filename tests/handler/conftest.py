"""Handler tests: the Chalice app in-process (chalice.test.Client) on moto in-process, provisioned
from infra/resources.yaml like every other stack."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client
from moto import mock_aws

from tests.http import Api, chalice_api
from tests.scenario import Registry


@pytest.fixture
def aws() -> Iterator[dict[str, str]]:
    from infra.provision import Provisioner
    from shared.aws import reset_all
    from shared.settings import reset_settings

    with mock_aws():
        reset_settings()
        reset_all()
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
