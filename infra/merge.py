"""The merge template for `chalice package`, generated from infra/resources.yaml (the single source
of truth for the data resources) and from the Chalice app itself (which functions exist).

What it adds to what Chalice writes:

- every resource, condition and output of resources.yaml, with the ``Stage`` parameter;
- per function: a fixed name ``ailas-<stage>-<name>``, the environment the code reads
  (shared/settings.py), the audio layer where the function's imports reach numpy/soundfile/soxr,
  a log group with retention (created before the function), and the real event sources: the SQS
  ingest queue with ``ReportBatchItemFailures``, the audit-poll queue capped at
  ``MaximumConcurrency`` invocations, and the audit table's stream (bounded retries, bisection
  and the events failure queue: infra/event_sources.py);
- API Gateway: JSON gateway responses (an unknown route is a 404 ``{"code": "not_found"}``),
  stage throttling, and integration URIs built from the API function's *name*, so that the API
  function may know its own URL without a dependency cycle.

Each function's IAM policy is not made here: it is infra/policies/<name>.json, wired through
``iam_policy_file`` in .chalice/config.json (Chalice turns it into the function's own role).

    python -m infra.merge dev > merge.json
"""

from __future__ import annotations

import ast
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.event_sources import SQS_MAX_CONCURRENCY, stream_event_properties
from infra.template import load

ROOT = Path(__file__).resolve().parent.parent
LAYER_REQUIREMENTS = ROOT / "layers" / "audio" / "requirements.txt"
# Import names that only the audio layer provides.
AUDIO_MODULES = frozenset({"numpy", "soundfile", "_soundfile", "soxr"})

# What differs between stages, besides .chalice/config.json.
STAGES: dict[str, dict[str, int]] = {
    "dev": {"throttle_rate": 50, "throttle_burst": 100, "log_retention_days": 30},
    "prod": {"throttle_rate": 500, "throttle_burst": 1000, "log_retention_days": 365},
}

# The queue (logical id in infra/resources.yaml) each SQS-triggered function reads.
SQS_SOURCES = {"ingest": "IngestQueue", "audit_poll": "AuditPollQueue"}

API_NAME = "api_handler"
API_LOGICAL_ID = "APIHandler"  # Chalice's name for the API function


def to_cfn_resource_name(name: str) -> str:
    """Chalice's logical ids: ``domain_events`` → ``DomainEvents``."""
    from chalice.utils import to_cfn_resource_name as chalice_name

    return chalice_name(name)


@dataclass
class Function:
    """One Lambda function of the app, as Chalice will package it."""

    name: str  # Chalice's function name (the key under lambda_functions in the config)
    logical_id: str
    module: str  # the module its handler lives in
    kind: str  # api | sqs | dynamodb | schedule | pure | other
    event_source: str | None = None  # logical id Chalice gives the event source
    routes: dict[str, list[str]] = field(default_factory=dict)


def discover() -> list[Function]:
    """The app's functions, read from the Chalice app object (blueprints registered)."""
    sys.path.insert(0, str(ROOT))
    from app import app

    functions: list[Function] = []
    if app.routes:
        routes = {path: sorted(methods) for path, methods in app.routes.items()}
        functions.append(Function(API_NAME, API_LOGICAL_ID, "app", "api", routes=routes))
    kinds = {
        "SQSEventConfig": ("sqs", "sqs-event-source"),
        "DynamoDBEventConfig": ("dynamodb", "dynamodb-event-source"),
        "ScheduledEventConfig": ("schedule", None),
    }
    for source in app.event_sources:
        kind, suffix = kinds.get(type(source).__name__, ("other", None))
        functions.append(
            Function(
                source.name,
                to_cfn_resource_name(source.name),
                source.handler_string.rsplit(".", 1)[0],
                kind,
                to_cfn_resource_name(f"{source.name}-{suffix}") if suffix else None,
            )
        )
    for pure in app.pure_lambda_functions:
        functions.append(
            Function(
                pure.name,
                to_cfn_resource_name(pure.name),
                pure.handler_string.rsplit(".", 1)[0],
                "pure",
            )
        )
    return functions


# --- which functions need the audio layer --------------------------------------------------------


def _module_file(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(module: str, path: Path) -> set[str]:
    """Every module named by an import statement anywhere in the file (function bodies too:
    a lazy import of numpy still needs numpy at run time)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                stem = f"{base}.{node.module}" if node.module else base
            else:
                stem = node.module or ""
            found.add(stem)
            found |= {f"{stem}.{alias.name}" for alias in node.names}
    return found


def import_closure(module: str) -> set[str]:
    """Modules reachable from ``module`` through the project's own code (app, functions,
    shared): the project's modules and the third-party top-level names they import."""
    seen: set[str] = set()
    external: set[str] = set()
    pending = [module]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        # importing a.b.c runs a/__init__ and a/b/__init__ too
        parents = [".".join(current.split(".")[:i]) for i in range(1, current.count(".") + 1)]
        pending.extend(parents)
        path = _module_file(current)
        if path is None:
            continue
        for name in _imports(current, path):
            top = name.split(".")[0]
            if _module_file(top) is not None or top == "app":
                if _module_file(name) is not None:
                    pending.append(name)
            else:
                external.add(top)
    return seen | external


