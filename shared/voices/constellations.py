"""Each registered voice's spectral peaks (its constellation, shared/audio/verify.py), one S3
object per voice under ``constellations/``: a trace reads the stretch of a near-miss candidate
with a byte range (the first read usually holds the header and, for a voice of a few minutes,
all of it) to verify it on the peaks. A voice without one simply gets no verification."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from shared import aws
from shared.logging import logger
from shared.settings import get_settings

if TYPE_CHECKING:
    from shared.audio.fingerprint import Peaks
    from shared.audio.verify import Constellation

PREFIX = "constellations"
FIRST_READ = 64 * 1024  # bytes: the header of a voice of up to ~260 h, the peaks of ~7 min


def key(voice_no: str) -> str:
    return f"{PREFIX}/{voice_no}/peaks-v1.bin"


def store(voice_no: str, peaks: Peaks) -> int:
    """Keep a voice's constellation (idempotent: same key, same bytes); its size in bytes."""
    from shared.audio import verify

    body = verify.to_bytes(verify.constellation(peaks))
    aws.s3.put(get_settings().bucket, key(voice_no), body)
    return len(body)


# S3 answers a missing key with 404 only to a caller that may list the bucket; the functions
# that read constellations may not (least privilege), so in AWS a missing one is a 403.
MISSING = ("NoSuchKey", "404", "AccessDenied", "403")


def _missing(error: ClientError, voice_no: str) -> bool:
    code = error.response.get("Error", {}).get("Code")
    if code in ("AccessDenied", "403"):
        logger.warning("no constellation, or no access to it", extra={"voice_no": voice_no})
    return code in MISSING


def exists(voice_no: str) -> bool:
    try:
        aws.s3.head(get_settings().bucket, key(voice_no))
    except ClientError as error:
        if _missing(error, voice_no):
            return False
        raise
    return True


def delete(voice_no: str) -> None:
    aws.s3.delete(get_settings().bucket, key(voice_no))


def _read(bucket: str, name: str, start: int, stop: int) -> bytes | None:
    """Bytes [start, stop) of the object; None when there is no such object."""
    try:
        return aws.s3.read_range(bucket, name, start, stop - 1)
    except ClientError as error:
        if _missing(error, name):
            return None
        raise


def fetch(voice_no: str, first: int, last: int) -> Constellation | None:
    """The voice's peaks of frames ``first`` … ``last`` − 1 (and a few around), in one or two
    ranged GETs; None when the voice has none, or none this code can read (the trace is then
    left to the keys, as for a voice registered before constellations)."""
    try:
        return _fetch(voice_no, first, last)
    except ValueError:
        logger.warning("unreadable constellation", extra={"voice_no": voice_no})
        return None


def _fetch(voice_no: str, first: int, last: int) -> Constellation | None:
    from shared.audio import verify

    bucket, name = get_settings().bucket, key(voice_no)
    head = _read(bucket, name, 0, FIRST_READ)
    if head is None:
        return None
    size = verify.header_size(head)
    if size > len(head):
        head = _read(bucket, name, 0, size) or b""
    start, stop = verify.byte_range(head[:size], first, last)
    if stop <= start:
        return verify.records(b"")
    data = head[start:stop] if stop <= len(head) else _read(bucket, name, start, stop)
    return verify.window(verify.records(data or b""), first, last)


def fetch_all(wanted: list[tuple[str, int, int]]) -> list[Constellation | None]:
    """``fetch`` of every (voice, first, last), in parallel (a trace's few candidates)."""
    if len(wanted) <= 1:
        return [fetch(*w) for w in wanted]
    aws.client("s3")  # made once here: boto3 does not make clients safely on several threads
    with ThreadPoolExecutor(max_workers=len(wanted)) as pool:
        return list(pool.map(lambda w: fetch(*w), wanted))
