"""`make run`: the whole system on one machine.

1. a moto server (S3, SQS, DynamoDB + Streams, KMS) on 127.0.0.1:$AILAS_AWS_PORT (default 5000);
2. infra/resources.yaml provisioned into it (the file operators deploy);
3. the Chalice app on http://127.0.0.1:$PORT (default 8000);
4. the worker that plays Lambda's event source mappings (ingest queue, audit stream, schedules);
5. an SMTP server (aiosmtpd) that keeps the mail the registry sends in .local/mail/
   (AILAS_MAIL_DIR) and prints each sign-in link in this log.

State lives in the moto server's memory: every start is a clean registry.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REGION = "ap-northeast-1"


def local_dir() -> Path:
    """Where the running stack keeps its files (operator token, moto log, mail):
    .local/ of the checkout, or AILAS_LOCAL_DIR (tests give each stack its own)."""
    return Path(os.environ.get("AILAS_LOCAL_DIR") or ROOT / ".local")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for_port(port: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not port_in_use(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout_s:.0f} s")
        time.sleep(0.05)


def start_moto(port: int) -> subprocess.Popen[bytes]:
    log = open(local_dir() / "moto.log", "wb")  # noqa: SIM115 - lives as long as moto
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.moto_server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        # Its own session: Ctrl-C in the terminal reaches the stack, which stops the worker
        # first and moto last (moto dying first would fail the worker's calls in flight).
        start_new_session=True,
    )
    wait_for_port(port)
    return process


def configure_environment(
    aws_port: int, api_port: int, outputs: dict[str, str], operator_token: str, smtp_port: int
) -> None:
    """What Lambda's environment would hold, pointed at the moto server."""
    os.environ.update(
        {
            "AILAS_STAGE": "local",
            "AILAS_AWS_ENDPOINT_URL": f"http://127.0.0.1:{aws_port}",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AILAS_BUCKET": outputs["AudioBucketName"],
            "AILAS_INGEST_QUEUE_URL": outputs["IngestQueueUrl"],
            "AILAS_AUDIT_STREAM_ARN": outputs["AuditStreamArn"],
            # the alias, as deployed: an operator's rotation moves it (infra.ops rotate-label-key)
            "AILAS_LABEL_KEY_ID": outputs["LabelSigningKeyAlias"],
            "AILAS_PUBLIC_BASE_URL": f"http://127.0.0.1:{api_port}",
            "AILAS_OPERATOR_TOKEN": operator_token,
            "AILAS_EVENTS_FAILED_QUEUE_URL": outputs["EventsFailedQueueUrl"],
            "AILAS_AUDIT_POLL_QUEUE_URL": outputs["AuditPollQueueUrl"],
            "AILAS_INGEST_DLQ_URL": outputs["IngestDeadLetterQueueUrl"],
            "AILAS_AUDIT_POLL_DLQ_URL": outputs["AuditPollDeadLetterQueueUrl"],
            "AILAS_SMTP_PORT": str(smtp_port),
            "AILAS_MAIL_FROM": "AILAS (local) <no-reply@localhost>",
        }
    )


def operator_token() -> str:
    token = os.environ.get("AILAS_OPERATOR_TOKEN") or "ailas_op_" + secrets.token_urlsafe(32)
    path = local_dir() / "operator.token"
    path.write_text(token + "\n", encoding="utf-8")
    path.chmod(0o600)
    return token


class LocalStack:
    def __init__(self, api_port: int, aws_port: int) -> None:
        self.api_port, self.aws_port = api_port, aws_port
        self.moto: subprocess.Popen[bytes] | None = None
        self.worker: Any = None  # infra.local_worker.Worker once started
        self.server: Any = None  # chalice's LocalDevServer once started
        self.mail: object | None = None

    def start(self) -> None:
        local_dir().mkdir(parents=True, exist_ok=True)
        for port, what in ((self.aws_port, "AILAS_AWS_PORT"), (self.api_port, "PORT")):
            if port_in_use(port):
                raise SystemExit(f"127.0.0.1:{port} is taken: stop what runs there or set {what}.")
        self.moto = start_moto(self.aws_port)

        from infra.provision import provision

        outputs = provision(f"http://127.0.0.1:{self.aws_port}", REGION, "local")
        token = operator_token()
        from infra import local_mail

        self.mail_dir = Path(os.environ.get("AILAS_MAIL_DIR") or local_dir() / "mail")
        self.smtp_port = int(os.environ.get("AILAS_SMTP_PORT") or 0) or free_port()
        self.mail = local_mail.start(self.mail_dir, self.smtp_port)
        configure_environment(self.aws_port, self.api_port, outputs, token, self.smtp_port)
        self.token = token

        from chalice.config import Config

        import app as app_module
        from infra.local_gateway import server
        from shared.members.operators import ensure_local_operator

        ensure_local_operator(token)
        config = Config.create(chalice_stage="local", app_name="ailas", project_dir=str(ROOT))
        load_plugins()
        self.server = server(app_module.app, config, "127.0.0.1", self.api_port)
        threading.Thread(target=self.server.serve_forever, name="api", daemon=True).start()
        self.worker = start_worker(app_module.app, outputs)
        publish_stack_file(self.api_port)

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.shutdown()
        if self.server is not None:
            self.server.shutdown()
        if self.mail is not None:
            self.mail.stop()  # type: ignore[attr-defined]
        if self.moto is not None:
            self.moto.terminate()
            try:
                self.moto.wait(timeout=10)
            except subprocess.TimeoutExpired:  # a large registry takes moto a while to drop
                self.moto.kill()
                self.moto.wait()


