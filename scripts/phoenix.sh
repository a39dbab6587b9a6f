#!/usr/bin/env bash
# Create .venv-phoenix (once) with Arize Phoenix, the real OTLP receiver that
# tests/examples/test_demo.py exports the demo's spans to and reads them back from.
#
# Phoenix pins many packages (OpenTelemetry's among them), so it gets a virtual environment of
# its own and never touches .venv. Idempotent and quiet: pip's output goes to
# .venv-phoenix/install.log and is shown only if the install fails; a stamp file named after
# the pinned version skips the install next time. Prints the path of the `phoenix` command.
set -euo pipefail
cd "$(dirname "$0")/.."
PHOENIX_VERSION=20.26.1
VENV=.venv-phoenix
PYTHON="${PYTHON:-python3}"
stamp=$VENV/.installed-arize-phoenix-$PHOENIX_VERSION
if [ ! -f "$stamp" ]; then
  if [ ! -x $VENV/bin/python ]; then
    echo "phoenix: creating $VENV with $("$PYTHON" --version)" >&2
    "$PYTHON" -m venv $VENV
  fi
  echo "phoenix: installing arize-phoenix==$PHOENIX_VERSION into $VENV (log: $VENV/install.log)" >&2
  started=$SECONDS
  if ! $VENV/bin/python -m pip install --disable-pip-version-check \
    "arize-phoenix==$PHOENIX_VERSION" >$VENV/install.log 2>&1; then
    grep -v "^WARNING: Location" $VENV/install.log | tail -40 >&2
    echo "phoenix: pip install failed" >&2
    exit 1
  fi
  $VENV/bin/python -c "import phoenix.server.main" >&2
  rm -f $VENV/.installed-* && touch "$stamp"
  echo "phoenix: installed in $((SECONDS - started)) s, $(du -sh $VENV | cut -f1) on disk" >&2
fi
echo "$PWD/$VENV/bin/phoenix"
