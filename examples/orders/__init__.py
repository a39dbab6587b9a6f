"""Example application: an order (placed -> paid -> shipped) on Temporal.

It shows a typed definition, an authorization middleware reading the caller from Temporal
headers, a payment hook the handler waits for (``exec_hook``), a notification hook it does
not wait for (``hook``), and OpenTelemetry traces. Run it with ``bash scripts/demo.sh``.
"""

from .app import CREDENTIALS, REQUIRED_ROLE, TASK_QUEUE, plugin, router, trust
from .models import orders

__all__ = ["CREDENTIALS", "REQUIRED_ROLE", "TASK_QUEUE", "orders", "plugin", "router", "trust"]
