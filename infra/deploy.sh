#!/usr/bin/env bash
# `make deploy STAGE=dev [DRY_RUN=1]`: package, upload, deploy through a change set (infra/deploy.py).
# Needs AWS credentials unless DRY_RUN=1, which does everything that needs no account, offline.
set -euo pipefail
cd "$(dirname "$0")/.."
export STAGE=${STAGE:-dev}
exec .venv/bin/python -m infra.deploy
