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

from ..atomic import ReadError, read_limited

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
LEEWAY = 30  # seconds of clock skew allowed on exp and iat


class AuthError(Exception):
    """Why a call is refused (safe to show)."""


class TrustError(ValueError):
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
            keys = jwt.PyJWKSet.from_dict(data)
        except ReadError as e:
            raise TrustError(f"--trust {issuer}: {path}: {e}") from None
        except OSError as e:
            raise TrustError(f"--trust {issuer}: {path}: cannot be read: {e.strerror}") from None
        except (ValueError, jwt.PyJWKSetError, jwt.InvalidKeyError) as e:
            raise TrustError(f"--trust {issuer}: {path}: not a usable JWKS: {e}") from None
        if not keys.keys:
            raise TrustError(f"--trust {issuer}: {path}: the JWKS has no usable key")
        out[issuer] = keys
    return out


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
    claims = None
    for key in candidates:
        try:
            claims = jwt.decode(token, key.key, algorithms=[alg], audience=audience, issuer=issuer, leeway=LEEWAY,
                                options={"require": ["exp", "iat", "iss", "aud", "jti"]})
            break
        except jwt.InvalidSignatureError:
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
    jti = claims["jti"]
    if not isinstance(jti, str) or not jti or len(jti) > 256:
        raise AuthError("the token's jti must be a non-empty string")
    if not first_use(issuer, jti, int(claims["exp"])):
        raise AuthError("the token was already used (jti seen before)")
    return claims
