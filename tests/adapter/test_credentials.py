"""Credentials on their own: shared-secret tokens and JWTs, what verifies and what does not.

The dev-server tests of the same verifiers behind a worker are in ``test_trust.py``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from temporal_router import Caller, ConfigurationError
from temporal_router.adapter import (
    CredentialError,
    JwtVerifier,
    KeyRing,
    SharedSecretSigner,
    SharedSecretVerifier,
    StaticToken,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
ADA = Caller(identity="ada", roles=("clerk",), tenant="acme")

# -- shared secret --------------------------------------------------------------------------


def _pair(ttl: timedelta = timedelta(minutes=5)) -> tuple[SharedSecretSigner, SharedSecretVerifier]:
    key = KeyRing.generate()
    return SharedSecretSigner("svc", key, ttl=ttl), SharedSecretVerifier({"svc": key})


def test_a_shared_secret_token_vouches_for_its_caller_workflow_purpose_and_command() -> None:
    signer, verifier = _pair()
    token = signer.credential(ADA, workflow_id="w1", command_id="c1", purpose="update")
    assert token is not None
    now = datetime.now(UTC)
    assert (
        verifier.verify(token, workflow_id="w1", command_id="c1", now=now, purpose="update") == ADA
    )
    assert verifier.claims(token) == ADA
    for workflow_id, command_id, purpose, reason in [
        ("w2", "c1", "update", "another workflow"),
        ("w1", "c2", "update", "another command"),
        ("w1", None, "start", "not for a start"),
        ("w1", None, "query", "not for a query"),
    ]:
        with pytest.raises(CredentialError, match=reason):
            verifier.verify(
                token, workflow_id=workflow_id, command_id=command_id, now=now, purpose=purpose
            )
    assert signer.credential(None, workflow_id="w1", command_id=None, purpose="start") is None


def test_a_shared_secret_token_expires_by_the_time_it_is_checked_at() -> None:
    signer, verifier = _pair(ttl=timedelta(minutes=1))
    token = signer.credential(ADA, workflow_id="w", command_id=None, purpose="start")
    assert token is not None
    later = datetime.now(UTC) + timedelta(minutes=2)
    with pytest.raises(CredentialError, match="expired"):
        verifier.verify(token, workflow_id="w", command_id=None, now=later, purpose="start")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature
        lambda t: t.replace(t.split(".")[2], base64.urlsafe_b64encode(b'{"caller":{}}').decode()),
        lambda t: "trs1.other." + ".".join(t.split(".")[2:]),  # unknown key
        lambda t: "garbage",
        lambda t: "trs1.svc.!!!.!!!",
    ],
    ids=["signature", "body", "key-id", "garbage", "not-base64"],
)
def test_a_tampered_shared_secret_token_does_not_verify(mangle: Any) -> None:
    signer, verifier = _pair()
    token = signer.credential(ADA, workflow_id="w", command_id=None, purpose="start")
    assert token is not None
    with pytest.raises(CredentialError):
        verifier.verify(
            mangle(token), workflow_id="w", command_id=None, now=datetime.now(UTC), purpose="start"
        )


def test_keys_are_checked_when_configured() -> None:
    with pytest.raises(ConfigurationError, match="at least 16"):
        SharedSecretSigner("svc", base64.b64encode(b"short").decode())
    with pytest.raises(ConfigurationError, match="not base64"):
        SharedSecretVerifier({"svc": "!!!"})
    with pytest.raises(ConfigurationError, match="needs a token"):
        StaticToken("")


# -- JWT ------------------------------------------------------------------------------------------


def _rsa() -> tuple[Any, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return key, public.decode()


def _token(key: Any, algorithm: str = "RS256", **claims: Any) -> str:
    body = {
        "sub": "ada",
        "roles": ["clerk"],
        "tenant": "acme",
        "iss": "https://id.example",
        "aud": "orders",
        "exp": int((NOW + timedelta(minutes=5)).timestamp()),
        **claims,
    }
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm=algorithm)


def _verifier(public: Any, **kwargs: Any) -> JwtVerifier:
    return JwtVerifier(keys=public, issuer="https://id.example", audience="orders", **kwargs)


def _verify(verifier: JwtVerifier, token: str, now: datetime = NOW) -> Caller:
    return verifier.verify(token, workflow_id="w", command_id=None, now=now, purpose="start")


def test_a_jwt_from_the_identity_provider_maps_its_claims_to_the_caller() -> None:
    key, public = _rsa()
    caller = _verify(_verifier(public), _token(key, department="sales"))
    assert (caller.identity, caller.roles, caller.tenant) == ("ada", ("clerk",), "acme")
    assert caller.extra["department"] == "sales"
    space_separated = _verify(_verifier(public), _token(key, roles="clerk auditor"))
    assert space_separated.roles == ("clerk", "auditor")


def test_a_jwt_verifies_with_an_ec_key_from_a_static_jwks() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwks = {"keys": [{**jwk, "kid": "k1", "alg": "ES256", "use": "sig"}]}
    token = jwt.encode(
        {"sub": "ada", "iss": "https://id.example", "aud": "orders",
         "exp": int((NOW + timedelta(minutes=5)).timestamp())},
        key, algorithm="ES256", headers={"kid": "k1"},
    )  # fmt: skip
    assert _verify(_verifier(jwks), token).identity == "ada"


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": int((NOW - timedelta(minutes=5)).timestamp())}, "expired"),
        ({"aud": "payments"}, "does not verify"),
        ({"iss": "https://evil.example"}, "does not verify"),
        ({"exp": None}, "does not verify"),
        ({"nbf": int((NOW + timedelta(hours=1)).timestamp())}, "not valid yet"),
    ],
    ids=["expired", "audience", "issuer", "no-exp", "not-yet"],
)
def test_a_jwt_that_breaks_a_rule_is_refused(claims: dict[str, Any], reason: str) -> None:
    key, public = _rsa()
    with pytest.raises(CredentialError, match=reason):
        _verify(_verifier(public), _token(key, **claims))


def test_expiry_is_checked_against_the_time_given_not_this_machine_s_clock() -> None:
    key, public = _rsa()
    token = _token(key)  # valid until NOW + 5 min, long past by this machine's clock
    assert _verify(_verifier(public), token, now=NOW).identity == "ada"
    with pytest.raises(CredentialError, match="expired"):
        _verify(_verifier(public), token, now=NOW + timedelta(hours=1))


def test_alg_none_and_hmac_with_the_public_key_are_refused() -> None:
    _, public = _rsa()
    unsigned = jwt.encode({"sub": "eve", "iss": "https://id.example", "aud": "orders",
                           "exp": int((NOW + timedelta(minutes=5)).timestamp())},
                          "", algorithm="none")  # fmt: skip
    with pytest.raises(CredentialError):
        _verify(_verifier(public), unsigned)
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")
    body = base64.urlsafe_b64encode(
        json.dumps({"sub": "eve", "iss": "https://id.example", "aud": "orders",
                    "exp": int((NOW + timedelta(minutes=5)).timestamp())}).encode()
    ).rstrip(b"=")  # fmt: skip
    mac = hmac.new(public.encode(), header + b"." + body, hashlib.sha256).digest()
    confused = (header + b"." + body + b"." + base64.urlsafe_b64encode(mac).rstrip(b"=")).decode()
    with pytest.raises(CredentialError):
        _verify(_verifier(public), confused)
    with pytest.raises(ConfigurationError, match="asymmetric"):
        _verifier(public, algorithms=["HS256"])
