"""Helpers for testing routers: in plain Python, and (with the dev extra) on Temporal.

The pure helpers import nothing from Temporal. The Temporal ones (the embedded
:class:`DevServer`, ``dev_environment``, ``time_skipping_environment``, ``find_test_server``,
``find_temporal_cli``, ``unique_task_queue``) load their module on first access, so ``import temporal_router.testing``
works without ``temporalio``. Pytest fixtures: :mod:`temporal_router.testing.pytest_plugin`.

Example::

    from temporal_router.testing import expect_ok, unique_task_queue
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from ._router import (
    PathStep,
    create_test_deps,
    create_test_workflow,
    expect_error,
    expect_ok,
    test_migration,
    test_migration_path,
    test_migration_restore,
    test_path,
)

if _TYPE_CHECKING:
    from ._binaries import DevServerError, find_temporal_cli, find_test_server
    from ._dev import DevServer
    from ._temporal import dev_environment, time_skipping_environment, unique_task_queue

#: Name -> private module, for the helpers that need temporalio (imported on first use).
_TEMPORAL_HELPERS = {
    "DevServer": "_dev",
    "DevServerError": "_binaries",
    "dev_environment": "_temporal",
    "find_temporal_cli": "_binaries",
    "find_test_server": "_binaries",
    "time_skipping_environment": "_temporal",
    "unique_task_queue": "_temporal",
}


def __getattr__(name: str) -> _Any:
    # PEP 562: import the Temporal helpers (and temporalio) only when first used.
    if name in _TEMPORAL_HELPERS:
        import importlib

        value = getattr(importlib.import_module(f".{_TEMPORAL_HELPERS[name]}", __name__), name)
        value.__module__ = __name__  # present it as temporal_router.testing.<name>
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DevServer",
    "DevServerError",
    "PathStep",
    "create_test_deps",
    "create_test_workflow",
    "dev_environment",
    "expect_error",
    "expect_ok",
    "find_temporal_cli",
    "find_test_server",
    "test_migration",
    "test_migration_path",
    "test_migration_restore",
    "test_path",
    "time_skipping_environment",
    "unique_task_queue",
]
