"""The order router: handlers, middleware, hooks, and the plugin a worker runs.

``temporal-router dev --app examples.orders`` and ``python -m examples.orders`` both use it.

Callers are verified (SECURITY.md): a worker believes a caller only from a credential signed
with a caller key, and seals what it carries to hooks with its worker keys. Both come from
the environment (``TEMPORAL_ROUTER_CALLER_KEY=id:base64``, ``TEMPORAL_ROUTER_WORKER_KEYS``);
without them the demo's own fixed keys below are used, so that the demo and the CLI run out
of the box. **Never use the demo keys anywhere else: they are in this public file.**
"""

from __future__ import annotations

import os

from temporal_router import Context, CreationRequest, DomainErrorSignal, WorkflowRouter
from temporal_router.adapter import (
    KeyRing,
    RouterPlugin,
    SharedSecretSigner,
    SharedSecretVerifier,
    TrustPolicy,
)
from temporal_router.workflows import exec_hook, hook

from ..authorization import require_role
from .hooks import ChargeCard, SendNotification, charge_card, send_email
from .models import orders

TASK_QUEUE = "orders"

#: Who may send which command; anyone else gets the ``Forbidden`` domain error.
REQUIRED_ROLE = {"Pay": "customer", "Cancel": "customer", "Ship": "warehouse"}

router = WorkflowRouter(orders)
for role in sorted(set(REQUIRED_ROLE.values())):
    router.use(require_role(role, commands={c for c, r in REQUIRED_ROLE.items() if r == role}))


@router.state("Placed").on("Pay")
async def pay(ctx: Context) -> None:
    order = ctx.data
    verdict = await exec_hook(
        task_queue=TASK_QUEUE,
        workflow_name="ChargeCard",
        args=[ctx.workflow.id, order.total, ctx.command.payload.card_token],
        timeout="2m",
    )
    if verdict["status"] != "approved":
        ctx.error("PaymentDeclined", {"reason": verdict["reason"]})
    ctx.transition(
        "Paid",
        {
            **order.model_dump(),
            "receipt": verdict["receipt"],
            "card_token": ctx.command.payload.card_token,
        },
    )
    ctx.emit("OrderPaid", {"receipt": verdict["receipt"], "amount": order.total})


@router.state("Paid").on("Ship")
async def ship(ctx: Context) -> None:
    order = ctx.data
    tracking = f"{ctx.command.payload.carrier.upper()}-{ctx.workflow.id}"
    ctx.transition(
        "Shipped",
        {**order.model_dump(), "carrier": ctx.command.payload.carrier, "tracking": tracking},
    )
    ctx.emit("OrderShipped", {"tracking": tracking})
    await hook(
        task_queue=TASK_QUEUE,
        workflow_name="SendNotification",
        args=[order.customer, f"Your order has shipped: {tracking}"],
    )


@router.state(["Placed", "Paid"]).on("Cancel")
def cancel(ctx: Context) -> None:
    ctx.transition(
        "Cancelled", {"customer": ctx.data.customer, "reason": ctx.command.payload.reason}
    )
    ctx.emit("OrderCancelled", {"reason": ctx.command.payload.reason})


@router.guard_create
def customers_place_orders(request: CreationRequest) -> None:
    """Only a verified customer creates an order."""
    caller = request.caller
    if caller is None or not caller.has_role("customer"):
        raise DomainErrorSignal(
            "Forbidden",
            {
                "required_role": "customer",
                "command": "create",
                "identity": caller.identity if caller else None,
            },
        )


_DEMO_CALLER_KEY = "demo:gf5Q9vUNuvBKQ7i6wv3QXAU1FlUtt9W0m+ZJ16r9JJ0="
_DEMO_WORKER_KEYS = "demo-worker:YGajSnItGTsHnZur9fyLOXoggrCbfAH38qcnol7Dnl4="
_caller_id, _, _caller_key = os.environ.get(
    "TEMPORAL_ROUTER_CALLER_KEY", _DEMO_CALLER_KEY
).partition(":")

#: What a worker believes: verified callers, sealed internal messages.
trust = TrustPolicy(
    callers=SharedSecretVerifier({_caller_id: _caller_key}),
    internal_keys=KeyRing.from_env()
    or KeyRing.from_env({"TEMPORAL_ROUTER_WORKER_KEYS": _DEMO_WORKER_KEYS}),
    # A verified client may ask an order to send a notification (`temporal-router hook`),
    # never to charge a card.
    client_hooks=["SendNotification"],
)
#: How this app's clients prove their callers (the CLI uses it too, unless --token is given).
CREDENTIALS = SharedSecretSigner(_caller_id, _caller_key)

plugin = RouterPlugin(
    router,
    workflows=[ChargeCard, SendNotification],
    activities=[charge_card, send_email],
    otel=True,
    trust=trust,
)
