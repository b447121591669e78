"""Settings are read at import time (Chalice's test client injects config env vars only during a
call), so the environment is fixed here, before any project module is imported."""

import os

import pytest

os.environ.update(
    {
        "AILAS_STAGE": "local",
        "AWS_DEFAULT_REGION": "ap-northeast-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        # moto routes DynamoDB Streams by the classic endpoint, not the account-based one.
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }
)
os.environ.pop("AILAS_AWS_ENDPOINT_URL", None)
os.environ.pop("AILAS_OPERATOR_TOKEN", None)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under `pytest -n` (make test): the template checks share one `make package` build
    directory, so they run in one worker (--dist loadgroup); everything else spreads."""
    for item in items:
        if "/tests/infra/" in str(item.path):
            item.add_marker(pytest.mark.xdist_group("package"))
