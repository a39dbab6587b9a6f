#!/usr/bin/env bash
# Set up (if needed) and run the benchmark suite; each benchmark prints its own table.
# Not part of the tests: figures are ratios against baselines measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
if ! .venv/bin/python -c "import transitions, statemachine" 2>/dev/null; then
  echo "bench: installing the benchmark extra (transitions, python-statemachine, pyinstrument)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev,bench]" >>.venv/install.log 2>&1
fi
for bench in "$@"; do
  .venv/bin/python -m "bench.$bench"
done
if [ $# -eq 0 ]; then
  for bench in bench_pure bench_router; do
    echo "== $bench"
    .venv/bin/python -m "bench.$bench"
  done
fi
