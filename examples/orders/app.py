"""The order router: handlers, middleware, hooks, and the plugin a worker runs.

``temporal-router dev --app examples.orders`` and ``python -m examples.orders`` both use it.
"""

from __future__ import annotations

from temporal_router import Context, WorkflowRouter
from temporal_router.adapter import RouterPlugin
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


plugin = RouterPlugin(
    router,
    workflows=[ChargeCard, SendNotification],
    activities=[charge_card, send_email],
    otel=True,
)
