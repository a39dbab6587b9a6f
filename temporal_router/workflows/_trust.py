"""Internal messages nobody else can forge: the workers' key ring, and seals made with it.

What only this library's own code sends — hook answers and hook requests between workflows,
the caller it carries to children and activities, a hook's command that may pass its host's
lock — carries a *seal*: an HMAC-SHA256, made with the current key of the workers' key ring,
over the message and where it goes. A receiving worker believes such a message only if the
seal verifies with a key of its ring; anyone with access to the namespace but no key can
send the message, and it is dropped (or refused) and changes nothing.

Rotation: make a new key current and keep the old one in the ring until every run that
received messages sealed with it has closed or continued-as-new; a seal is checked again
when a workflow replays, with whatever key it names.

Without a key ring (the development default) nothing is sealed and every such message is
believed, as before (SECURITY.md).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field

from temporalio import workflow

from ..router import Caller, ConfigurationError

__all__ = [
    "CARRY_SEAL_HEADER",
    "SEAL_HEADER",
    "Admission",
    "KeyRing",
    "WorkerTrust",
    "carried_in",
    "current_admission",
    "current_keys",
    "current_trust",
    "register_worker_trust",
    "using_trust",
    "worker_trust_for",
]

#: The header that carries the seal of an internal message.
SEAL_HEADER = "temporal-router-seal"
#: The header with a worker's seal over the input a run continues as new with: bound to
#: the workflow and the run that continued, so neither a client's start nor a cron or
#: retry run (which reuse a start's input and headers) passes it.
CARRY_SEAL_HEADER = "temporal-router-carry-seal"
#: The environment variable :meth:`KeyRing.from_env` reads: ``id:base64key`` pairs,
#: comma-separated, the current key first.
KEYS_ENV = "TEMPORAL_ROUTER_WORKER_KEYS"
_MIN_KEY_BYTES = 16


def _key(value: bytes | str, key_id: str) -> bytes:
    if isinstance(value, str):
        try:
            value = base64.b64decode(value, validate=True)
        except binascii.Error:
            raise ConfigurationError(f"worker key {key_id!r} is not base64") from None
    if len(value) < _MIN_KEY_BYTES:
        raise ConfigurationError(
            f"worker key {key_id!r} has {len(value)} bytes; use at least {_MIN_KEY_BYTES} "
            "(KeyRing.generate() makes one)"
        )
    return value


def _framed(parts: tuple[bytes | str, ...]) -> bytes:
    """The parts, each prefixed with its length: no two lists of parts frame alike."""
    out = bytearray()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        out += len(data).to_bytes(8, "big") + data
    return bytes(out)


@dataclass(frozen=True)
class KeyRing:
    """The keys workers seal and check internal messages with: one current, older ones kept
    for checking only.

    Example::

        ring = KeyRing("2026-12", os.environ["ROUTER_KEY"], previous={"2026-06": old_key})
        RouterPlugin(orders, trust=TrustPolicy(internal_keys=ring))
    """

    current_id: str
    current: bytes | str = field(repr=False)
    previous: Mapping[str, bytes | str] = field(default_factory=dict, repr=False)
    _keys: dict[str, bytes] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.current_id or "." in self.current_id:
            raise ConfigurationError("a worker key id is a non-empty string without '.'")
        keys = {kid: _key(key, kid) for kid, key in self.previous.items()}
        keys[self.current_id] = _key(self.current, self.current_id)
        object.__setattr__(self, "_keys", keys)

    @staticmethod
    def generate() -> str:
        """A new random 256-bit key, base64-encoded."""
        return base64.b64encode(os.urandom(32)).decode()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KeyRing | None:
        """The ring in ``TEMPORAL_ROUTER_WORKER_KEYS`` (``id:key,id:key``, current first), or
        None if it is not set.

        Raises:
            ConfigurationError: the variable is set but malformed; the message says how.
        """
        text = (os.environ if environ is None else environ).get(KEYS_ENV, "").strip()
        if not text:
            return None
        pairs = []
        for item in text.split(","):
            kid, sep, key = item.strip().partition(":")
            if not sep or not kid or not key:
                raise ConfigurationError(f"{KEYS_ENV}: expected 'id:base64key,...', got {item!r}")
            pairs.append((kid, key))
        (current_id, current), *older = pairs
        return cls(current_id, current, previous=dict(older))

    def seal(self, *parts: bytes | str) -> str:
        """The seal of ``parts`` with the current key: ``<key id>.<base64url MAC>``."""
        mac = hmac.new(self._keys[self.current_id], _framed(parts), hashlib.sha256).digest()
        return f"{self.current_id}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"

    def verify(self, seal: str | None, *parts: bytes | str) -> bool:
        """True if ``seal`` was made over ``parts`` with a key of this ring."""
        if not seal or not isinstance(seal, str) or not seal.isascii() or len(seal) > 200:
            return False  # compare_digest takes ASCII strings only: anything else is forged
        kid, _, encoded = seal.partition(".")
        key = self._keys.get(kid)
        if key is None:
            return False
        expected = hmac.new(key, _framed(parts), hashlib.sha256).digest()
        wanted = base64.urlsafe_b64encode(expected).rstrip(b"=")
        return hmac.compare_digest(wanted, encoded.encode("ascii"))


@dataclass(frozen=True)
class WorkerTrust:
    """What the worker running the current call trusts (set by its interceptor).

    Attributes:
        keys: The key ring internal messages are sealed and checked with; None: unsealed
            messages are believed (development).
        verifies_callers: Callers come only from verified credentials and sealed headers.
        require_caller: Commands and creations without a verified caller are refused.
        client_hooks: Hooked workflow types a client may ask for; None: any, unless callers
            are verified (then none).
    """

    keys: KeyRing | None = None
    verifies_callers: bool = False
    require_caller: bool = False
    client_hooks: frozenset[str] | None = None


@dataclass(frozen=True)
class Admission:
    """Who created the current workflow run, as its worker established it at the start."""

    creator: Caller | None = None
    #: Why the start's credential was refused (the run must not proceed), or None.
    refused: str | None = None


_DEVELOPMENT = WorkerTrust()
_UNKNOWN = Admission()
_trust: ContextVar[WorkerTrust | None] = ContextVar("temporal_router_trust", default=None)
_admission: ContextVar[Admission | None] = ContextVar("temporal_router_admission", default=None)


#: The trust of each task queue's workers in this process (RouterPlugin registers it), for
#: the one decision taken before any interceptor call: a workflow's construction.
_by_task_queue: dict[str, WorkerTrust] = {}


def register_worker_trust(task_queue: str, trust: WorkerTrust) -> None:
    """Record the trust of the workers polling ``task_queue`` in this process."""
    _by_task_queue[task_queue] = trust


def worker_trust_for(task_queue: str) -> WorkerTrust:
    """The trust of this process's workers on ``task_queue`` (development if unknown)."""
    return _by_task_queue.get(task_queue, _DEVELOPMENT)


