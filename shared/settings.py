"""Settings from the environment (prefix ``AILAS_``); one object, read once per process."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Stage = Literal["local", "dev", "prod"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AILAS_", extra="ignore")

    stage: Stage = "local"
    region: str = Field(default="ap-northeast-1", validation_alias="AWS_DEFAULT_REGION")
    # Only the local stack sets this: the moto server's URL.
    aws_endpoint_url: str | None = None
    account_id: str = "123456789012"

    registry_table: str = ""
    audit_table: str = ""
    fingerprint_table: str = ""
    bucket: str = ""
    ingest_queue_url: str = ""
    events_failed_queue_url: str = ""
    audit_poll_queue_url: str = ""
    ingest_dlq_url: str = ""  # uploads that failed ingest three times
    audit_poll_dlq_url: str = ""  # audit polls that failed five times
    audit_stream_arn: str = ""
    label_key_id: str = ""
    label_signer_function: str = ""

    public_base_url: str = "http://127.0.0.1:8000"
    max_body_bytes: int = 256 * 1024
    upload_max_bytes: int = 512 * 1024 * 1024
    upload_expiry_s: int = 15 * 60
    max_duration_s: int = 3 * 3600
    max_decode_s: float = 600.0  # wall time for one file's decoding (ingest Lambda: 900 s)
    label_review: Literal["auto", "operator"] = "auto"
    # Signs paging cursors; unset, a random key is kept in the registry table (shared/store.py).
    cursor_key: SecretStr | None = None
    # Mail: SES from this address in AWS; the local stack's SMTP server when smtp_port is set.
    mail_from: str = "AILAS <no-reply@ailas.example>"
    smtp_host: str = "127.0.0.1"
    smtp_port: int | None = None
    # The portal: sign-in links and sessions.
    signin_link_ttl_s: int = 15 * 60
    signin_answer_s: float = 0.5  # /signin answers no sooner, member or not (mail takes time)
    welcome_link_ttl_s: int = 24 * 3600
    session_ttl_s: int = 12 * 3600
    # Local stage only: the operator token (API.md, "Local stack").
    operator_token: SecretStr | None = None

    @model_validator(mode="after")
    def _default_names(self) -> Settings:
        """Resource names follow infra/resources.yaml, so a stage needs no per-name settings."""
        prefix = f"ailas-{self.stage}"
        self.registry_table = self.registry_table or f"{prefix}-registry"
        self.audit_table = self.audit_table or f"{prefix}-audit"
        self.fingerprint_table = self.fingerprint_table or f"{prefix}-fingerprints"
        self.bucket = self.bucket or f"{prefix}-audio-{self.account_id}"
        self.label_key_id = self.label_key_id or f"alias/{prefix}-label-signing"
        self.label_signer_function = (
            self.label_signer_function or f"ailas-{self.stage}-label_signer"
        )
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings (tests and the local stack change the environment)."""
    get_settings.cache_clear()
