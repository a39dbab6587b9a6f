"""Shared fixtures: the Temporal environment and OpenTelemetry's in-memory exporter.

Sections are owned by topic; keep each fixture in its section.
"""

from __future__ import annotations

# --- Temporal environment ------------------------------------------------------------------

# --- OpenTelemetry ---------------------------------------------------------------------------
