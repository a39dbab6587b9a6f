"""Authorization middleware: reject commands from callers without a role, as a domain error.

The caller of a command (identity, roles, tenant, ...) travels in Temporal headers from the
client, set with ``caller_context(...)`` or ``RouterClient(..., context=...)``, to the entity,
to the hooks its handlers start (however deep) and to the commands those hooks send back with
``dispatch_to_host``. The router shows it to middleware and handlers as ``ctx.caller``. This
module turns it into a rule: a command runs only for a caller with an identity and the
required role; anyone else gets the domain error ``Forbidden`` (category ``domain``, so the
client receives a typed, expected failure, and nothing changes).

Declare the error in your definition, then install the rule in one line::

    from examples.authorization import Forbidden, authorization

    orders = define_workflow("Order", states=..., commands=..., events=...,
                             errors={"Forbidden": Forbidden})
    router = WorkflowRouter(orders)
    ...
    client = await Client.connect(address, plugins=[RouterPlugin(router,
                                                    extensions=[authorization("clerk")])])

    with caller_context(identity="ada", roles=["clerk"]):
        await RouterClient(client, router, task_queue="orders").dispatch("o-1", pay)  # runs
    await RouterClient(client, router, task_queue="orders").dispatch("o-1", pay)
    # -> DomainFailure(code="Forbidden", data=Forbidden(required_role="clerk", ...))

Without Temporal, ``router.use(require_role("clerk"))`` does the same for in-memory
dispatches (``router.dispatch(wf, command, caller=Caller(...))``).
"""

from __future__ import annotations

from collections.abc import Collection

from pydantic import BaseModel

from temporal_router import Context, Middleware, Next
from temporal_router.adapter import RouterExtension

__all__ = ["Forbidden", "authorization", "require_role"]


class Forbidden(BaseModel):
    """The data of the ``Forbidden`` domain error: declare ``errors={"Forbidden": Forbidden}``."""

    required_role: str
    command: str
    identity: str | None = None


def require_role(
    role: str, *, error: str = "Forbidden", commands: Collection[str] | None = None
) -> Middleware:
    """Router middleware: commands (all, or only ``commands``) need a caller with an
    identity and ``role``; others fail with domain error ``error`` (data: :class:`Forbidden`).
    """

    async def authorize(ctx: Context, next: Next) -> None:
        if commands is None or ctx.command.type in commands:
            caller = ctx.caller
            if caller is None or not caller.identity or not caller.has_role(role):
                ctx.error(
                    error,
                    Forbidden(
                        required_role=role,
                        command=ctx.command.type,
                        identity=caller.identity if caller else None,
                    ),
                )
        await next()

    authorize.__name__ = f"require_role_{role}"
    return authorize


def authorization(
    role: str, *, error: str = "Forbidden", commands: Collection[str] | None = None
) -> RouterExtension:
    """The rule of :func:`require_role` as an extension for ``RouterPlugin(extensions=[...])``.

    It runs as global middleware of every router the plugin hosts, after the routers' own.
    """
    return RouterExtension(
        f"authorization:{role}",
        middleware=[require_role(role, error=error, commands=commands)],
    )
