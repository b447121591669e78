"""Settings are read at import time (Chalice's test client injects config env vars only during a
call), so the environment is fixed here, before any project module is imported."""

import os

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
