"""The app the CLI tests name: ``--app tests.reliability.cli_app`` (the ``RelLedger`` router)."""

from __future__ import annotations

from ._app import build_ledger_router

router = build_ledger_router()
