#!/usr/bin/env bash
# Create .venv (once) and install temporal-router with its dev extra. Idempotent and quiet:
# pip's output goes to .venv/install.log and is shown only if the install fails.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv with $("$PYTHON" --version)"
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
fi
stamp=.venv/.installed-$(cat pyproject.toml | sha1sum | cut -c1-12)
if [ ! -f "$stamp" ]; then
  echo "bootstrap: installing temporal-router[dev] into .venv (log: .venv/install.log)"
  if ! .venv/bin/python -m pip install --disable-pip-version-check -e ".[dev]" >.venv/install.log 2>&1; then
    grep -v "^WARNING: Location" .venv/install.log | tail -40
    echo "bootstrap: pip install failed" >&2
    exit 1
  fi
  .venv/bin/python -c "import temporal_router, temporalio, pydantic, opentelemetry.sdk"
  rm -f .venv/.installed-* && touch "$stamp"
fi
