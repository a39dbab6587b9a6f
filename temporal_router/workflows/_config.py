"""Durations and retry settings of durable hooks.

Durations accept a ``timedelta``, seconds, or strings like ``"500ms"``, ``"1m"``,
``"2 hours"``; :class:`HookConfig` becomes a hooked workflow's Temporal ``RetryPolicy``.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.common import RetryPolicy

from ._messages import RetrySettings

__all__ = ["HookConfig", "parse_duration"]

_UNITS = {
    "ms": 0.001,
    "msec": 0.001,
    "millisecond": 0.001,
    "milliseconds": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hrs": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
    "w": 604800.0,
    "week": 604800.0,
    "weeks": 604800.0,
}
#: Temporal keeps attempts in an int32 and durations in protobuf Durations.
_MAX_ATTEMPTS = 2**31 - 1
_MAX_SECONDS = 100 * 365 * 86_400
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_duration(value: timedelta | float | int | str, *, name: str = "duration") -> timedelta:
    """A ``timedelta`` from a ``timedelta``, seconds, or a string like ``"1m"``/``"5 seconds"``.

    A bare number string is seconds. Negative or unparseable values raise ``ValueError``.

    Example::

        parse_duration("1m") == timedelta(minutes=1)
        parse_duration(2.5) == timedelta(seconds=2.5)
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise ValueError(f"{name}: expected a duration, got {value!r}")
    elif isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        match = _DURATION.match(value)
        unit = match.group(2).lower() if match else None
        if match is None or (unit and unit not in _UNITS):
            raise ValueError(
                f"{name}: cannot read {value!r}; use seconds or strings like '500ms', '5s', "
                "'1m', '2 hours', '1 day'"
            )
        seconds = float(match.group(1)) * (_UNITS[unit] if unit else 1.0)
    else:
        raise ValueError(f"{name}: expected timedelta, seconds or a string, got {value!r}")
    if not math.isfinite(seconds):
        raise ValueError(f"{name}: must be finite, got {value!r}")
    if seconds < 0:
        raise ValueError(f"{name}: must not be negative, got {value!r}")
    if seconds > _MAX_SECONDS:
        raise ValueError(f"{name}: at most 100 years, got {value!r}")
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class HookConfig:
    """Retry settings of a hooked workflow; they become the child's ``RetryPolicy``.

    ``maximum_attempts`` counts all attempts (1 = no retry, 0 = unlimited), as in Temporal;
    the delay before retry *k* is ``initial_interval * backoff_coefficient**(k-1)``, capped
    at ``maximum_interval``. Durations accept ``timedelta``, seconds or strings (``"1m"``).

    Example::

        await hook(task_queue="enrichment", workflow_name="EnrichProfile", args=[profile_id],
                   config=HookConfig(maximum_attempts=5, backoff_coefficient=2,
                                     maximum_interval="1m"))
    """

    maximum_attempts: int = 0
    backoff_coefficient: float = 2.0
    initial_interval: timedelta | float | str = timedelta(seconds=1)
    maximum_interval: timedelta | float | str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.maximum_attempts, bool) or not isinstance(self.maximum_attempts, int):
            raise ValueError(f"maximum_attempts must be an int, got {self.maximum_attempts!r}")
        if self.maximum_attempts < 0:
            raise ValueError(f"maximum_attempts must be >= 0, got {self.maximum_attempts}")
        if self.maximum_attempts > _MAX_ATTEMPTS:
            raise ValueError(
                f"maximum_attempts must be at most {_MAX_ATTEMPTS}, got {self.maximum_attempts}"
            )
        if not isinstance(self.backoff_coefficient, (int, float)) or isinstance(
            self.backoff_coefficient, bool
        ):
            raise ValueError(
                f"backoff_coefficient must be a number, got {self.backoff_coefficient!r}"
            )
        if not math.isfinite(self.backoff_coefficient) or self.backoff_coefficient > 1_000:
            raise ValueError(
                f"backoff_coefficient must be at most 1000, got {self.backoff_coefficient}"
            )
        if self.backoff_coefficient < 1:
            raise ValueError(f"backoff_coefficient must be >= 1, got {self.backoff_coefficient}")
        parse_duration(self.initial_interval, name="initial_interval")
        if self.maximum_interval is not None:
            parse_duration(self.maximum_interval, name="maximum_interval")

    @classmethod
    def coerce(
        cls, value: HookConfig | RetrySettings | Mapping[str, Any] | None
    ) -> HookConfig | None:
        """Accept a ``HookConfig``, its wire form, a mapping of its fields, or None.

        Raises:
            TypeError: not a config, or an unknown field; the message names it.
            ValueError: a bad value; the message names it.
        """
        if value is None or isinstance(value, HookConfig):
            return value
        if isinstance(value, RetrySettings):
            return cls(**dataclasses.asdict(value))
        if not isinstance(value, Mapping):
            raise TypeError(f"config: expected HookConfig or a mapping, got {value!r}")
        unknown = set(value) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise TypeError(f"config: unknown HookConfig fields {sorted(unknown)}")
        return cls(**value)

    def retry_policy(self) -> RetryPolicy:
        """The Temporal retry policy these settings mean."""
        initial = parse_duration(self.initial_interval, name="initial_interval")
        maximum = (
            parse_duration(self.maximum_interval, name="maximum_interval")
            if self.maximum_interval is not None
            else None
        )
        return RetryPolicy(
            initial_interval=initial,
            backoff_coefficient=self.backoff_coefficient,
            maximum_interval=maximum,
            maximum_attempts=self.maximum_attempts,
        )

    def to_wire(self) -> RetrySettings:
        """The settings as they travel in a :class:`HookRequest`, durations in seconds."""
        return RetrySettings(
            maximum_attempts=self.maximum_attempts,
            backoff_coefficient=self.backoff_coefficient,
            initial_interval=parse_duration(self.initial_interval).total_seconds(),
            maximum_interval=(
                parse_duration(self.maximum_interval).total_seconds()
                if self.maximum_interval is not None
                else None
            ),
        )
