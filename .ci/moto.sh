#!/usr/bin/env bash
# An S3-compatible server for the media store's tests (tests/it/media_s3.rs
# starts `moto_server` itself, on a free port): moto, from PyPI, pinned,
# installed once into target/moto-venv. Put target/moto-venv/bin on the
# PATH before the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION=5.2.1
VENV=target/moto-venv

if "$VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '${MOTO_VERSION}')" 2>/dev/null; then
  echo "moto ${MOTO_VERSION} is in ${VENV}"
  exit 0
fi
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  apt-get update && apt-get install -y --no-install-recommends python3-venv
fi
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==${MOTO_VERSION}"
echo "moto ${MOTO_VERSION} installed into ${VENV}"
