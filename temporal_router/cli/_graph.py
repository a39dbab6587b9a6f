"""The commands that draw: ``graph`` (a Mermaid diagram of an app) and ``traces``."""

from __future__ import annotations

import argparse
import ast
import inspect
import textwrap
from collections.abc import Callable
from typing import Any

from ..router import WorkflowRouter
from ._app import EXIT_OK, EXIT_REFUSED, CliError, _app, _say

__all__ = ["cmd_graph", "cmd_traces", "mermaid_graph"]


def _transition_targets(fn: Callable[..., Any]) -> list[str]:
    """States a handler transitions to, found as ``*.transition("State", ...)`` in its source."""
    try:
        source = textwrap.dedent(inspect.getsource(fn))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return []
    targets: list[str] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "transition"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and node.args[0].value not in targets
        ):
            targets.append(node.args[0].value)
    return targets


def mermaid_graph(router: WorkflowRouter) -> str:
    """A Mermaid ``stateDiagram-v2`` of the states and the commands each one handles.

    Edges come from the registered handlers: a handler whose source calls
    ``ctx.transition("X", ...)`` draws an edge to each such X; one that does not draws a
    self-loop. States with no handler appear alone.
    """
    definition = router.definition
    lines = ["stateDiagram-v2"]
    handled: set[str] = set()
    for route in router.routes():
        handled.add(route.state)
        targets = [t for t in _transition_targets(route.handler) if definition.has_state(t)]
        label = route.command + (" (any state)" if route.kind == "wildcard" else "")
        for target in targets or [route.state]:
            lines.append(f"    {route.state} --> {target} : {label}")
    for state in definition.states:
        if state not in handled:
            lines.append(f"    {state}")
    return "\n".join(lines)


async def cmd_graph(args: argparse.Namespace) -> int:
    app = _app(args)
    assert app is not None
    routers = [app.router(args.definition)] if args.definition else list(app.routers)
    for router in routers:
        if len(routers) > 1:
            _say(f"%% {router.definition.name}")
        _say(mermaid_graph(router))
    return EXIT_OK


async def cmd_traces(args: argparse.Namespace) -> int:
    from ..otel import read_span_file, render_waterfall, resolve_traces_path

    path = resolve_traces_path(args.file)
    if not path.exists():
        raise CliError(
            f"no trace file at {path}: run `temporal-router dev` (or the demo) first", EXIT_REFUSED
        )
    try:
        records = read_span_file(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from None
    if args.workflow_id is not None:
        if not any(r.workflow_id == args.workflow_id for r in records):
            raise CliError(f"no traces for {args.workflow_id!r} in {path}", EXIT_REFUSED)
    elif not records:
        raise CliError(f"no traces in {path}", EXIT_REFUSED)
    _say(
        render_waterfall(
            records, workflow_id=args.workflow_id, limit=args.limit, width=max(1, args.width)
        )
    )
    return EXIT_OK
