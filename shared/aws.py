"""boto3 clients for the stage: real AWS, or the moto server of the local stack."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from shared.settings import get_settings


@cache
def client(service: str) -> Any:
    settings = get_settings()
    config = Config(
        retries={"mode": "standard", "max_attempts": 5},
        # Path-style keeps presigned URLs valid against a moto server on 127.0.0.1.
        s3={"addressing_style": "path"} if settings.aws_endpoint_url else {},
        signature_version="s3v4" if service == "s3" else None,
    )
    return boto3.client(
        service,
        region_name=settings.region,
        endpoint_url=settings.aws_endpoint_url,
        config=config,
    )


def reset_clients() -> None:
    client.cache_clear()


@cache
def resource(service: str) -> Any:
    settings = get_settings()
    return boto3.resource(
        service,
        region_name=settings.region,
        endpoint_url=settings.aws_endpoint_url,
        config=Config(retries={"mode": "standard", "max_attempts": 5}),
    )


def reset_all() -> None:
    client.cache_clear()
    resource.cache_clear()
