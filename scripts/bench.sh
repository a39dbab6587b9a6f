#!/usr/bin/env bash
# Set up (if needed) and run the benchmark suite, then print one summary table.
#
#   bash scripts/bench.sh                  # everything (about 17 minutes on 2 shared cores)
#   bash scripts/bench.sh entity pure      # a subset: bench_<name> or the full module name
#
# Not part of the tests: every figure is a ratio against a baseline measured in the same
# run, interleaved, median of several repetitions. To pass options to one benchmark, run it
# directly: .venv/bin/python -m bench.bench_growth --idle 2000
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
if ! .venv/bin/python -c "import transitions, statemachine" 2>/dev/null; then
  echo "bench: installing the benchmark extra (transitions, python-statemachine, pyinstrument)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev,bench]" >>.venv/install.log 2>&1
fi
ALL=(bench_pure bench_router bench_entity bench_hooks bench_otel bench_worker_cost bench_growth)
if [ $# -eq 0 ]; then
  selected=("${ALL[@]}")
else
  selected=()
  for name in "$@"; do
    module="bench_${name#bench_}"
    if [ ! -f "bench/$module.py" ]; then
      echo "bench: no benchmark '$name' (known: ${ALL[*]})" >&2
      exit 2
    fi
    selected+=("$module")
  done
fi
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
export BENCH_RESULTS_DIR="$results"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$(free -g | awk '/^Mem:/ {print $2}') GiB RAM; load average $(cut -d' ' -f1-3 /proc/loadavg)"
started=$SECONDS
for module in "${selected[@]}"; do
  echo
  echo "== $module"
  began=$SECONDS
  extra=()
  # The pure router's instruction counts (valgrind) back up its load-sensitive timings.
  if [ "$module" = bench_pure ] && command -v valgrind >/dev/null; then extra=(--instructions); fi
  .venv/bin/python -m "bench.$module" "${extra[@]}"
  echo "($module: $((SECONDS - began)) s)"
done
echo
echo "== summary ($((SECONDS - started)) s in all; load average now $(cut -d' ' -f1-3 /proc/loadavg))"
.venv/bin/python -m bench.summary "$results"
