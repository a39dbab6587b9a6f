"""The order entity: states, commands, events and errors, each a pydantic model."""

from __future__ import annotations

from pydantic import BaseModel, Field

from temporal_router import define_workflow, server

from ..authorization import Forbidden


class Item(BaseModel):
    sku: str
    quantity: int = Field(gt=0)
    unit_price: int = Field(ge=0, description="cents")


class Placed(BaseModel):
    customer: str
    items: list[Item]
    total: int


class Paid(Placed):
    receipt: str
    card_token: str = server("")  # never sent to clients (serialize_for_client)


class Shipped(Paid):
    carrier: str
    tracking: str


class Cancelled(BaseModel):
    customer: str
    reason: str


class Pay(BaseModel):
    card_token: str


class Ship(BaseModel):
    carrier: str


class Cancel(BaseModel):
    reason: str


class OrderPaid(BaseModel):
    receipt: str
    amount: int


class OrderShipped(BaseModel):
    tracking: str


class OrderCancelled(BaseModel):
    reason: str


class PaymentDeclined(BaseModel):
    reason: str


orders = define_workflow(
    "Order",
    states={"Placed": Placed, "Paid": Paid, "Shipped": Shipped, "Cancelled": Cancelled},
    commands={"Pay": Pay, "Ship": Ship, "Cancel": Cancel},
    events={"OrderPaid": OrderPaid, "OrderShipped": OrderShipped, "OrderCancelled": OrderCancelled},
    errors={"PaymentDeclined": PaymentDeclined, "Forbidden": Forbidden},
)
