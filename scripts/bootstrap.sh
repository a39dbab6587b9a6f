#!/usr/bin/env bash
# Create .venv (once) and install temporal-router with its dev extra. Idempotent and quiet.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]" 2>&1 \
    | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import temporal_router, temporalio, pydantic, opentelemetry.sdk" 
  rm -f .venv/.installed-* && touch "$stamp"
fi
