"""Pure unit tests: parse_duration, HookConfig (validation, retry policy, wire form),
the signal info exec_hook appends, and the hook inbox."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from pydantic_core import to_json
from temporalio.common import RetryPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import PayloadConverter

from temporal_router.workflows import (
    HookAnswer,
    HookConfig,
    HookFailed,
    HookLoopError,
    HookRequest,
    HookTargetError,
)
from temporal_router.workflows._config import parse_duration
from temporal_router.workflows._hooks import signal_info
from temporal_router.workflows._inbox import HookInbox
from temporal_router.workflows._messages import EntityInput, HookFailure, InboxState, RetrySettings

# -- parse_duration --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (timedelta(minutes=2), 120),
        (0, 0),
        (5, 5),
        (2.5, 2.5),
        ("30", 30),
        ("1.5", 1.5),
        ("500ms", 0.5),
        ("250 milliseconds", 0.25),
        ("5s", 5),
        ("5 seconds", 5),
        ("1 second", 1),
        ("10 sec", 10),
        ("1m", 60),
        ("2 min", 120),
        ("3 minutes", 180),
        ("1.5h", 5400),
        ("2 hours", 7200),
        ("1 day", 86400),
        ("2d", 172800),
        ("1w", 604800),
        ("  7s  ", 7),
        ("5S", 5),
        ("1 Minute", 60),
    ],
)
def test_parse_duration_reads_timedeltas_seconds_and_strings(value: Any, seconds: float) -> None:
    assert parse_duration(value) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "value",
    ["", "abc", "5 parsecs", "m5", "1m30s", "five seconds", "-1s", "1,5s", "s"],
)
def test_parse_duration_rejects_unreadable_strings(value: str) -> None:
    with pytest.raises(ValueError, match="cannot read"):
        parse_duration(value)


@pytest.mark.parametrize("value", [-1, -0.5, timedelta(seconds=-3)])
def test_parse_duration_rejects_negative_values(value: Any) -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        parse_duration(value)


@pytest.mark.parametrize("value", [True, False, None, [1], {"s": 1}, object()])
def test_parse_duration_rejects_other_types(value: Any) -> None:
    with pytest.raises(ValueError, match="expected"):
        parse_duration(value)


def test_parse_duration_names_the_field_in_errors() -> None:
    with pytest.raises(ValueError, match=r"^timeout: cannot read 'soon'"):
        parse_duration("soon", name="timeout")
    with pytest.raises(ValueError, match=r"^maximum_interval: must not be negative"):
        parse_duration(-1, name="maximum_interval")


# -- HookConfig --------------------------------------------------------------------------------------


def test_hook_config_defaults() -> None:
    config = HookConfig()
    assert config.maximum_attempts == 0  # unlimited, as in Temporal
    assert config.backoff_coefficient == 2.0
    assert config.retry_policy() == RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=None,
        maximum_attempts=0,
    )


def test_hook_config_maps_onto_the_temporal_retry_policy() -> None:
    config = HookConfig(
        maximum_attempts=5, backoff_coefficient=3, initial_interval="500ms", maximum_interval="1m"
    )
    policy = config.retry_policy()
    assert policy == RetryPolicy(
        initial_interval=timedelta(milliseconds=500),
        backoff_coefficient=3.0,
        maximum_interval=timedelta(minutes=1),
        maximum_attempts=5,
    )
    # Temporal's delay before retry k is initial * coefficient**(k-1), capped at the maximum.
    assert policy.initial_interval == timedelta(seconds=0.5)


@pytest.mark.parametrize(
    ("interval", "expected"),
    [(timedelta(seconds=3), 3), (3, 3), (2.5, 2.5), ("3s", 3), ("2 minutes", 120)],
)
def test_hook_config_intervals_accept_every_duration_form(interval: Any, expected: float) -> None:
    policy = HookConfig(initial_interval=interval, maximum_interval=interval).retry_policy()
    assert policy.initial_interval == timedelta(seconds=expected)
    assert policy.maximum_interval == timedelta(seconds=expected)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"maximum_attempts": -1}, "maximum_attempts must be >= 0"),
        ({"maximum_attempts": 2.0}, "maximum_attempts must be an int"),
        ({"maximum_attempts": True}, "maximum_attempts must be an int"),
        ({"maximum_attempts": "3"}, "maximum_attempts must be an int"),
        ({"backoff_coefficient": 0.5}, "backoff_coefficient must be >= 1"),
        ({"initial_interval": "soon"}, "initial_interval: cannot read"),
        ({"initial_interval": -1}, "initial_interval: must not be negative"),
        ({"maximum_interval": "forever"}, "maximum_interval: cannot read"),
        ({"maximum_interval": timedelta(seconds=-1)}, "maximum_interval: must not be negative"),
    ],
)
def test_hook_config_rejects_bad_values_when_built(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        HookConfig(**kwargs)


def test_hook_config_coerce_accepts_a_config_a_mapping_or_none() -> None:
    config = HookConfig(maximum_attempts=2)
    assert HookConfig.coerce(config) is config
    assert HookConfig.coerce(None) is None
    assert HookConfig.coerce({"maximum_attempts": 2, "maximum_interval": "1m"}) == HookConfig(
        maximum_attempts=2, maximum_interval="1m"
    )
    with pytest.raises(TypeError):
        HookConfig.coerce({"maximum_attempts": 2, "max_attempts": 3})
    with pytest.raises(ValueError, match="backoff_coefficient"):
        HookConfig.coerce({"backoff_coefficient": 0})


def test_hook_config_wire_form_is_json_safe_seconds_and_round_trips() -> None:
    config = HookConfig(
        maximum_attempts=4, backoff_coefficient=1.5, initial_interval="250ms", maximum_interval="2m"
    )
    wire = config.to_wire()
    assert wire == RetrySettings(
        maximum_attempts=4, backoff_coefficient=1.5, initial_interval=0.25, maximum_interval=120.0
    )
    assert json.loads(to_json(wire)) == {
        "maximum_attempts": 4,
        "backoff_coefficient": 1.5,
        "initial_interval": 0.25,
        "maximum_interval": 120.0,
    }
    coerced = HookConfig.coerce(wire)
    assert coerced is not None
    assert coerced.retry_policy() == config.retry_policy()
    assert HookConfig().to_wire().maximum_interval is None


def test_hook_config_coerce_names_unknown_fields() -> None:
    with pytest.raises(TypeError, match=r"unknown HookConfig fields \['max_attempts'\]"):
        HookConfig.coerce({"max_attempts": 3})
    with pytest.raises(TypeError, match="expected HookConfig or a mapping"):
        HookConfig.coerce(3)  # type: ignore[arg-type]


def test_hook_config_is_immutable() -> None:
    config = HookConfig()
    with pytest.raises(AttributeError):
        config.maximum_attempts = 3  # type: ignore[misc]


def test_hook_request_defaults() -> None:
    request = HookRequest("h-1", "q", "Wf")
    assert (request.args, request.config, request.reply_to) == ([], None, None)


# -- signal info, errors ------------------------------------------------------------------------------


def test_signal_info_is_exactly_signal_and_durable() -> None:
    assert signal_info("abc") == {"signal": "abc", "$durable": True}


def test_hook_loop_error_is_a_non_retryable_application_error_and_a_target_error() -> None:
    from temporalio.exceptions import ApplicationError

    error = HookLoopError("would loop")
    assert isinstance(error, ApplicationError)
    assert isinstance(error, HookTargetError)
    assert error.non_retryable
    assert error.type == "HookLoopError"
    assert error.message == "would loop"


# -- the inbox -------------------------------------------------------------------------------------------


def test_inbox_keeps_answers_in_order_and_each_take_consumes_one() -> None:
    box = HookInbox()
    assert not box.ready("a")
    box.receive(HookAnswer("a", 1))
    box.receive(HookAnswer("b", "other"))
    box.receive(HookAnswer("a", 2))
    assert box.ready("a")
    assert box.take("a") == 1
    assert box.take("a") == 2
    assert not box.ready("a")
    assert box.take("b") == "other"
    assert box.to_state() == InboxState()


def test_inbox_keeps_none_answers() -> None:
    box = HookInbox()
    box.receive(HookAnswer("a"))
    assert box.ready("a")
    assert box.take("a") is None


def test_inbox_failure_raises_hook_failed_after_pending_answers() -> None:
    box = HookInbox()
    box.receive(HookAnswer("a", "first"))
    box.receive(HookAnswer("a", error=HookFailure("h-1", "RuntimeError", "card declined")))
    assert box.take("a") == "first"
    assert box.ready("a")
    with pytest.raises(HookFailed, match="Hook h-1 failed: card declined") as caught:
        box.take("a")
    assert caught.value.hook_id == "h-1"
    assert not box.ready("a")


def test_inbox_state_round_trips_and_is_a_copy() -> None:
    box = HookInbox()
    box.receive(HookAnswer("a", {"x": 1}))
    box.receive(HookAnswer("f", error=HookFailure("h", "RuntimeError", "m")))
    state = box.to_state()
    restored = HookInbox(state)
    assert restored.to_state() == state
    assert restored.take("a") == {"x": 1}
    assert box.ready("a")  # the original is untouched
    assert HookInbox(None).to_state() == InboxState()


# -- wire shapes of earlier versions still decode -------------------------------------------------

_CONVERTERS = {
    "default": PayloadConverter.default,
    "pydantic": pydantic_data_converter.payload_converter,
}


@pytest.mark.parametrize("converter", sorted(_CONVERTERS))
def test_a_hook_failure_with_only_some_fields_still_fails_the_wait(converter: str) -> None:
    payload_converter = _CONVERTERS[converter]
    raw = PayloadConverter.default.to_payload({"id": "a", "error": {"message": "boom"}})
    answer = payload_converter.from_payload(raw, HookAnswer)
    box = HookInbox()
    box.receive(answer)
    with pytest.raises(HookFailed, match="Hook a failed: boom"):
        box.take("a")


@pytest.mark.parametrize("converter", sorted(_CONVERTERS))
def test_an_inbox_carried_by_an_earlier_version_decodes(converter: str) -> None:
    payload_converter = _CONVERTERS[converter]
    old = {
        "definition": "Task",
        "snapshot": None,
        "outbox": [
            {
                "workflow_id": "w",
                "workflow_type": "T",
                "type": "Go",
                "payload": {},
                "command_id": "c",
            }
        ],
        "hook_state": {
            "inbox": {"signals": {"s": [1]}, "failures": {"f": {"hook_id": "h", "message": "m"}}}
        },
    }
    decoded = payload_converter.from_payload(PayloadConverter.default.to_payload(old), EntityInput)
    box = HookInbox(decoded.hook_state.inbox)
    assert box.take("s") == 1
    with pytest.raises(HookFailed, match="Hook h failed: m"):
        box.take("f")
    assert decoded.outbox[0].command_id == "c"
    empty = payload_converter.from_payload(
        PayloadConverter.default.to_payload({"definition": "Task", "hook_state": {}}), EntityInput
    )
    assert empty.hook_state.inbox is None


def test_retry_settings_with_duration_strings_become_a_config() -> None:
    raw = PayloadConverter.default.to_payload(
        {
            "hook_id": "h",
            "task_queue": "q",
            "workflow_name": "W",
            "config": {"maximum_attempts": 2, "initial_interval": "5s", "maximum_interval": "1m"},
        }
    )
    request = pydantic_data_converter.payload_converter.from_payload(raw, HookRequest)
    config = HookConfig.coerce(request.config)
    assert config is not None
    assert config.retry_policy() == RetryPolicy(
        initial_interval=timedelta(seconds=5),
        maximum_interval=timedelta(minutes=1),
        maximum_attempts=2,
        backoff_coefficient=2.0,
    )
