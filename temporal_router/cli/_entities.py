"""The commands that talk to entities: ``dispatch``, ``get``, ``list`` and ``hook``."""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from typing import Any

from ..router import (
    DispatchResult,
    UnknownNameError,
    ValidationError,
    WorkflowRouter,
    dump_model,
    to_iso,
)
from ._app import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_SERVER,
    CliError,
    _app,
    _cell,
    _client,
    _emit,
    _hook_client,
    _parse_json,
    _progress,
    _router_client,
    _say,
    _waiting,
    _within,
)

__all__ = ["cmd_create", "cmd_dispatch", "cmd_get", "cmd_hook", "cmd_list", "cmd_signal"]


def _result_json(result: DispatchResult) -> dict[str, Any]:
    if result.ok and result.workflow is not None:
        wf = result.workflow
        return {
            "ok": True,
            "id": wf.id,
            "state": wf.state,
            "data": dump_model(wf.data),
            "updated_at": to_iso(wf.updated_at),
            "events": [{"type": e.type, "data": dump_model(e.data)} for e in result.events],
        }
    error = result.error
    assert error is not None
    fields: dict[str, Any] = {"category": error.category, "message": error.message}
    for name in ("code", "source", "name"):
        if hasattr(error, name):
            fields[name] = getattr(error, name)
    if hasattr(error, "issues"):
        fields["issues"] = json.loads(json.dumps(error.issues, default=str))
    if hasattr(error, "data"):
        data = error.data
        fields["data"] = dump_model(data) if hasattr(data, "model_dump") else data
    return {"ok": False, "error": fields}


async def cmd_dispatch(args: argparse.Namespace) -> int:
    app = _app(args)
    assert app is not None
    payload = _parse_json(args.payload, "--payload") if args.payload else {}
    if not isinstance(payload, dict):
        raise CliError("--payload must be a JSON object")
    router = app.router(args.definition)
    try:
        router.definition.parse_command({"type": args.command, "payload": payload})
    except UnknownNameError:
        known = ", ".join(router.definition.commands)
        raise CliError(
            f"unknown command {args.command!r} for {router.definition.name} (known: {known}); nothing sent"
        ) from None
    except ValidationError as exc:
        raise CliError(
            f"invalid payload for {args.command}: {_issues(exc)}; nothing sent"
        ) from None
    create = _create_spec(args, router)
    command_id = args.command_id or str(uuid.uuid4())
    async with _client(args, [app.plugin]) as client:
        rc = _router_client(args, client, app, args.definition)
        try:
            async with _waiting(f"waiting for the entity's reply (task queue {rc.task_queue!r})"):
                result = await _within(
                    args.timeout,
                    rc.dispatch(
                        args.id,
                        {"type": args.command, "payload": payload},
                        command_id=command_id,
                        expected_version=args.expected_version,
                        create=create,
                    ),
                )
        except TimeoutError:
            raise CliError(
                f"no result within {args.timeout:g}s: is a worker polling the entity's task "
                f"queue (this app's: {rc.task_queue!r})? The command may still be applied; to "
                f"get its result exactly once, repeat it with --command-id {command_id}",
                EXIT_SERVER,
            ) from None
        except asyncio.CancelledError:
            _progress(
                "interrupted: the command may still be applied; to get its result exactly "
                f"once, repeat it with --command-id {command_id}"
            )
            raise
    _emit(args, _result_json(result))
    return EXIT_OK if result.ok else EXIT_REFUSED


async def cmd_create(args: argparse.Namespace) -> int:
    from temporalio.client import WorkflowQueryFailedError
    from temporalio.exceptions import WorkflowAlreadyStartedError

    app = _app(args)
    assert app is not None
    router = app.router(args.definition)
    spec = _create_spec(args, router)
    assert spec is not None  # --create is required by the parser
    async with _client(args, [app.plugin]) as client:
        rc = _router_client(args, client, app, args.definition)
        try:
            async with _waiting(f"waiting for a worker (task queue {rc.task_queue!r})"):
                created = await _within(
                    args.timeout,
                    rc.create(args.id, initial_state=spec["initial_state"], data=spec["data"]),
                )
        except WorkflowAlreadyStartedError:
            raise CliError(f"entity {args.id!r} already exists", EXIT_REFUSED) from None
        except ValidationError as exc:
            raise CliError(f"cannot create {args.id!r}: {_issues(exc)}; nothing sent") from None
        except WorkflowQueryFailedError as exc:  # the worker refused the creation
            raise CliError(f"{args.id!r} was not created: {exc}", EXIT_REFUSED) from None
        except TimeoutError:
            raise CliError(
                f"{args.id!r} was started but no worker answered within {args.timeout:g}s: "
                f"is a worker running on task queue {rc.task_queue!r}?",
                EXIT_SERVER,
            ) from None
    _emit(
        args,
        {
            "id": created.id,
            "state": created.state,
            "data": dump_model(created.data),
            "created_at": to_iso(created.created_at),
        },
    )
    return EXIT_OK