def needs_audio(function: Function) -> bool:
    return bool(import_closure(function.module) & AUDIO_MODULES)


# --- the template ---------------------------------------------------------------------------------


def chalice_config() -> dict[str, Any]:
    return json.loads((ROOT / ".chalice" / "config.json").read_text())


def function_name(function: Function) -> dict[str, str]:
    return {"Fn::Sub": f"ailas-${{Stage}}-{function.name}"}


def environment(functions: list[Function], api_stage: str) -> dict[str, Any]:
    """The ``AILAS_*`` variables of shared/settings.py, for every function alike."""
    variables: dict[str, Any] = {
        "AILAS_ACCOUNT_ID": {"Ref": "AWS::AccountId"},
        "AILAS_REGION": {"Ref": "AWS::Region"},
        "AILAS_REGISTRY_TABLE": {"Ref": "RegistryTable"},
        "AILAS_AUDIT_TABLE": {"Ref": "AuditTable"},
        "AILAS_FINGERPRINT_TABLE": {"Ref": "FingerprintTable"},
        "AILAS_BUCKET": {"Ref": "AudioBucket"},
        "AILAS_INGEST_QUEUE_URL": {"Ref": "IngestQueue"},
        "AILAS_EVENTS_FAILED_QUEUE_URL": {"Ref": "EventsFailedQueue"},
        "AILAS_AUDIT_POLL_QUEUE_URL": {"Ref": "AuditPollQueue"},
        "AILAS_INGEST_DLQ_URL": {"Ref": "IngestDeadLetterQueue"},
        "AILAS_AUDIT_POLL_DLQ_URL": {"Ref": "AuditPollDeadLetterQueue"},
        "AILAS_AUDIT_STREAM_ARN": {"Fn::GetAtt": ["AuditTable", "StreamArn"]},
        "AILAS_LABEL_KEY_ID": {"Ref": "LabelSigningKeyAlias"},
        "AILAS_MAIL_FROM": {"Fn::Sub": "AILAS <no-reply@${MailDomain}>"},
    }
    if any(f.name == "label_signer" for f in functions):
        variables["AILAS_LABEL_SIGNER_FUNCTION"] = {"Fn::Sub": "ailas-${Stage}-label_signer"}
    if any(f.kind == "api" for f in functions):
        variables["AILAS_PUBLIC_BASE_URL"] = {
            "Fn::If": [
                "HasPublicBaseUrl",
                {"Ref": "PublicBaseUrl"},
                {
                    "Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/"
                    + api_stage
                },
            ]
        }
    return variables


def _gateway_response(status: int, code: str, message: str) -> dict[str, Any]:
    # $context.error.messageString is already a quoted JSON string.
    body = (
        f'{{"code":"{code}","message":{message},"request_id":"$context.requestId"}}'
        if message.startswith("$")
        else json.dumps(
            {"code": code, "message": message, "request_id": "$context.requestId"},
            ensure_ascii=False,
            separators=(",", ":"),
        )
    )
    return {
        "statusCode": str(status),
        "responseParameters": {"gatewayresponse.header.Cache-Control": "'no-store'"},
        "responseTemplates": {"application/json": body},
    }


GATEWAY_RESPONSES = {
    # API Gateway answers an unknown path or method with 403 "Missing Authentication Token".
    "MISSING_AUTHENTICATION_TOKEN": _gateway_response(
        404, "not_found", "No such route. / このURLはありません。"
    ),
    "THROTTLED": _gateway_response(
        429, "throttled", "Too many requests; retry later. / 混雑しています。"
    ),
    "DEFAULT_4XX": _gateway_response(400, "gateway_error", "$context.error.messageString"),
    "DEFAULT_5XX": _gateway_response(502, "gateway_error", "$context.error.messageString"),
}
# DEFAULT_4XX/5XX keep API Gateway's own status code: no statusCode override.
for _default in ("DEFAULT_4XX", "DEFAULT_5XX"):
    GATEWAY_RESPONSES[_default].pop("statusCode")


def _api_overrides(api: Function, stage: dict[str, int]) -> dict[str, Any]:
    uri = {
        "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/"
        "functions/arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"
        f"ailas-${{Stage}}-{api.name}/invocations"
    }
    paths = {
        path: {method.lower(): {"x-amazon-apigateway-integration": {"uri": uri}} for method in ms}
        for path, ms in api.routes.items()
    }
    return {
        "Properties": {
            "DefinitionBody": {
                "paths": paths,
                "x-amazon-apigateway-gateway-responses": GATEWAY_RESPONSES,
            },
            "MethodSettings": [
                {
                    "ResourcePath": "/*",
                    "HttpMethod": "*",
                    "ThrottlingRateLimit": stage["throttle_rate"],
                    "ThrottlingBurstLimit": stage["throttle_burst"],
                }
            ],
        }
    }


