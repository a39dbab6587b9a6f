"""``HookClient``: hooks from outside a workflow, for any workflow a ``RouterPlugin`` worker
runs; no router needed. ``RouterClient`` is a ``HookClient`` for one definition's entities."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_json
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from ..router import Caller, ConfigurationError, caller_context, current_caller, dump_model
from ..workflows import (
    HOOK_REQUEST_UPDATE,
    HOOK_SIGNAL,
    LIMITS,
    HookAnswer,
    HookConfig,
    HookRequest,
    HookTargetError,
)

# The checks a workflow applies to what it receives, applied here first so that a bad
# answer fails at the caller with a message instead of arriving as a hook failure.
from ..workflows._limits import id_problem, json_problem
from ..workflows._requests import hook_request_problem
from ._credentials import CredentialSource
from ._interceptor import outgoing_credential
from ._send import rejection_of

__all__ = ["HookClient", "missing_workflow"]


class HookClient:
    """Start hooks in running workflows and answer their waits, from any process.

    Works for entities and for plain workflows, as long as their worker runs
    :class:`RouterPlugin` (``RouterPlugin(workflows=[...])`` needs no router).

    Args:
        client: A connected client (with ``RouterPlugin`` among its plugins, so that its
            data converter matches the workers').
        context: The default caller of this client's calls (a :class:`Caller` or its
            fields); a :func:`caller_context` block around a call takes precedence.
        credentials: Makes the credential each call carries, for workers that verify
            callers (SECURITY.md).

    Example::

        hooks = HookClient(client)
        await hooks.hook("greeting-1", task_queue="hooks", workflow_name="Goodbye", args=["Ada"])
        await hooks.signal("greeting-1", "approval", {"approved": True})
    """

    def __init__(
        self,
        client: Client,
        *,
        context: Caller | Mapping[str, Any] | None = None,
        credentials: CredentialSource | None = None,
    ) -> None:
        if not isinstance(client, Client):
            raise ConfigurationError(
                f"{type(self).__name__} needs a temporalio Client, got {client!r}"
            )
        if credentials is not None and not isinstance(credentials, CredentialSource):
            raise ConfigurationError(
                f"credentials takes a CredentialSource (SharedSecretSigner, StaticToken, ...), "
                f"got {credentials!r}"
            )
        self.client = client
        self.context = (
            context if context is None or isinstance(context, Caller) else Caller(**context)
        )
        self.credentials = credentials

    def _caller_scope(self) -> contextlib.AbstractContextManager[Any]:
        """Make this client's default caller current, unless a caller is already current."""
        if self.context is None or current_caller() is not None:
            return contextlib.nullcontext()
        return caller_context(self.context)

    @contextlib.contextmanager
    def _call(self) -> Iterator[None]:
        """The caller of the calls in the block, and the credential each of them carries."""
        with self._caller_scope():
            credentials, caller = self.credentials, current_caller()
            factory = (
                None
                if credentials is None
                else lambda purpose, workflow_id, update_id: credentials.credential(
                    caller, workflow_id=workflow_id, command_id=update_id, purpose=purpose
                )
            )
            token = outgoing_credential.set(factory)
            try:
                yield
            finally:
                outgoing_credential.reset(token)

    async def hook(
        self,
        workflow_id: str,
        *,
        task_queue: str | None = None,
        workflow_name: str | None = None,
        entity: str | None = None,
        args: Sequence[Any] = (),
        config: HookConfig | Mapping[str, Any] | None = None,
        hook_id: str | None = None,
    ) -> str:
        """Ask running workflow ``workflow_id`` to start a hook; return the hook id.

        The target starts the hooked workflow as its own child, so the hook's ``signal``
        answers go to the target. Sending the same ``hook_id`` twice starts one hook.

        Raises:
            HookTargetError: no queue/type given, the target is closed or unknown, or it
                refused the request (its trust policy: ``TrustPolicy.client_hooks``).
            ValueError: an id, the arguments or the config break the target's rules (empty
                or over-long ids, arguments that are not JSON or too large); nothing sent.
            TypeError: ``args`` is not a list of arguments (a string, a mapping).
        """
        if task_queue is None and entity is None:
            raise HookTargetError("hook() needs task_queue= and workflow_name=, or entity=")
        name = workflow_name or entity
        if name is None:
            raise HookTargetError("hook() needs workflow_name= (or entity=)")
        if isinstance(args, (str, bytes, Mapping)) or not isinstance(args, Sequence):
            raise TypeError(f"hook() takes args as a list of arguments, got {type(args).__name__}")
        resolved = HookConfig.coerce(config)
        request = HookRequest(
            f"{workflow_id}-hook-{uuid.uuid4().hex[:16]}" if hook_id is None else hook_id,
            name if task_queue is None else task_queue,
            name,
            list(args),
            resolved.to_wire() if resolved else None,
        )
        # The checks the target applies, here first: a bad request fails at the caller as
        # bad input, with nothing sent.
        problem = id_problem(workflow_id, "workflow_id") or hook_request_problem(request)
        if problem is not None:
            raise ValueError(f"cannot hook into {workflow_id!r}: {problem}; nothing sent")
        try:
            with self._call():
                await self.client.get_workflow_handle(workflow_id).execute_update(
                    HOOK_REQUEST_UPDATE, request, id=request.hook_id, result_type=str
                )
        except WorkflowUpdateFailedError as exc:
            wire = rejection_of(exc)
            reason = wire.message if wire is not None else str(exc.cause or exc)
            raise HookTargetError(f"{workflow_id!r} refused the hook request: {reason}") from exc
        except RPCError as exc:
            if missing_workflow(exc):
                raise HookTargetError(
                    f"cannot hook into {workflow_id!r}: it is closed or does not exist ({exc.message})"
                ) from exc
            raise
        return request.hook_id

    async def signal(self, workflow_id: str, signal_id: str, data: Any = None) -> None:
        """Answer ``wait_for(signal_id)`` in running workflow ``workflow_id`` with ``data``.

        What a hook does with ``signal(signal_id, data)``, from outside: a person approving,
        a webhook arriving. The answer waits in the workflow's inbox if nobody waits yet.
        Workers with a :class:`TrustPolicy` that seals internal messages drop answers from
        clients (only their own workflows hold the key): there, ask for a hook instead.

        Raises:
            ValueError: ``signal_id`` or ``data`` is not something a workflow accepts (not
                JSON, too deep, over ``LIMITS.max_answer_bytes``); nothing was sent.
            HookTargetError: the workflow is closed or does not exist.
        """
        if isinstance(data, BaseModel):
            data = dump_model(data)
        problem = (
            id_problem(workflow_id, "workflow_id")
            or id_problem(signal_id, "signal_id")
            or json_problem(data, "data")
        )
        if problem is None:
            size = len(to_json(data))
            if size > LIMITS.max_answer_bytes:
                problem = f"data too large: {size} bytes, limit {LIMITS.max_answer_bytes}"
        if problem is not None:
            raise ValueError(f"cannot answer {workflow_id!r}: {problem}; nothing sent")
        try:
            with self._call():
                await self.client.get_workflow_handle(workflow_id).signal(
                    HOOK_SIGNAL, HookAnswer(signal_id, data)
                )
        except RPCError as exc:
            if missing_workflow(exc):
                raise HookTargetError(
                    f"cannot answer {workflow_id!r}: it is closed or does not exist ({exc.message})"
                ) from exc
            raise


def missing_workflow(exc: RPCError) -> bool:
    """Whether the server said the workflow is not there (NOT_FOUND), as opposed to the
    namespace (also NOT_FOUND: "Namespace x is not found"), which is the caller's setup."""
    return exc.status == RPCStatusCode.NOT_FOUND and not exc.message.lower().startswith("namespace")
