"""boto3 clients for the stage (real AWS, or the moto server of the local stack), and one small
adapter per service for the calls the domain makes: ``s3``, ``kms``, ``lambda_`` and ``sqs``.
DynamoDB has its own: the repository in shared/store.py."""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from functools import cache
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

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


class S3:
    """Objects of the stage's buckets: presigned uploads, ranged reads, copies, deletes."""

    def presigned_post(
        self,
        bucket: str,
        key: str,
        fields: dict[str, str],
        conditions: list[Any],
        expires_s: int,
    ) -> dict[str, Any]:
        return client("s3").generate_presigned_post(
            Bucket=bucket, Key=key, Fields=fields, Conditions=conditions, ExpiresIn=expires_s
        )

    def upload_origin(self, bucket: str) -> str:
        """The origin a browser posts presigned uploads to (signing is local: no request)."""
        url = client("s3").generate_presigned_post(Bucket=bucket, Key="origin", ExpiresIn=60)
        parts = urlsplit(url["url"])
        return f"{parts.scheme}://{parts.netloc}"

    def head(self, bucket: str, key: str, etag: str | None = None) -> dict[str, Any]:
        """The object's metadata; with ``etag``, only while the object is still that one
        (else a ClientError ``PreconditionFailed``, see :func:`replaced`)."""
        pinned = {"IfMatch": f'"{etag}"'} if etag else {}
        return client("s3").head_object(Bucket=bucket, Key=key, **pinned)

    def read_range(
        self, bucket: str, key: str, start: int, end: int, etag: str | None = None
    ) -> bytes:
        """Bytes ``start`` to ``end`` inclusive (an HTTP Range); with ``etag``, of that very
        object: a file sent again to the same key meanwhile must not be read half-way."""
        pinned = {"IfMatch": f'"{etag}"'} if etag else {}
        reply = client("s3").get_object(
            Bucket=bucket, Key=key, Range=f"bytes={start}-{end}", **pinned
        )
        return reply["Body"].read()

    def chunks(
        self, bucket: str, key: str, start: int, chunk_bytes: int
    ) -> Generator[bytes, None, None]:
        """The object from byte ``start`` on (an HTTP Range when ``start`` > 0), streamed
        ``chunk_bytes`` at a time; the body is closed when the iteration ends or is dropped."""
        ranged = {"Range": f"bytes={start}-"} if start else {}
        body = client("s3").get_object(Bucket=bucket, Key=key, **ranged)["Body"]
        try:
            yield from body.iter_chunks(chunk_bytes)
        finally:
            body.close()

    def download(self, bucket: str, key: str, handle: IO[bytes]) -> None:
        client("s3").download_fileobj(bucket, key, handle)

    def copy_encrypted(self, bucket: str, source: str, key: str, etag: str | None = None) -> None:
        """A copy under ``key``, metadata kept. Encrypted by the bucket's default, the stage's
        KMS key with a Bucket Key: naming only ``aws:kms`` here would use the account's
        AWS-managed ``aws/s3`` key instead, outside the stage's key policy and rotation."""
        client("s3").copy_object(
            Bucket=bucket,
            Key=key,
            CopySource={"Bucket": bucket, "Key": source},
            MetadataDirective="COPY",
            **({"CopySourceIfMatch": f'"{etag}"'} if etag else {}),
        )

    def delete(self, bucket: str, key: str) -> None:
        client("s3").delete_object(Bucket=bucket, Key=key)

    def put(self, bucket: str, key: str, body: bytes) -> None:
        client("s3").put_object(Bucket=bucket, Key=key, Body=body)

    def get(self, bucket: str, key: str) -> bytes | None:
        """The object's bytes; None when there is no such object."""
        s3 = client("s3")
        try:
            return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            return None

    def presigned_get(self, bucket: str, key: str, expires_s: int) -> str:
        return client("s3").generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_s
        )

    def download_to(self, bucket: str, key: str, path: Path) -> None:
        client("s3").download_file(bucket, key, str(path))

    def upload_from(self, path: Path, bucket: str, key: str) -> None:
        client("s3").upload_file(str(path), bucket, key)

    def keys(self, bucket: str, prefix: str) -> Iterator[str]:
        """Every key under ``prefix`` (all pages)."""
        for page in (
            client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        ):
            yield from (obj["Key"] for obj in page.get("Contents", []))


class Kms:
    """The label-signing keys (shared/labels/keys.py works on this client)."""

    def client(self) -> Any:
        return client("kms")


class Lambda:
    def invoke_json(self, function: str, payload: dict[str, Any]) -> tuple[Any, bool]:
        """Invoke ``function`` synchronously with a JSON event: (its JSON reply, whether the
        function raised)."""
        reply = client("lambda").invoke(FunctionName=function, Payload=json.dumps(payload).encode())
        return json.loads(reply["Payload"].read()), bool(reply.get("FunctionError"))


class Sqs:
    def queue_url(self, name: str) -> str:
        return client("sqs").get_queue_url(QueueName=name)["QueueUrl"]

    def stage_queue(self, configured: str, name: str) -> str:
        """The URL the environment gives (as deployed), else the stage's queue ``name`` looked
        up: ``ailas-<stage>-<name>``."""
        return configured or self.queue_url(f"ailas-{get_settings().stage}-{name}")

    def waiting(self, queue_url: str) -> int:
        """Messages in the queue, visible or in flight (approximate, as SQS counts them)."""
        attributes = client("sqs").get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )


s3, kms, lambda_, sqs = S3(), Kms(), Lambda(), Sqs()


def replaced(error: BaseException) -> bool:
    """A read pinned to an ETag found another object under the key (412 Precondition Failed)."""
    if not isinstance(error, ClientError):
        return False
    code = str(error.response.get("Error", {}).get("Code", ""))
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return code in ("PreconditionFailed", "412") or status == 412
