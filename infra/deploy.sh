#!/usr/bin/env bash
# `make deploy STAGE=dev [DRY_RUN=1]` — see infra/deploy.py.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m infra.deploy