def carried_in(raw: bytes) -> bool:
    """True if the current run's input (``raw``, as it arrived) is what a run of this
    workflow continued as new with, by its worker's seal; without a key ring (development),
    any continued run's input is believed."""
    info = workflow.info()
    if info.continued_run_id is None:
        return False
    keys = worker_trust_for(info.task_queue).keys
    if keys is None:
        return True
    header = (info.headers or {}).get(CARRY_SEAL_HEADER)
    try:
        seal = header.data.decode("ascii") if header is not None else None
    except UnicodeDecodeError:
        return False
    return keys.verify(seal, "carry", info.workflow_id, info.continued_run_id, raw)


def current_trust() -> WorkerTrust:
    """The trust of the worker running the current call (development if none was set)."""
    return _trust.get() or _DEVELOPMENT


def current_keys() -> KeyRing | None:
    """The worker's key ring, inside a workflow or activity it runs (None: no keys)."""
    return current_trust().keys


def current_admission() -> Admission:
    """How the current workflow run was admitted (its creator)."""
    return _admission.get() or _UNKNOWN


@contextlib.contextmanager
def using_trust(trust: WorkerTrust, admission: Admission | None = None) -> Iterator[None]:
    """Make ``trust`` (and the run's ``admission``) current in a block."""
    token = _trust.set(trust)
    admitted = _admission.set(admission) if admission is not None else None
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            if admitted is not None:
                _admission.reset(admitted)
            _trust.reset(token)
