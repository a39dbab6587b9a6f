"""Work beside an order, as hooked workflows: a payment (answers) and a notification (does not).

Hooked workflows are ordinary Temporal workflows; their module is imported in the workflow
sandbox, so library imports go through ``imports_passed_through``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from temporal_router.workflows import signal


@activity.defn
async def charge_card(order_id: str, amount: int, card_token: str) -> dict[str, Any]:
    """A stand-in payment gateway: tokens starting with ``tok_declined`` are declined."""
    if card_token.startswith("tok_declined"):
        return {"status": "declined", "reason": "insufficient funds"}
    return {"status": "approved", "receipt": f"rcpt-{order_id}-{amount}"}


@activity.defn
async def send_email(customer: str, message: str) -> None:
    """A stand-in mailer."""
    activity.logger.info("email to %s: %s", customer, message)


@workflow.defn(name="ChargeCard")
class ChargeCard:
    """Charge the card, then answer the waiting order with the gateway's verdict."""

    @workflow.run
    async def run(self, order_id: str, amount: int, card_token: str, reply: dict[str, Any]) -> None:
        verdict = await workflow.execute_activity(
            charge_card,
            args=[order_id, amount, card_token],
            start_to_close_timeout=timedelta(seconds=30),
        )
        await signal(reply["signal"], verdict)


@workflow.defn(name="SendNotification")
class SendNotification:
    """Fire-and-forget: nobody waits for this one."""

    @workflow.run
    async def run(self, customer: str, message: str) -> None:
        await workflow.execute_activity(
            send_email, args=[customer, message], start_to_close_timeout=timedelta(seconds=30)
        )
