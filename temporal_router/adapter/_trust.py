"""The trust policy of a worker: whom it believes, and how a call's caller is established.

``RouterPlugin(trust=TrustPolicy(...))`` sets it; SECURITY.md is the whole model. In short:

- With a :class:`~temporal_router.adapter.CallerVerifier` (``callers=``), a caller comes
  only from a credential that verifies at admission, or from a header sealed by a worker
  (the caller this library carries to hooks and activities). The plain caller header a
  client could write is ignored.
- With a key ring (``internal_keys=``), internal messages must carry a worker's seal.
- Without either (the default, and the dev server's), the namespace is trusted: a caller
  header is believed as sent, and internal messages need no seal.

Example::

    trust = TrustPolicy(
        callers=SharedSecretVerifier({"svc": caller_key}),
        internal_keys=KeyRing("k1", worker_key),
        require_caller=True,
    )
    client = await Client.connect(address, plugins=[RouterPlugin(orders, trust=trust)])
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import temporalio.api.common.v1
import temporalio.converter
from temporalio import workflow

from ..router import Caller, ConfigurationError
from ..workflows import LIMITS

# The key ring and the trust context the workflow side reads: internals of the workflows
# package, which only this module and the interceptor set.
from ..workflows._trust import KeyRing, WorkerTrust
from ._credentials import CREDENTIAL_HEADER, CallerVerifier, CredentialError

__all__ = [
    "CALLER_HEADER",
    "CALLER_SEAL_HEADER",
    "KeyRing",
    "TrustPolicy",
    "caller_from_headers",
    "carried_caller",
    "credential_of",
    "establish_caller",
    "sealed_caller_headers",
    "start_origin",
]

#: The header that carries the caller (plain JSON: believed only without a verifier, or
#: with a worker's seal in :data:`CALLER_SEAL_HEADER`).
CALLER_HEADER = "temporal-router-caller"
CALLER_SEAL_HEADER = "temporal-router-caller-seal"

_converter = temporalio.converter.PayloadConverter.default
Headers = Mapping[str, temporalio.api.common.v1.Payload]


@dataclass(frozen=True)
class TrustPolicy:
    """Whom a worker believes (see the module docstring and SECURITY.md).

    Attributes:
        callers: Verifies the credentials clients send; None: the caller header is believed
            as sent (development).
        internal_keys: The workers' key ring for internal messages; None: unsealed internal
            messages are believed (development). Required with ``callers``: the caller a
            worker carries to hooks and activities is sealed with it.
        require_caller: Refuse commands, creations and hook requests without a verified
            caller (instead of running them as anonymous).
        client_hooks: Hooked workflow types a client may ask a workflow to start
            (``RouterClient.hook``). None: any, when callers are not verified; none, when
            they are.
        protect_snapshots: The ``snapshot`` query answers only a verified caller.
    """

    callers: CallerVerifier | None = None
    internal_keys: KeyRing | None = None
    require_caller: bool = False
    client_hooks: Collection[str] | None = None
    protect_snapshots: bool = False

    def __post_init__(self) -> None:
        if self.callers is not None and not isinstance(self.callers, CallerVerifier):
            raise ConfigurationError(
                f"TrustPolicy(callers=...) takes a CallerVerifier, got {self.callers!r}"
            )
        if self.internal_keys is not None and not isinstance(self.internal_keys, KeyRing):
            raise ConfigurationError(
                f"TrustPolicy(internal_keys=...) takes a KeyRing, got {self.internal_keys!r}"
            )
        if self.callers is not None and self.internal_keys is None:
            raise ConfigurationError(
                "TrustPolicy(callers=...) needs internal_keys= too: workers seal the caller "
                "they carry to hooks and activities with it (KeyRing.generate() makes a key)"
            )
        if (self.require_caller or self.protect_snapshots) and self.callers is None:
            raise ConfigurationError(
                "require_caller and protect_snapshots need callers= (a CallerVerifier): "
                "without one, any client can name any caller"
            )
        if isinstance(self.client_hooks, str):
            raise ConfigurationError("client_hooks takes a collection of workflow type names")

    def worker_trust(self) -> WorkerTrust:
        """What the workflow side needs of this policy."""
        return WorkerTrust(
            keys=self.internal_keys,
            verifies_callers=self.callers is not None,
            require_caller=self.require_caller,
            client_hooks=frozenset(self.client_hooks) if self.client_hooks is not None else None,
        )


def _log() -> Any:
    import logging

    return workflow.logger if workflow.in_workflow() else logging.getLogger(__name__)


def caller_from_headers(headers: Headers | None) -> Caller | None:
    """The caller in the plain caller header, or None (a malformed or oversized header is
    ignored, and logged: it must not fail the workflow task, nor travel on)."""
    if not headers or CALLER_HEADER not in headers:
        return None
    payload = headers[CALLER_HEADER]
    if payload.ByteSize() > LIMITS.max_caller_bytes:
        _log().warning(
            "ignoring a %s header of %d bytes, limit %d",
            CALLER_HEADER,
            payload.ByteSize(),
            LIMITS.max_caller_bytes,
        )
        return None
    try:
        return Caller.from_dict(_converter.from_payload(payload, dict))
    except Exception:  # a bad header must not fail the workflow task (or the activity)
        _log().warning("ignoring malformed %s header", CALLER_HEADER)
        return None


def _sealed_caller(keys: KeyRing | None, headers: Headers | None, where: str) -> Caller | None:
    """The caller header, if a worker sealed it for this very call (``where``: see
    :func:`sealed_caller_headers`), so a seal copied from a history is good for nothing else."""
    if keys is None or not where or not headers or CALLER_HEADER not in headers:
        return None
    try:
        seal = headers.get(CALLER_SEAL_HEADER)
        seal_text = seal.data.decode("ascii") if seal is not None else None
        if not keys.verify(seal_text, "caller", where, headers[CALLER_HEADER].data):
            return None
    except Exception:  # a malformed seal is no seal: never fail the workflow task
        return None
    return caller_from_headers(headers)


def start_origin(info: Any) -> str:
    """Where a run's start seal must say it comes from: the parent's run (a child) or the
    run that continued as new into this one; "" for a start by a client, which no worker
    sealed (its caller needs a credential)."""
    parent = info.parent
    origin = parent.run_id if parent is not None else info.continued_run_id
    return f"start/{info.workflow_id}/{info.workflow_type}/{origin}" if origin else ""


def carried_caller(policy: TrustPolicy, headers: Headers | None, where: str) -> Caller | None:
    """The caller a worker carried to a signal or an activity: sealed, when callers are
    verified (credentials are checked at admission only, and these calls are replayed)."""
    if policy.callers is None:
        return caller_from_headers(headers)
    return _sealed_caller(policy.internal_keys, headers, where)


def sealed_caller_headers(
    headers: Headers | None, caller: Caller | None, keys: KeyRing | None, where: str = ""
) -> dict[str, Any]:
    """``headers`` plus the caller header, sealed with ``keys`` (if given) for ``where`` the
    call goes: ``start/<workflow id>``, ``update/<workflow id>/<update id>``,
    ``signal/<workflow id>/<signal>``, ``query/<workflow id>``,
    ``activity/<workflow id>/<activity type>``. An explicit caller header already there wins.
    """
    merged = dict(headers or {})
    if caller is not None and CALLER_HEADER not in merged:
        payload = _converter.to_payload(caller.to_dict())
        merged[CALLER_HEADER] = payload
        if keys is not None and where:
            merged[CALLER_SEAL_HEADER] = temporalio.api.common.v1.Payload(
                metadata={"encoding": b"binary/plain"},
                data=keys.seal("caller", where, payload.data).encode(),
            )
    return merged


def credential_of(headers: Headers | None) -> str | None:
    """The credential a call carries, if any."""
    if not headers or CREDENTIAL_HEADER not in headers:
        return None
    payload = headers[CREDENTIAL_HEADER]
    if payload.ByteSize() > LIMITS.max_caller_bytes:
        return ""  # too large to be one: refused as malformed
    try:
        value = _converter.from_payload(payload, str)
    except Exception:
        return ""
    return value if isinstance(value, str) else ""


def establish_caller(
    policy: TrustPolicy,
    headers: Headers | None,
    *,
    workflow_id: str,
    command_id: str | None,
    verify: bool,
    where: str,
    purpose: str,
) -> tuple[Caller | None, str | None]:
    """The caller of a call, and why its credential was refused (None if it was not).

    ``verify``: check the credential (at admission); otherwise read the caller it names
    (a call accepted before, replayed). ``purpose``: what the call is (``start``,
    ``update``, ``query``): a credential made for another purpose is refused.
    """
    if policy.callers is None:
        return caller_from_headers(headers), None
    try:
        credential = credential_of(headers)
        if credential is not None:
            if not verify:
                return policy.callers.claims(credential), None
            now = workflow.now() if workflow.in_workflow() else datetime.now(UTC)
            try:
                caller = policy.callers.verify(
                    credential,
                    workflow_id=workflow_id,
                    command_id=command_id,
                    now=now,
                    purpose=purpose,
                )
            except CredentialError as exc:
                return None, str(exc)
            return caller, None
        return _sealed_caller(policy.internal_keys, headers, where), None
    except Exception as exc:  # a verifier bug or a malformed header: refused, never a crash
        return None, f"the credential could not be verified ({type(exc).__name__})"
