"""Malformed snapshots: ``deserialize`` and ``migrate`` never raise, never mutate their input,
and whatever they accept is a valid workflow that round-trips (pure, many examples).

Snapshots come from storage, other versions of the code and hand-edited JSON; an entity loads
one at every continue-as-new, so a crash here would fail the entity, not one command.
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from temporal_router import (
    MigrationError,
    ValidationError,
    define_migrations,
    define_workflow,
    migrate,
)

MANY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Open(BaseModel):
    ids: list[str] = []
    count: int
    owner: str


class Closed(BaseModel):
    reason: str


DEFINITION = define_workflow(
    "RelSnap",
    states={"Open": Open, "Closed": Closed},
    commands={},
    events={},
    errors={},
    model_version=3,
)


def _add_count(snapshot: dict[str, Any]) -> dict[str, Any]:
    # Written for well-formed v1 snapshots, as user migrations are: junk makes it raise.
    data = dict(snapshot["data"])
    if snapshot["state"] == "Open":
        data["count"] = len(data["ids"])
    return {**snapshot, "data": data}


def _rename_user(snapshot: dict[str, Any]) -> dict[str, Any]:
    data = dict(snapshot["data"])
    if "user" in data:
        data["owner"] = data.pop("user")
    return {**snapshot, "data": data}


PIPELINE = define_migrations(DEFINITION, {2: _add_count, 3: ("user -> owner", _rename_user)})

VALID_V3: dict[str, Any] = {
    "id": "s-1",
    "definition_name": "RelSnap",
    "state": "Open",
    "data": {"ids": ["a", "b"], "count": 2, "owner": "ada"},
    "created_at": "2026-01-15T10:00:00.000Z",
    "updated_at": "2026-01-15T11:30:00.250Z",
    "model_version": 3,
    "version": 7,
}
VALID_V1: dict[str, Any] = {
    **VALID_V3,
    "data": {"ids": ["a", "b"], "user": "ada"},
    "model_version": 1,
}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=16,
)
# Python values JSON cannot even hold: a snapshot may come from anywhere.
odd_values = st.sampled_from([object(), b"bytes", {1, 2}, (1, "a"), math.pi, complex(1, 2)])
anything = json_values | odd_values
keys = st.sampled_from(list(VALID_V3)) | st.text(max_size=10)
states = st.sampled_from(["Open", "Closed", "open", "", "Gone"]) | st.text(max_size=8)


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> Any:
    """A valid snapshot with a few keys removed, replaced or corrupted."""
    snapshot: dict[str, Any] = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        key = draw(keys)
        action = draw(st.sampled_from(["drop", "replace", "state", "data-field", "data"]))
        if action == "drop":
            snapshot.pop(key, None)
        elif action == "replace":
            snapshot[key] = draw(anything)
        elif action == "state":
            snapshot["state"] = draw(states)
        elif action == "data-field" and isinstance(snapshot.get("data"), dict):
            snapshot["data"][draw(st.sampled_from(["ids", "count", "owner", "user", "x"]))] = draw(
                anything
            )
        else:
            snapshot["data"] = draw(anything)
    return snapshot


snapshots = mutated(VALID_V3) | mutated(VALID_V1) | anything


def _frozen(value: Any) -> str:
    """A comparable picture of ``value`` (NaN != NaN, so compare reprs)."""
    return repr(value)


@MANY
@given(snapshot=snapshots)
def test_deserialize_never_raises_and_what_it_accepts_round_trips(snapshot: Any) -> None:
    picture = _frozen(snapshot)
    restored = DEFINITION.deserialize(snapshot)

    assert _frozen(snapshot) == picture, "deserialize changed its input"
    if not restored.ok:
        assert restored.workflow is None
        assert isinstance(restored.error, ValidationError)
        assert restored.error.source == "restore"
        assert restored.error.issues
        json.dumps(restored.error.issues, default=str)  # reportable
        return
    workflow = restored.workflow
    assert workflow is not None
    assert isinstance(workflow.data, DEFINITION.states[workflow.state])
    # Serializing normalises (this definition's name, timestamps to milliseconds); from
    # there on, a snapshot survives the JSON round trip unchanged.
    snapshot_out = DEFINITION.serialize(workflow)
    again = DEFINITION.deserialize(json.loads(json.dumps(snapshot_out)))
    assert again.ok
    assert again.workflow is not None
    assert DEFINITION.serialize(again.workflow) == snapshot_out
    assert (again.workflow.id, again.workflow.state, again.workflow.data) == (
        workflow.id,
        workflow.state,
        workflow.data,
    )


@MANY
@given(snapshot=mutated(VALID_V3))
def test_known_bad_snapshots_are_refused(snapshot: dict[str, Any]) -> None:
    restored = DEFINITION.deserialize(snapshot)
    required = ("id", "definition_name", "state", "data", "created_at", "updated_at")
    if (
        any(k not in snapshot for k in required)
        or snapshot.get("state") not in ("Open", "Closed")
        or not isinstance(snapshot.get("data"), dict)
    ):
        assert not restored.ok, snapshot


@MANY
@given(snapshot=snapshots)
def test_migrate_never_raises_whatever_the_snapshot_and_the_migrations_do(snapshot: Any) -> None:
    picture = _frozen(snapshot)
    result = migrate(PIPELINE, snapshot)

    assert _frozen(snapshot) == picture, "migrate changed its input"
    if not result.ok:
        assert result.snapshot is None
        assert isinstance(result.error, MigrationError)
        assert str(result.error)
        return
    assert result.snapshot is not None
    assert result.snapshot["model_version"] == PIPELINE.target_version
    # Loading goes on with deserialize, which must cope with whatever migrate passed on.
    restored = DEFINITION.deserialize(result.snapshot)
    assert restored.ok or isinstance(restored.error, ValidationError)


def test_the_valid_snapshots_are_valid() -> None:
    """The bases the strategies corrupt: a v3 snapshot loads, a v1 one migrates and loads."""
    assert DEFINITION.deserialize(VALID_V3).ok
    migrated = migrate(PIPELINE, VALID_V1)
    assert migrated.ok, migrated.error
    assert migrated.snapshot is not None
    restored = DEFINITION.deserialize(migrated.snapshot)
    assert restored.ok, restored.error
    assert restored.workflow is not None
    assert restored.workflow.data == Open(ids=["a", "b"], count=2, owner="ada")
