"""An app of plain workflows for the CLI (``--app tests.adapter._plain_app``): no router."""

from temporal_router.adapter import RouterPlugin

from ._plain_hooks import Adder, Approval, Counter, Goodbye, Hello

plugin = RouterPlugin(workflows=[Hello, Goodbye, Approval, Counter, Adder])
