"""The label_signer Lambda: the only function allowed to sign with the label key (kms:Sign)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from shared import aws
from shared.formats import jws
from shared.labels import keyring, keys, signing
from shared.settings import get_settings

bp = Blueprint(__name__)


@bp.lambda_function(name="label_signer")
def label_signer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # Resolved per call: the alias moves when an operator rotates the key.
    current = keys.KmsSigner(get_settings().label_key_id, aws.kms.client())
    if not keyring.knows(current.kid):
        keyring.publish()  # a new key (first use, or after rotation) joins the JWKS first
    typ = event.get("typ", jws.TYP)  # sign() refuses any type but a label's or a checkpoint's
    return {"token": jws.sign(event["claims"], current, typ), "kid": current.kid}


signing.use_in_process(label_signer)
