#!/usr/bin/env bash
# `make package STAGE=dev`: SAM template + function zip + audio layer in build/<stage>/package,
# built with the venv's Python 3.12 in a scratch copy (see infra/build.py). FORCE=1 rebuilds.
set -euo pipefail
STAGE=${1:-dev}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-ap-northeast-1}
cd "$ROOT"
exec "$ROOT/.venv/bin/python" -m infra.build "$STAGE" ${FORCE:+--force}
