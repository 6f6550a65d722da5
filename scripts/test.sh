#!/usr/bin/env bash
# Install everything the test suite needs, then run it: lint, types, tests, docs.
# This is the README's test command; .ci/run runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }

# Servers the backend tests start on free ports (Redis, PostgreSQL, MariaDB) and
# Node.js for the Azure emulator: Debian packages, installed only when missing.
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v mariadbd >/dev/null || missing+=(mariadb-server)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v git >/dev/null || missing+=(git)
command -v openssl >/dev/null || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing system packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Azurite, the Azure Blob emulator (3.35.0 is the newest that runs on Node.js 20).
if [ ! -f .azurite/node_modules/azurite/dist/src/blob/main.js ]; then
    mkdir -p .azurite
    (cd .azurite && npm install --silent --no-audit --no-fund azurite@3.35.0 >/dev/null)
fi

# The package with every backend and the test tools, in a virtual environment.
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'

.venv/bin/ruff check minimalkv_fsspec tests benchmarks conftest.py
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