STACK_VARIABLES = (
    "AILAS_STAGE",
    "AILAS_AWS_ENDPOINT_URL",
    "AWS_DEFAULT_REGION",
    "AILAS_BUCKET",
    "AILAS_INGEST_QUEUE_URL",
    "AILAS_AUDIT_POLL_QUEUE_URL",
    "AILAS_INGEST_DLQ_URL",
    "AILAS_AUDIT_POLL_DLQ_URL",
    "AILAS_AUDIT_STREAM_ARN",
    "AILAS_LABEL_KEY_ID",
    "AILAS_PUBLIC_BASE_URL",
)


def publish_stack_file(api_port: int) -> Path:
    """`.local/stack.json` (or $AILAS_STACK_FILE): where this stack's API and AWS are, so that
    `python -m infra.ops` finds it with no settings. Mode 600, no token in it; removed at exit."""
    path = Path(os.environ.get("AILAS_STACK_FILE") or local_dir() / "stack.json")
    stack = {
        "pid": os.getpid(),
        "api_url": f"http://127.0.0.1:{api_port}",
        "environment": {k: os.environ[k] for k in STACK_VARIABLES if k in os.environ},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(json.dumps(stack, indent=2) + "\n", encoding="utf-8")

    def remove() -> None:
        try:
            if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
                path.unlink()  # only our own: another stack may have started since
        except (OSError, ValueError):
            pass

    atexit.register(remove)
    return path


def start_worker(app: object, outputs: dict[str, str]) -> object:
    from infra.local_worker import SqsPoller, StreamPoller, Worker

    handlers = app.handler_map  # type: ignore[attr-defined]
    worker = Worker()
    ingest = SqsPoller(
        handlers["ingest"],
        "ingest",
        outputs["IngestQueueUrl"],
        f"arn:aws:sqs:{REGION}:123456789012:ailas-local-ingest",
    )
    worker.loop("ingest", lambda: ingest.poll_once(wait_s=1), idle_s=0)
    if "audit_poll" in handlers:  # Athena audits only (AILAS_AUDIT_ENGINE=athena)
        polls = SqsPoller(
            handlers["audit_poll"],
            "audit_poll",
            outputs["AuditPollQueueUrl"],
            f"arn:aws:sqs:{REGION}:123456789012:ailas-local-audit-poll",
            batch_size=1,
        )
        worker.loop("audit_poll", lambda: polls.poll_once(wait_s=1), idle_s=0)
    if "domain_events" in handlers:
        events = StreamPoller(
            handlers["domain_events"],
            "domain_events",
            outputs["AuditStreamArn"],
            failure_queue_url=outputs["EventsFailedQueueUrl"],
        )
        worker.loop("domain_events", events.poll_once, idle_s=0.2)
    # EventBridge's rate: hourly, as deployed (the first run an hour after start).
    for name, seconds in (("end_contracts", 3600.0),):
        if name in handlers:
            worker.every(name, seconds, handlers[name])
    return worker


def load_plugins() -> None:
    """Extra modules named in AILAS_LOCAL_PLUGINS (comma-separated) are imported before the
    worker starts, e.g. a test's subscriber that fails on purpose. Local stack only."""
    import importlib

    for name in filter(None, os.environ.get("AILAS_LOCAL_PLUGINS", "").split(",")):
        importlib.import_module(name.strip())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    parser.add_argument("--aws-port", type=int, default=int(os.environ.get("AILAS_AWS_PORT", 5000)))
    args = parser.parse_args()
    stack = LocalStack(args.port, args.aws_port)
    stopping = threading.Event()
    # Both set explicitly: a shell starting us in the background would otherwise ignore SIGINT.
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    try:
        started = time.perf_counter()
        stack.start()
        print(
            f"\nAILAS local stack is up ({time.perf_counter() - started:.1f} s)\n"
            f"  API        http://127.0.0.1:{args.port}   (docs: /docs, health: /v1/health)\n"
            f"  AWS (moto) http://127.0.0.1:{args.aws_port}\n"
            f"  portal     http://127.0.0.1:{args.port}/   (mail: {stack.mail_dir}, "
            f"SMTP 127.0.0.1:{stack.smtp_port})\n"
            f"  operator token  {stack.token}\n"
            f"                  (also in {local_dir() / 'operator.token'})\n"
            "Ctrl-C stops everything.\n",
            flush=True,
        )
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping…", flush=True)
        stack.stop()


if __name__ == "__main__":
    main()
