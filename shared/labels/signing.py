"""Who signs labels. Only the ``label_signer`` function holds kms:Sign; the API asks it through
a Lambda invocation. The local stack has no Lambda service (moto's needs Docker), so there the
very same handler is called in-process; it still signs with the KMS key on the moto server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared import aws
from shared.errors import Unavailable
from shared.formats import jws
from shared.settings import get_settings

SignerHandler = Callable[[dict[str, Any], Any], dict[str, Any]]
_in_process: SignerHandler | None = None


def use_in_process(handler: SignerHandler) -> None:
    global _in_process
    _in_process = handler


def sign(claims: dict[str, Any], typ: str = jws.TYP) -> dict[str, Any]:
    """{"token": compact JWS, "kid": key id} for ``claims``, of type ``typ`` (label/checkpoint)."""
    settings = get_settings()
    event = {"claims": claims, "typ": typ}
    if settings.stage == "local" or settings.aws_endpoint_url:
        if _in_process is None:
            raise RuntimeError("the label signer is not loaded")
        return _in_process(event, None)
    payload, failed = aws.lambda_.invoke_json(settings.label_signer_function, event)
    if failed:
        raise Unavailable("The label could not be signed; try again.", code="signing_failed")
    return payload
