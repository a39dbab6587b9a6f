"""Verified callers: credentials clients send, and the verifiers workers check them with.

A client sends a *credential* (a token) in the ``temporal-router-credential`` header; a
worker configured with a :class:`CallerVerifier` believes a caller only from a credential
that verifies, at admission (an Update's validator, a workflow's start), against workflow
time. A command whose credential does not verify is refused; one without a credential is
anonymous (or refused, with ``TrustPolicy(require_caller=True)``). A command a worker
accepted is never verified again: on replay its caller is read from the credential as it
was accepted, so rotating keys cannot change what a replay sees.

Two verifiers come with the library:

- :class:`SharedSecretVerifier` (with :class:`SharedSecretSigner` on the client): HMAC-SHA256
  over the caller, the workflow id, the command id and an expiry, for service-to-service
  callers that share a secret with the workers (stdlib only).
- :class:`JwtVerifier`: JWTs from the organisation's identity provider (RS256, ES256 or
  EdDSA; public keys or a static JWKS; ``iss``, ``aud``, ``exp`` checked), claims mapped to a
  :class:`~temporal_router.Caller` (extra ``temporal-router[jwt]``).

Example::

    key = {"svc-1": os.environ["ROUTER_CALLER_KEY"]}
    RouterPlugin(orders, trust=TrustPolicy(callers=SharedSecretVerifier(key)))        # worker
    RouterClient(client, orders, task_queue="orders",
                 credentials=SharedSecretSigner("svc-1", key["svc-1"]))               # client
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from ..router import Caller, ConfigurationError, RouterError

__all__ = [
    "CREDENTIAL_HEADER",
    "CallerVerifier",
    "CredentialError",
    "CredentialSource",
    "JwtVerifier",
    "SharedSecretSigner",
    "SharedSecretVerifier",
    "StaticToken",
]

#: The header that carries a caller's credential.
CREDENTIAL_HEADER = "temporal-router-credential"
_PREFIX = "trs1"


class CredentialError(RouterError):
    """A credential that does not verify: malformed, forged, expired, or for another target."""


@runtime_checkable
class CallerVerifier(Protocol):
    """Turns a credential into the caller it vouches for (on the worker side)."""

    def verify(
        self,
        credential: str,
        *,
        workflow_id: str,
        command_id: str | None,
        now: datetime,
        purpose: str,
    ) -> Caller:
        """The caller ``credential`` vouches for, for this workflow, command (an Update's id)
        and ``purpose`` (``start``, ``update`` or ``query``), at ``now``.

        Raises:
            CredentialError: it does not verify; the message says why.
        """
        ...

    def claims(self, credential: str) -> Caller:
        """The caller a credential names, unverified: for replaying a command that was
        verified when it was accepted."""
        ...


@runtime_checkable
class CredentialSource(Protocol):
    """Makes the credential a client sends with a call (on the client side)."""

    def credential(
        self, caller: Caller | None, *, workflow_id: str, command_id: str | None, purpose: str
    ) -> str | None:
        """The credential for a call to ``workflow_id``: ``purpose`` ``start``, ``query``, or
        ``update`` (with the Update's id, ``command_id``)."""
        ...


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _secret(key: bytes | str, key_id: str) -> bytes:
    if isinstance(key, str):
        try:
            key = base64.b64decode(key, validate=True)
        except binascii.Error:
            raise ConfigurationError(f"caller key {key_id!r} is not base64") from None
    if len(key) < 16:
        raise ConfigurationError(f"caller key {key_id!r} has {len(key)} bytes; use at least 16")
    return key


class SharedSecretSigner:
    """Signs the current caller for each call: an HMAC over the caller, the target workflow,
    the command id and an expiry (``ttl`` from now).

    Example::

        signer = SharedSecretSigner("svc-1", os.environ["ROUTER_CALLER_KEY"])
        RouterClient(client, orders, task_queue="orders", credentials=signer)
    """

    def __init__(
        self, key_id: str, key: bytes | str, *, ttl: timedelta = timedelta(minutes=5)
    ) -> None:
        if not key_id or "." in key_id:
            raise ConfigurationError("a caller key id is a non-empty string without '.'")
        self.key_id = key_id
        self._key = _secret(key, key_id)
        self.ttl = ttl

    def credential(
        self, caller: Caller | None, *, workflow_id: str, command_id: str | None, purpose: str
    ) -> str | None:
        """See :class:`CredentialSource`; None for no caller (anonymous)."""
        if caller is None:
            return None
        expires = datetime.now(UTC) + self.ttl
        body = json.dumps(
            {
                "caller": caller.to_dict(),
                "wid": workflow_id,
                "cid": command_id,
                "p": purpose,
                "exp": int(expires.timestamp()),
            },
            separators=(",", ":"),
            sort_keys=True,
        ).encode()
        mac = hmac.new(self._key, body, hashlib.sha256).digest()
        return f"{_PREFIX}.{self.key_id}.{_b64(body)}.{_b64(mac)}"


class SharedSecretVerifier:
    """Verifies :class:`SharedSecretSigner` credentials with the shared keys, by key id.

    Rotation: add the new key (a new id) here, move the clients to it, then drop the old.
    """

    def __init__(self, keys: Mapping[str, bytes | str]) -> None:
        if not keys:
            raise ConfigurationError("SharedSecretVerifier needs at least one key")
        self._keys = {kid: _secret(key, kid) for kid, key in keys.items()}

    @staticmethod
    def _split(credential: str) -> tuple[str, bytes, bytes]:
        parts = credential.split(".") if isinstance(credential, str) else []
        if len(parts) != 4 or parts[0] != _PREFIX:
            raise CredentialError("not a shared-secret credential")
        try:
            return parts[1], _unb64(parts[2]), _unb64(parts[3])
        except (binascii.Error, ValueError):
            raise CredentialError("malformed credential") from None

    @staticmethod
    def _body(body: bytes) -> dict[str, Any]:
        try:
            data = json.loads(body)
        except ValueError:
            raise CredentialError("malformed credential") from None
        if not isinstance(data, dict) or not isinstance(data.get("caller"), dict):
            raise CredentialError("malformed credential")
        return data

    def verify(
        self,
        credential: str,
        *,
        workflow_id: str,
        command_id: str | None,
        now: datetime,
        purpose: str,
    ) -> Caller:
        """See :class:`CallerVerifier`: the token must name this workflow, this purpose,
        and for an Update this Update's id."""
        key_id, body, mac = self._split(credential)
        key = self._keys.get(key_id)
        if key is None:
            raise CredentialError(f"unknown caller key {key_id!r}")
        if not hmac.compare_digest(hmac.new(key, body, hashlib.sha256).digest(), mac):
            raise CredentialError("the credential's signature does not verify")
        data = self._body(body)
        if data.get("wid") != workflow_id:
            raise CredentialError("the credential is for another workflow")
        if data.get("p") != purpose:
            raise CredentialError(f"the credential is not for a {purpose}")
        if data.get("cid") != command_id:
            raise CredentialError("the credential is for another command")
        expiry = data.get("exp")
        if not isinstance(expiry, int) or expiry <= now.timestamp():
            raise CredentialError("the credential has expired")
        return Caller.from_dict(data["caller"])

    def claims(self, credential: str) -> Caller:
        """See :class:`CallerVerifier`."""
        return Caller.from_dict(self._body(self._split(credential)[1])["caller"])


class StaticToken:
    """Sends the same token with every call: a JWT from an identity provider, say.

    Example::

        RouterClient(client, orders, task_queue="orders", credentials=StaticToken(jwt))
    """

    def __init__(self, token: str) -> None:
        if not token:
            raise ConfigurationError("StaticToken needs a token")
        self.token = token

    def credential(
        self, caller: Caller | None, *, workflow_id: str, command_id: str | None, purpose: str
    ) -> str | None:
        """See :class:`CredentialSource`."""
        return self.token


class JwtVerifier:
    """Verifies JWTs (PyJWT; extra ``temporal-router[jwt]``) and maps their claims to a caller.

    Args:
        keys: The identity provider's public keys: one PEM, several, or a static JWKS
            (``{"keys": [...]}``, matched by ``kid``).
        issuer: The required ``iss``.
        audience: The required ``aud`` (one or several).
        algorithms: Accepted signature algorithms (never ``none`` or HMAC).
        leeway: Clock skew allowed for ``exp``/``nbf``.
        identity_claim: The claim that becomes the caller's ``identity``.
        roles_claim: The claim that becomes its ``roles``.
        tenant_claim: The claim that becomes its ``tenant``. Every other claim goes to
            ``extra``.

    Example::

        JwtVerifier(keys=jwks, issuer="https://id.example.com/", audience="orders-api")
    """

    def __init__(
        self,
        *,
        keys: str | Sequence[str] | Mapping[str, Any],
        issuer: str,
        audience: str | Collection[str],
        algorithms: Sequence[str] = ("RS256", "ES256", "EdDSA"),
        leeway: timedelta = timedelta(seconds=30),
        identity_claim: str = "sub",
        roles_claim: str = "roles",
        tenant_claim: str = "tenant",
    ) -> None:
        try:
            import jwt
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "JwtVerifier needs PyJWT: pip install 'temporal-router[jwt]'"
            ) from exc
        bad = [a for a in algorithms if a.lower() == "none" or a.upper().startswith("HS")]
        if bad or not algorithms:
            raise ConfigurationError(f"JwtVerifier takes asymmetric algorithms only, got {bad}")
        self._jwt = jwt
        self.algorithms = list(algorithms)
        self.issuer = issuer
        self.audience = [audience] if isinstance(audience, str) else list(audience)
        self.leeway = leeway
        self.identity_claim, self.roles_claim, self.tenant_claim = (
            identity_claim,
            roles_claim,
            tenant_claim,
        )
        if isinstance(keys, Mapping):
            self._by_kid = {k.key_id: k for k in jwt.PyJWKSet.from_dict(dict(keys)).keys}
            self._keys: list[Any] = list(self._by_kid.values())
        else:
            from cryptography.hazmat.primitives.serialization import load_pem_public_key

            pems = [keys] if isinstance(keys, str) else list(keys)
            self._by_kid = {}
            # Loaded here, once, and not inside a workflow task on first use.
            self._keys = [load_pem_public_key(pem.encode()) for pem in pems]

    def _decode(self, token: str, key: Any, now: datetime) -> dict[str, Any]:
        jwt = self._jwt
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key if hasattr(key, "key") else key,
            algorithms=self.algorithms,
            audience=self.audience,
            issuer=self.issuer,
            # exp and nbf are checked below, against workflow time, not this machine's clock.
            options={"verify_exp": False, "verify_nbf": False, "require": ["exp", "iss", "aud"]},
        )
        slack = self.leeway.total_seconds()
        if (
            not isinstance(claims.get("exp"), (int, float))
            or claims["exp"] + slack <= now.timestamp()
        ):
            raise CredentialError("the token has expired")
        nbf = claims.get("nbf")
        if isinstance(nbf, (int, float)) and nbf - slack > now.timestamp():
            raise CredentialError("the token is not valid yet")
        return claims

    def verify(
        self,
        credential: str,
        *,
        workflow_id: str,
        command_id: str | None,
        now: datetime,
        purpose: str,
    ) -> Caller:
        """See :class:`CallerVerifier`; a JWT is bound to no workflow, command or purpose."""
        jwt = self._jwt
        try:
            kid = jwt.get_unverified_header(credential).get("kid")
        except jwt.PyJWTError:
            raise CredentialError("not a JWT") from None
        candidates = [self._by_kid[kid]] if kid in self._by_kid else self._keys
        last: Exception | None = None
        for key in candidates:
            try:
                return self._caller(self._decode(credential, key, now))
            except CredentialError:
                raise
            except jwt.PyJWTError as exc:
                last = exc
        raise CredentialError(f"the token does not verify: {last}")

    def claims(self, credential: str) -> Caller:
        """See :class:`CallerVerifier`."""
        return self._caller(self._jwt.decode(credential, options={"verify_signature": False}))

    def _caller(self, claims: Mapping[str, Any]) -> Caller:
        roles = claims.get(self.roles_claim) or ()
        if isinstance(roles, str):
            roles = roles.split()
        taken = {self.identity_claim, self.roles_claim, self.tenant_claim}
        return Caller(
            identity=_str_or_none(claims.get(self.identity_claim)),
            tenant=_str_or_none(claims.get(self.tenant_claim)),
            roles=tuple(str(r) for r in roles),
            extra={k: v for k, v in claims.items() if k not in taken},
        )


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
