"""Helpers for testing routers in plain Python; they raise ``AssertionError`` on mismatch.

They work with any test runner. ``test_path`` and the ``test_migration*`` helpers carry
``__test__ = False`` so pytest does not collect them when imported into a test module.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..router import (
    DispatchResult,
    MigrationPipeline,
    Workflow,
    WorkflowDefinition,
    WorkflowRouter,
    migrate,
    to_iso,
    utc_now,
)

__all__ = [
    "PathStep",
    "create_test_deps",
    "create_test_workflow",
    "expect_error",
    "expect_ok",
    "test_migration",
    "test_migration_path",
    "test_migration_restore",
    "test_path",
]

T = TypeVar("T")
_ALPHABET = string.ascii_lowercase + string.digits


def _describe(result: DispatchResult) -> str:
    error = result.error
    if error is None:
        return "no error"
    fields = {k: getattr(error, k) for k in error.__dataclass_fields__}
    return json.dumps(fields, default=repr)


def create_test_workflow(
    definition: WorkflowDefinition, state: str, data: Any, *, id: str | None = None
) -> Workflow:
    """``definition.create_workflow`` with a default id ``test-<7 random chars>``."""
    workflow_id = (
        id if id is not None else "test-" + "".join(secrets.choice(_ALPHABET) for _ in range(7))
    )
    return definition.create_workflow(workflow_id, initial_state=state, data=data)


def expect_ok(result: DispatchResult, expected_state: str | None = None) -> Workflow:
    """Assert ``result`` is ok (and in ``expected_state``); return its workflow."""
    if not result.ok or result.workflow is None:
        raise AssertionError(f"Expected ok result, but got error: {_describe(result)}")
    if expected_state is not None and result.workflow.state != expected_state:
        raise AssertionError(f"Expected state '{expected_state}' but got '{result.workflow.state}'")
    return result.workflow


def expect_error(result: DispatchResult, category: str, code: str | None = None) -> Any:
    """Assert ``result`` failed with ``category`` (and ``code``); return the error.

    Unlike the reference, ``code`` is checked for every category: it is compared with the
    error's ``code`` (domain, router) or ``source`` (validation), and passing a code for a
    category that has neither fails rather than being ignored.
    """
    if result.ok or result.error is None:
        raise AssertionError(
            f"Expected error '{category}', but got ok (state {result.workflow.state if result.workflow else '?'})"
        )
    error = result.error
    if error.category != category:
        raise AssertionError(
            f"Expected error category '{category}' but got '{error.category}': {error.message}"
        )
    if code is not None:
        actual = getattr(error, "code", None) or getattr(error, "source", None)
        if actual != code:
            raise AssertionError(f"Expected error code '{code}' but got '{actual}'")
    return error


@dataclass(frozen=True, slots=True)
class PathStep:
    """One step of :func:`test_path`. The first step needs ``start`` and ``data``."""

    command: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    expect: str | None = None
    start: str | None = None
    data: Any = None


async def test_path(
    router: WorkflowRouter,
    definition: WorkflowDefinition,
    steps: Sequence[PathStep | Mapping[str, Any]],
) -> Workflow:
    """Create a workflow from the first step, dispatch every step, check each state.

    Example::

        await test_path(router, tasks, [
            {"start": "Todo", "data": {"title": "x"}, "command": "Start",
             "payload": {"assignee": "ada"}, "expect": "Doing"},
            {"command": "Finish", "expect": "Done"},
        ])
    """
    if not steps:
        raise AssertionError("testPath requires at least one step")
    parsed = [s if isinstance(s, PathStep) else PathStep(**s) for s in steps]
    first = parsed[0]
    if first.start is None:
        raise AssertionError("Step 1: the first step needs 'start' (and 'data')")
    workflow = create_test_workflow(definition, first.start, first.data or {})
    for number, step in enumerate(parsed, start=1):
        result = await router.dispatch(
            workflow, {"type": step.command, "payload": dict(step.payload)}
        )
        if not result.ok or result.workflow is None:
            raise AssertionError(
                f"Step {number}: dispatch '{step.command}' failed: {_describe(result)}"
            )
        workflow = result.workflow
        if step.expect is not None and workflow.state != step.expect:
            raise AssertionError(
                f"Step {number}: Expected state '{step.expect}' but got '{workflow.state}'"
            )
    return workflow


def create_test_deps(deps: T) -> T:
    """Identity: a typed place to build partial dependencies for tests."""
    return deps


def _test_snapshot(
    pipeline: MigrationPipeline, version: int, data: Mapping[str, Any], state: str | None
) -> dict[str, Any]:
    definition = pipeline.definition
    if state is None:
        if not definition.states:
            raise AssertionError(f"Definition {definition.name!r} has no states")
        state = next(iter(definition.states))
    now = to_iso(utc_now())
    return {
        "id": "test-migration",
        "definition_name": definition.name,
        "state": state,
        "data": dict(data),
        "created_at": now,
        "updated_at": now,
        "model_version": version,
        "version": 1,
    }


def test_migration(
    pipeline: MigrationPipeline,
    *,
    from_version: int,
    input: Mapping[str, Any],
    expected: Mapping[str, Any],
    state: str | None = None,
) -> None:
    """Run the single step ``from_version -> from_version + 1`` and compare its ``data``."""
    entry = pipeline.steps.get(from_version + 1)
    if entry is None:
        raise AssertionError(f"No migration step from version {from_version}")
    out = entry.fn(_test_snapshot(pipeline, from_version, input, state))
    if out.get("data") != dict(expected):
        raise AssertionError(
            f"Migration {from_version} → {from_version + 1}: expected {dict(expected)!r}, got {out.get('data')!r}"
        )


def test_migration_path(
    pipeline: MigrationPipeline,
    *,
    from_version: int,
    input: Mapping[str, Any],
    expected: Mapping[str, Any],
    expect_version: int | None = None,
    state: str | None = None,
) -> dict[str, Any]:
    """Migrate from ``from_version`` to the target and compare the final ``data``."""
    result = migrate(pipeline, _test_snapshot(pipeline, from_version, input, state))
    if not result.ok or result.snapshot is None:
        raise AssertionError(f"Migration failed: {result.error}")
    target = expect_version if expect_version is not None else pipeline.target_version
    if result.snapshot["model_version"] != target:
        raise AssertionError(
            f"Expected model_version {target} but got {result.snapshot['model_version']}"
        )
    if result.snapshot["data"] != dict(expected):
        raise AssertionError(f"Expected data {dict(expected)!r}, got {result.snapshot['data']!r}")
    return result.snapshot


def test_migration_restore(
    pipeline: MigrationPipeline,
    *,
    from_version: int,
    input: Mapping[str, Any],
    expect_state: str | None = None,
    state: str | None = None,
) -> Workflow:
    """Migrate, then deserialize with the definition; return the restored workflow."""
    result = migrate(pipeline, _test_snapshot(pipeline, from_version, input, state))
    if not result.ok or result.snapshot is None:
        raise AssertionError(f"Migration failed: {result.error}")
    restored = pipeline.definition.deserialize(result.snapshot)
    if not restored.ok or restored.workflow is None:
        raise AssertionError(f"Restore failed: {restored.error}")
    if expect_state is not None and restored.workflow.state != expect_state:
        raise AssertionError(f"Expected state '{expect_state}' but got '{restored.workflow.state}'")
    return restored.workflow


for _helper in (test_path, test_migration, test_migration_path, test_migration_restore):
    setattr(_helper, "__test__", False)  # noqa: B010

for _name in __all__:  # present the helpers as temporal_router.testing.<name>
    globals()[_name].__module__ = "temporal_router.testing"
del _helper, _name
