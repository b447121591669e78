"""Label verification: verifications per second of the verify handler in-process (Chalice's
test client on moto), DynamoDB reads and KMS calls per verification, and the CLI's offline
verification time for a token.

    .venv/bin/python bench/verify_speed.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.update(
    {
        "AILAS_STAGE": "local",
        "AWS_DEFAULT_REGION": "ap-northeast-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }
)

N = 300


def main() -> None:
    from chalice.test import Client
    from moto import mock_aws

    import infra.moto_server  # noqa: F401 - the local stack's faithful moto
    from infra.provision import Provisioner
    from shared.members.operators import create_operator
    from tests.http import chalice_api
    from tests.scenario import Registry, ai_sheet, contract_filing, voice_sheet

    with mock_aws():
        Provisioner(None, "ap-northeast-1", "local").run()  # type: ignore[arg-type]
        from app import app
        from shared.voices import service as voices

        with Client(app, stage_name="local") as client:
            api = chalice_api(client)
            registry = Registry(api, create_operator("Bench", "bench@example.org")[1])
            holder = registry.member("rights_holder")
            business = registry.member("business")
            voice_no = api.post("/v1/voices", voice_sheet(title="bench"), token=holder.token).json[
                "voice_no"
            ]
            voices.transition(
                voice_no,
                to="registered",
                allowed_from=("awaiting_upload",),
                actor="bench",
                action="voice.registered",
            )
            ai_no = api.post("/v1/ai-systems", ai_sheet([voice_no]), token=business.token).json[
                "ai_no"
            ]
            contract = api.post(
                "/v1/contracts", contract_filing(ai_no, [voice_no]), token=business.token
            ).json["contract_id"]
            api.post(f"/v1/contracts/{contract}/confirm", token=holder.token)
            label = api.post("/v1/labels", {"ai_no": ai_no}, token=business.token).json
            token = label["token"]

            calls = {"dynamodb": 0, "kms": 0}

            def count(event_name: str, **_: object) -> None:
                service = event_name.split(".")[1]
                calls[service] = calls.get(service, 0) + 1

            from shared.aws import client as aws_client
            from shared.aws import resource as aws_resource

            aws_client("kms").meta.events.register("before-call.kms", count)
            aws_client("dynamodb").meta.events.register("before-call.dynamodb", count)
            aws_resource("dynamodb").meta.client.meta.events.register("before-call.dynamodb", count)
            api.post("/v1/labels/verify", {"token": token})  # warm the key cache
            calls.update(dynamodb=0, kms=0)
            started = time.perf_counter()
            for _ in range(N):
                reply = api.post("/v1/labels/verify", {"token": token})
            elapsed = time.perf_counter() - started
            assert reply.json["signature_valid"]
            reads = calls["dynamodb"] / N
            kms_calls = calls["kms"] / N
            jwks = api.get("/.well-known/jwks.json").body
    jwks_path = Path("/tmp/ailas-bench-jwks.json")
    jwks_path.write_bytes(jwks)
    cli = []
    for _ in range(5):
        began = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "ailas.cli", "verify", token, "--jwks", str(jwks_path)],
            check=True,
            capture_output=True,
        )
        cli.append(time.perf_counter() - began)
    began = time.perf_counter()
    import json

    from shared.formats import jws

    keys = json.loads(jwks)
    for _ in range(1000):
        jws.verify(token, keys)
    pure = (time.perf_counter() - began) / 1000
    print(f"{'measure':52s} value")
    print(f"{'verify handler in-process (moto), verifications/s':52s} {N / elapsed:,.0f}")
    print(f"{'DynamoDB requests per verification':52s} {reads:.2f}")
    print(f"{'KMS calls per verification':52s} {kms_calls:.2f}")
    print(f"{'signature check alone (ES256), per token':52s} {pure * 1e6:,.0f} µs")
    print(f"{'CLI offline verification (process start incl.)':52s} {min(cli):.2f} s (best of 5)")


if __name__ == "__main__":
    main()