def _create_spec(args: argparse.Namespace, router: WorkflowRouter) -> dict[str, Any] | None:
    """``--create STATE --data JSON`` as RouterClient's ``create=``, checked before sending."""
    if not args.create:
        if args.data:
            raise CliError("--data goes with --create STATE; nothing sent")
        return None
    definition = router.definition
    if not definition.has_state(args.create):
        known = ", ".join(definition.states)
        raise CliError(
            f"unknown state {args.create!r} for {definition.name} (known: {known}); nothing sent"
        )
    data = _parse_json(args.data, "--data") if args.data else {}
    if not isinstance(data, dict):
        raise CliError("--data must be a JSON object")
    try:
        definition.validate("state", args.create, data, source="state")
    except ValidationError as exc:
        raise CliError(f"invalid --data for {args.create}: {_issues(exc)}; nothing sent") from None
    return {"initial_state": args.create, "data": data}


def _issues(exc: ValidationError) -> str:
    from ..router import issue_messages

    return issue_messages(exc.issues)


async def cmd_get(args: argparse.Namespace) -> int:
    from temporalio.service import RPCError

    # How the clients tell a missing workflow from a missing namespace (both NOT_FOUND): a
    # detail of the adapter, shared so that the CLI words them as the clients do.
    from ..adapter._hook_client import missing_workflow

    app = _app(args)
    assert app is not None
    async with _client(args, [app.plugin]) as client:
        rc = _router_client(args, client, app, args.definition)
        try:
            async with _waiting(f"waiting for a worker to answer for {args.id!r}"):
                snap = await _within(args.timeout, rc.get(args.id))
        except RPCError as exc:
            # "Namespace x is not found" is NOT_FOUND too: that one is the server's to word.
            if missing_workflow(exc):
                raise CliError(f"no entity {args.id!r}", EXIT_REFUSED) from None
            raise
        except TimeoutError:
            raise CliError(
                f"no answer within {args.timeout:g}s: is a worker polling {args.id!r}'s task "
                f"queue (this app's: {rc.task_queue!r})?",
                EXIT_SERVER,
            ) from None
    _emit(
        args,
        {
            "id": snap.id,
            "state": snap.state,
            "data": dump_model(snap.data),
            "version": snap.version,
            "created_at": to_iso(snap.created_at),
            "updated_at": to_iso(snap.updated_at),
        },
    )
    return EXIT_OK


async def cmd_list(args: argparse.Namespace) -> int:
    app = _app(args)
    assert app is not None
    definition = app.router(args.definition).definition
    if args.state is not None and not definition.has_state(args.state):
        known = ", ".join(definition.states)
        raise CliError(f"unknown state {args.state!r} for {definition.name} (known: {known})")
    async with _client(args, [app.plugin]) as client:
        rc = _router_client(args, client, app, args.definition)
        rows = [entity async for entity in rc.list(state=args.state)]
    if args.output == "json":
        _emit(args, [{"id": entity.id, "state": entity.state} for entity in rows])
    else:  # the table, without a header: `list | cut -f1` keeps working
        for entity in rows:
            _say(f"{_cell(entity.id)}\t{_cell(entity.state)}")
    _progress(f"{len(rows)} entit{'y' if len(rows) == 1 else 'ies'}")
    return EXIT_OK


async def cmd_hook(args: argparse.Namespace) -> int:
    from ..workflows import HookTargetError

    app = _app(args)
    assert app is not None
    hook_args = _parse_json(args.args, "--args") if args.args else []
    if not isinstance(hook_args, list):
        raise CliError("--args must be a JSON array")
    if not (args.entity or (args.hook_task_queue and args.workflow_name)):
        raise CliError(
            "which workflow should the hook run? pass --hook-task-queue Q --workflow-name W, "
            "or --entity NAME (both); nothing sent"
        )
    async with _client(args, [app.plugin]) as client:
        hooks = _hook_client(args, client, app)
        try:
            async with _waiting(f"waiting for {args.id!r} to take the request"):
                hook_id = await _within(
                    args.timeout,
                    hooks.hook(
                        args.id,
                        task_queue=args.hook_task_queue,
                        workflow_name=args.workflow_name,
                        entity=args.entity,
                        args=hook_args,
                    ),
                )
        except HookTargetError as exc:
            raise CliError(str(exc), EXIT_REFUSED) from None
        except (ValueError, TypeError) as exc:
            raise CliError(str(exc)) from None
        except TimeoutError:
            raise CliError(
                f"no answer within {args.timeout:g}s: is a worker polling {args.id!r}'s task "
                "queue? The hook may still start",
                EXIT_SERVER,
            ) from None
    if args.output == "json":
        _emit(args, {"hook_id": hook_id, "workflow_id": args.id})
    else:
        _say(hook_id)
    return EXIT_OK


async def cmd_signal(args: argparse.Namespace) -> int:
    from ..workflows import HookTargetError

    app = _app(args)
    assert app is not None
    trust = getattr(app.plugin, "trust", None)
    if trust is not None and trust.internal_keys is not None:
        raise CliError(
            "the app's workers seal internal messages (TrustPolicy(internal_keys=...)) and "
            "drop an answer from a client; ask for a hook the policy allows instead "
            "(TrustPolicy.client_hooks, `temporal-router hook`); nothing sent"
        )
    data = _parse_json(args.data, "--data") if args.data else None
    async with _client(args, [app.plugin]) as client:
        hooks = _hook_client(args, client, app)
        try:
            await hooks.signal(args.id, args.signal_id, data)
        except ValueError as exc:
            raise CliError(str(exc)) from None
        except HookTargetError as exc:
            raise CliError(str(exc), EXIT_REFUSED) from None
    _progress(f"answered {args.signal_id!r} in {args.id!r}")
    return EXIT_OK
