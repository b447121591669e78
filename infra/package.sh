#!/usr/bin/env bash
# `make package STAGE=dev`: the deployable SAM template and zips in build/<stage>/package.
# Built with the venv's Python 3.12 (Chalice takes the Lambda runtime from the interpreter).
set -euo pipefail
STAGE=${1:-dev}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-ap-northeast-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY="$ROOT/.venv/bin/python"
BUILD="$ROOT/build/$STAGE"
rm -rf "$BUILD" && mkdir -p "$BUILD/project/vendor" "$BUILD/package"

# Chalice packages only app.py, chalicelib/ and vendor/: functions/ and shared/ go in vendor/.
cp "$ROOT/app.py" "$BUILD/project/"
cp -r "$ROOT/.chalice" "$BUILD/project/"
rm -rf "$BUILD/project/.chalice/deployments"
# Chalice's own default role gets nothing but logs: each function's real, least-privilege role
# comes from the merge template (infra/merge.py).
cat > "$BUILD/project/.chalice/policy-$STAGE.json" <<'JSON'
{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
  "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "arn:aws:logs:*:*:*"}]}
JSON
cp -r "$ROOT/functions" "$ROOT/shared" "$BUILD/project/vendor/"
find "$BUILD/project/vendor" -name __pycache__ -prune -exec rm -rf {} +
# The function zip leaves out the audio stack: it comes in the audio layer.
grep -v -E '^(numpy|soundfile|soxr)==' "$ROOT/requirements.txt" > "$BUILD/project/requirements.txt"

"$PY" -m infra.merge "$STAGE" > "$BUILD/merge.json"
(cd "$BUILD/project" && "$ROOT/.venv/bin/chalice" package --stage "$STAGE" \
    --merge-template "$BUILD/merge.json" "$BUILD/package" >/dev/null)

# The audio layer: manylinux wheels for Lambda's Python 3.12 on x86_64 (Amazon Linux 2023, glibc 2.34).
"$PY" -m pip install --quiet --disable-pip-version-check --no-deps \
    --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 --only-binary=:all: \
    --python-version 3.12 \
    --target "$BUILD/layer/python" -r "$ROOT/layers/audio/requirements.txt"
(cd "$BUILD/layer" && "$PY" -m zipfile -c "$BUILD/package/audio-layer.zip" python >/dev/null)

echo "template: $BUILD/package/sam.json"
"$PY" -m infra.sizes "$BUILD/package"
