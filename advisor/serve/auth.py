"""CDS Hooks authentication: the EHR's JWT, checked against the JWKS of each trusted issuer (PyJWT).

With any ``--trust ISSUER=JWKS_FILE``, every CDS Hooks call must carry ``Authorization: Bearer <JWT>``
signed by a key of that issuer's JWKS (asymmetric algorithms only), with ``aud`` the URL called,
an ``exp`` in the future, ``iat`` and a ``jti`` not seen before (kept in the decision log's database,
so replay is caught across worker processes). Anything else is 401 with the reason.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import jwt

from advisor.atomic import ReadError, read_limited
from advisor.errors import Refused, ServiceError

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
LEEWAY = 30  # seconds of clock skew allowed on exp and iat
LAST_EXP = 253402300799  # 9999-12-31T23:59:59Z: a later exp (2**70, 1e300) cannot be stored with the token's jti


class AuthError(Refused):
    """Why a call is refused (safe to show): a 401 naming the Authorization header, asking for a Bearer token."""

    headers = {"WWW-Authenticate": "Bearer"}

    def __init__(self, message: str):
        super().__init__(401, [{"field": "Authorization", "message": message}], message)


class TrustError(ServiceError, ValueError):
    """A --trust option cannot be used."""


def load_trust(specs: list[str]) -> dict[str, jwt.PyJWKSet]:
    """``ISSUER=JWKS_FILE`` options as issuer -> key set."""
    out: dict[str, jwt.PyJWKSet] = {}
    for spec in specs:
        issuer, sep, path = spec.rpartition("=")
        if not sep or not issuer or not path:
            raise TrustError(f"--trust {spec!r}: expected ISSUER=JWKS_FILE")
        try:
            data = json.loads(read_limited(path, 2**20).decode("utf-8"))  # a JWKS is a few kB
        except ReadError as e:
            raise TrustError(f"--trust {issuer}: {path}: {e}") from None
        except OSError as e:
            raise TrustError(f"--trust {issuer}: {path}: cannot be read: {e.strerror}") from None
        except (ValueError, RecursionError) as e:
            raise TrustError(f"--trust {issuer}: {path}: not a usable JWKS: not JSON text ({e})") from None
        out[issuer] = _signing_keys(data, f"--trust {issuer}: {path}")
    return out


SIGNING_KEY_TYPES = ("RSA", "EC")  # what ALGORITHMS verify with


def _signing_keys(data: Any, where: str) -> jwt.PyJWKSet:
    """The keys of a JWKS that can verify an EHR's signature. A symmetric (``oct``) key is refused
    outright: CDS Hooks has the EHR sign with a private key whose public half the service holds, and a
    shared secret in a trust file is a secret in the wrong place. Keys for encryption (``use`` enc) or
    of another type (OKP...) are not signing keys and are passed over; a JWKS left with none is refused,
    saying why each key is not usable. A key of a signing type that cannot be read is refused."""
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise TrustError(f"{where}: not a JWKS (a JSON object with a \"keys\" list)")
    usable: list[dict[str, Any]] = []
    unusable: list[str] = []
    for i, key in enumerate(data["keys"], 1):
        kid = key.get("kid") if isinstance(key, dict) else None
        name = f"key {kid!r}" if isinstance(kid, str) else f"key {i}"
        if not isinstance(key, dict):
            raise TrustError(f"{where}: {name} is not a JWK (a JSON object)")
        kty, use, alg = key.get("kty"), key.get("use"), key.get("alg")
        if kty == "oct":
            raise TrustError(f"{where}: {name} is a symmetric (oct) key: CDS Hooks requires the EHR to sign with an "
                             f"asymmetric key, so the trust file must hold its public keys ({' or '.join(SIGNING_KEY_TYPES)}; "
                             f"algorithms {', '.join(ALGORITHMS)})")
        if use not in (None, "sig"):
            unusable.append(f"{name} is for {use!r}, not for signatures")
        elif kty not in SIGNING_KEY_TYPES:
            unusable.append(f"{name} has key type {kty!r} (usable: {', '.join(SIGNING_KEY_TYPES)})")
        elif alg is not None and alg not in ALGORITHMS:
            unusable.append(f"{name} is for algorithm {alg!r} (usable: {', '.join(ALGORITHMS)})")
        elif "d" in key:
            raise TrustError(f"{where}: {name} is a private key: the trust file must hold only the EHR's public keys "
                             "(remove the private parts, or ask the EHR for its JWKS)")
        else:
            try:
                jwt.PyJWK(key)
            except (jwt.PyJWTError, ValueError, TypeError) as e:
                raise TrustError(f"{where}: {name} cannot be read as an {kty} public key ({e})") from None
            usable.append(key)
    if not usable:
        why = f" ({'; '.join(unusable)})" if unusable else " (its \"keys\" list is empty)"
        raise TrustError(f"{where}: the JWKS has no usable key{why}: it needs an RSA or EC public key for signatures")
    return jwt.PyJWKSet(usable)


def verify(authorization: str | None, audience: str, trust: dict[str, jwt.PyJWKSet],
           first_use: Callable[[str, str, int], bool]) -> dict[str, Any]:
    """The token's claims if ``authorization`` is a valid bearer JWT for ``audience``; else AuthError."""
    if not authorization:
        raise AuthError("this service needs the EHR's JWT: Authorization: Bearer <token>")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("the Authorization header must be 'Bearer <token>'")
    token = token.strip()
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise AuthError("the token is not a JWT") from None
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise AuthError(f"the token's algorithm must be one of {', '.join(ALGORITHMS)}")
    issuer = unverified.get("iss")
    if not isinstance(issuer, str) or issuer not in trust:
        raise AuthError("the token's issuer (iss) is not trusted")
    keys = trust[issuer]
    kid = header.get("kid")
    candidates = [k for k in keys.keys if kid is None or k.key_id == kid]
    if not candidates:
        raise AuthError("no key of the issuer's JWKS matches the token's kid")
    kty = "EC" if alg.startswith("ES") else "RSA"
    candidates = [k for k in candidates if k.key_type == kty]  # an RSA key cannot check ES256, nor an EC key RS256
    if not candidates:
        raise AuthError(f"no {kty} key of the issuer's JWKS matches the token (its algorithm {alg} needs one)")
    claims = None
    for key in candidates:
        try:
            claims = jwt.decode(token, key.key, algorithms=[alg], audience=audience, issuer=issuer, leeway=LEEWAY,
                                options={"require": ["exp", "iat", "iss", "aud", "jti"]})
            break
        except (jwt.InvalidSignatureError, jwt.InvalidKeyError):  # not this key (an EC key of another curve)
            continue
        except jwt.ExpiredSignatureError:
            raise AuthError("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise AuthError(f"the token's audience (aud) must be {audience}") from None
        except jwt.MissingRequiredClaimError as e:
            raise AuthError(f"the token lacks the {e.claim} claim") from None
        except jwt.PyJWTError as e:
            raise AuthError(f"the token is not valid ({type(e).__name__})") from None
    if claims is None:
        raise AuthError("the token's signature does not verify with the issuer's keys")
    exp = claims["exp"]
    if not isinstance(exp, (int, float)) or not exp <= LAST_EXP:  # PyJWT took it as a time; the jti's record must hold it
        raise AuthError("the token's exp is not a time before the year 10000 (seconds since 1970)")
    jti = claims["jti"]
    if not isinstance(jti, str) or not jti or len(jti) > 256:
        raise AuthError("the token's jti must be a non-empty string")
    if not first_use(issuer, jti, int(claims["exp"])):
        raise AuthError("the token was already used (jti seen before)")
    return claims
