"""Search attributes the router's entity workflows upsert, so visibility can list entities.

Both are ``Keyword`` attributes: exact-match, filterable in list queries such as
``RouterState = "Done" AND RouterDefinition = "Task"``. A server must have them registered
before a workflow can upsert them; the embedded dev server (``temporal_router.testing.DevServer``) registers
:data:`SEARCH_ATTRIBUTES` itself. On another server, register them once, e.g.::

    temporal operator search-attribute create --name RouterState --type Keyword
    temporal operator search-attribute create --name RouterDefinition --type Keyword

Example::

    from temporal_router.workflows import ROUTER_STATE
    query = f'{ROUTER_STATE.name} = "Done"'
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

__all__ = ["ROUTER_DEFINITION", "ROUTER_STATE", "SEARCH_ATTRIBUTES"]

ROUTER_STATE: SearchAttributeKey[str] = SearchAttributeKey.for_keyword("RouterState")
"""The entity's current state name, e.g. ``"Todo"``."""

ROUTER_DEFINITION: SearchAttributeKey[str] = SearchAttributeKey.for_keyword("RouterDefinition")
"""The name of the entity's workflow definition (``define_workflow(name, ...)``)."""

SEARCH_ATTRIBUTES: list[SearchAttributeKey[str]] = [ROUTER_STATE, ROUTER_DEFINITION]
"""Every search attribute the router needs registered on the server."""
