"""Arize Phoenix as a real OTLP receiver for tests: installed into ``.venv-phoenix`` by
``scripts/phoenix.sh`` (never into ``.venv``: Phoenix pins many packages, OpenTelemetry's
among them), started as ``phoenix serve`` on free ports of 127.0.0.1 with a temporary working
directory, and read back through its REST API (``GET /v1/projects/{project}/spans``).

Phoenix files spans under the project named by the resource attribute
``openinference.project.name`` (``default`` without it), so a test that sets
``OTEL_RESOURCE_ATTRIBUTES=openinference.project.name=<unique>`` reads back its own spans only.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT = 900.0
"""Seconds for ``scripts/phoenix.sh`` (a first install; later calls return at once)."""
START_TIMEOUT = 180.0
"""Seconds for ``phoenix serve`` to answer (its first start creates the SQLite database)."""

PROJECT_ATTRIBUTE = "openinference.project.name"


def install_phoenix() -> Path:
    """Run ``scripts/phoenix.sh`` (creates ``.venv-phoenix`` on first use) and return the
    path of its ``phoenix`` command; raise with pip's log tail if the install fails."""
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "phoenix.sh")],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"scripts/phoenix.sh failed:\n{done.stderr[-4000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class PhoenixSpan:
    """One span as Phoenix serves it back, ids as lowercase hex."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str | None
    attributes: Mapping[str, Any] = field(default_factory=dict)


def _hex(value: Any) -> str | None:
    """Phoenix's OTLP-shaped spans carry ids as hex (or, per OTLP/JSON, base64)."""
    if not value:
        return None
    text = str(value)
    try:
        int(text, 16)
    except ValueError:
        try:
            return base64.b64decode(text, validate=True).hex()
        except (binascii.Error, ValueError):
            return text
    return text.lower()


def _any_value(value: Mapping[str, Any] | None) -> Any:
    if not value:
        return None
    for v in value.values():
        if v is not None:
            return v
    return None


def _flatten(attributes: Any, prefix: str = "") -> dict[str, Any]:
    """Attributes as ``{dotted.key: value}``, from OTLP's ``[{key, value}]`` list or a
    (possibly nested) mapping."""
    if isinstance(attributes, list):
        return {kv["key"]: _any_value(kv.get("value")) for kv in attributes}
    flat: dict[str, Any] = {}
    for key, value in (attributes or {}).items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _span(raw: Mapping[str, Any]) -> PhoenixSpan:
    context = raw.get("context") or {}
    return PhoenixSpan(
        name=str(raw["name"]),
        trace_id=_hex(raw.get("trace_id") or context.get("trace_id")) or "",
        span_id=_hex(raw.get("span_id") or context.get("span_id")) or "",
        parent_span_id=_hex(raw.get("parent_span_id") or raw.get("parent_id")),
        attributes=_flatten(raw.get("attributes")),
    )


@dataclass(frozen=True)
class Phoenix:
    """A running ``phoenix serve``: ``url`` is its HTTP port (UI, REST API, and OTLP/HTTP at
    ``/v1/traces``); ``log`` is its output."""

    url: str
    grpc_port: int
    log: Path

    def get(self, path: str, **query: str | int) -> Any:
        target = f"{self.url}{path}"
        if query:
            target += "?" + urllib.parse.urlencode(query)
        with urllib.request.urlopen(target, timeout=30) as response:
            return json.load(response)

    def spans(self, project: str) -> list[PhoenixSpan]:
        """Every span of ``project`` (none while the project does not exist yet)."""
        spans: list[PhoenixSpan] = []
        cursor: str | None = None
        while True:
            query: dict[str, str | int] = {"limit": 1000}
            if cursor:
                query["cursor"] = cursor
            try:
                page = self.get(f"/v1/projects/{urllib.parse.quote(project)}/spans", **query)
            except urllib.error.HTTPError as exc:
                if exc.code == 404:
                    return []
                raise
            spans.extend(_span(raw) for raw in page["data"])
            cursor = page.get("next_cursor")
            if not cursor:
                return spans

    def wait_for_spans(self, project: str, count: int, timeout: float = 60.0) -> list[PhoenixSpan]:
        """Poll until ``project`` has at least ``count`` spans (Phoenix inserts what it
        received in batches) or ``timeout`` passes; return what it has then."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.spans(project)
            if len(spans) >= count or time.monotonic() > deadline:
                return spans
            time.sleep(0.5)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


@contextmanager
def run_phoenix(phoenix: Path, working_dir: Path) -> Iterator[Phoenix]:
    """``phoenix serve`` on free ports of 127.0.0.1, storing in ``working_dir``; stopped
    (SIGTERM, then SIGKILL) on exit."""
    port, grpc_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PHOENIX_"))}
    env.update(
        PHOENIX_HOST="127.0.0.1",
        PHOENIX_PORT=str(port),
        PHOENIX_GRPC_PORT=str(grpc_port),
        PHOENIX_WORKING_DIR=str(working_dir),
        # No requests of its own to the internet (fonts, telemetry pixels, downloads).
        PHOENIX_TELEMETRY_ENABLED="false",
        PHOENIX_ALLOW_EXTERNAL_RESOURCES="false",
    )
    working_dir.mkdir(parents=True, exist_ok=True)
    log = working_dir / "phoenix.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(phoenix), "serve"],
            cwd=working_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Phoenix(url=f"http://127.0.0.1:{port}", grpc_port=grpc_port, log=log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"phoenix serve exited with {process.returncode}:\n{server.log_tail()}"
                )
            try:
                server.get("/v1/projects")
                break
            except (OSError, ValueError):
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"phoenix serve did not answer in {START_TIMEOUT:.0f} s:\n"
                        f"{server.log_tail()}"
                    ) from None
                time.sleep(0.5)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
