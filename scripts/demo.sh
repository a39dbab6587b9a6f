#!/usr/bin/env bash
# Set up (if needed) and run the example application end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m examples.orders "$@"