def _event_overrides(function: Function) -> dict[str, Any] | None:
    if function.event_source is None:  # an API or scheduled function: no event source
        return None
    if function.kind == "sqs":
        properties: dict[str, Any] = {
            "Queue": {"Fn::GetAtt": [SQS_SOURCES[function.name], "Arn"]},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        }
        if cap := SQS_MAX_CONCURRENCY.get(function.name):  # why: infra/event_sources.py
            properties["ScalingConfig"] = {"MaximumConcurrency": cap}
        return {function.event_source: {"Type": "SQS", "Properties": properties}}
    if function.kind == "dynamodb":
        return {
            function.event_source: {"Type": "DynamoDB", "Properties": stream_event_properties()}
        }
    return None


def merge_template(stage: str, functions: list[Function] | None = None) -> dict[str, Any]:
    if stage not in STAGES:
        raise SystemExit(f"unknown stage {stage!r}; deployable stages: {', '.join(STAGES)}")
    settings = STAGES[stage]
    functions = discover() if functions is None else functions
    api_stage = chalice_config()["stages"][stage].get("api_gateway_stage", "api")

    template = load()
    template["Parameters"]["Stage"]["Default"] = stage
    template["Parameters"]["PublicBaseUrl"] = {
        "Type": "String",
        "Default": "",
        "Description": "The API's public URL (a custom domain); empty: the execute-api URL.",
    }
    template["Conditions"]["HasPublicBaseUrl"] = {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "PublicBaseUrl"}, ""]}]
    }
    resources = template["Resources"]
    outputs = template.setdefault("Outputs", {})
    variables = environment(functions, api_stage)

    layer_needed = [f for f in functions if needs_audio(f)]
    if layer_needed:
        resources["AudioLayer"] = {
            "Type": "AWS::Serverless::LayerVersion",
            "Properties": {
                "LayerName": {"Fn::Sub": "ailas-${Stage}-audio"},
                "Description": "numpy, soundfile (libsndfile), soxr — layers/audio",
                "ContentUri": "./audio-layer.zip",
                "CompatibleRuntimes": ["python3.12"],
                "CompatibleArchitectures": ["x86_64"],
                "RetentionPolicy": "Retain",  # old function versions keep their layer
            },
        }

    for function in functions:
        log_group = f"{function.logical_id}LogGroup"
        resources[log_group] = {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "LogGroupName": {"Fn::Sub": f"/aws/lambda/ailas-${{Stage}}-{function.name}"},
                "RetentionInDays": settings["log_retention_days"],
            },
        }
        properties: dict[str, Any] = {
            "FunctionName": function_name(function),
            "Environment": {"Variables": variables},
        }
        if function in layer_needed:
            properties["Layers"] = [{"Ref": "AudioLayer"}]
        if events := _event_overrides(function):
            properties["Events"] = events
        resources[function.logical_id] = {"DependsOn": [log_group], "Properties": properties}
        outputs[f"{function.logical_id}FunctionName"] = {"Value": function_name(function)}
        if function.kind == "api":
            resources["RestAPI"] = _api_overrides(function, settings)
    if any(f.name == "label_signer" for f in functions):
        outputs["LabelSignerRoleArn"] = {"Value": {"Fn::GetAtt": ["LabelSignerRole", "Arn"]}}
    if any(f.kind == "api" for f in functions):
        outputs["ApiUrl"] = {"Value": variables["AILAS_PUBLIC_BASE_URL"]}
    return template


# --- a check Chalice and cfn-lint do not make ----------------------------------------------------


def references(value: Any) -> set[str]:
    """Logical ids a value refers to (Ref, Fn::GetAtt, Fn::Sub in both forms)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(arg[0] if isinstance(arg, list) else arg.split(".")[0])
            elif key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                names = {m.split(".")[0] for m in re.findall(r"\$\{([^}!][^}]*)\}", text)}
                found |= names - set(variables)
                found |= references(variables)
            else:
                found |= references(arg)
    return found


def dependency_cycle(template: dict[str, Any]) -> list[str] | None:
    """A cycle among the template's resources (CloudFormation rejects one), or None."""
    resources = template["Resources"]
    graph = {}
    for name, spec in resources.items():
        depends = spec.get("DependsOn", [])
        needs = references(spec.get("Properties", {})) | set(
            [depends] if isinstance(depends, str) else depends
        )
        graph[name] = sorted(needs & resources.keys())
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in graph[node]:
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state and (cycle := visit(dep)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


if __name__ == "__main__":
    json.dump(merge_template(sys.argv[1] if len(sys.argv) > 1 else "dev"), sys.stdout, indent=1)
