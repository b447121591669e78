#!/usr/bin/env bash
# Recipe for the audio Lambda layer (numpy, soundfile + libsndfile, soxr) for AWS Lambda's
# python3.12 runtime on x86_64 (Amazon Linux 2023, glibc 2.34): manylinux wheels only.
#
#   layers/audio/build.sh OUT.zip [LOCKED]   # needs PyPI, or a wheelhouse:
#   PIP_NO_INDEX=1 PIP_FIND_LINKS=.cache/wheelhouse layers/audio/build.sh OUT.zip
#
# `make package` calls it through infra/build.py (which fills .cache/wheelhouse when online and
# builds offline from it afterwards). The zip holds python/<packages>, as Lambda expects.
set -euo pipefail
OUT=${1:?usage: layers/audio/build.sh OUT.zip [LOCKED_REQUIREMENTS]}
# infra/build.py passes the layer's part of requirements.lock: exact packages, hashes checked.
LOCKED=${2:-}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

"$PY" -m pip install --quiet --disable-pip-version-check --no-compile \
    --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 \
    --implementation cp --python-version 3.12 --only-binary=:all: \
    --target "$WORK/python" \
    ${LOCKED:+--no-deps --require-hashes} -r "${LOCKED:-$HERE/requirements.txt}"
# Nothing a Lambda imports: test suites, headers and static libraries, console scripts, caches.
rm -rf "$WORK/python/bin"
find "$WORK/python" -depth -type d \( -name tests -o -name __pycache__ \) -exec rm -rf {} +
rm -rf "$WORK/python/numpy/_core/include" "$WORK/python/numpy/_core/lib"
rm -rf "$WORK/python/numpy/f2py" "$WORK/python/numpy/_pyinstaller"
mkdir -p "$(dirname "$OUT")"
rm -f "$OUT"
(cd "$WORK" && TZ=UTC find python -exec touch -t 198001010000 {} + && \
    find python -type f | LC_ALL=C sort | "$PY" -c '
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for name in sys.stdin.read().split("\n"):
        if name:
            z.write(name)
' "$OUT")
echo "audio layer: $OUT"
