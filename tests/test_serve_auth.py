"""CDS Hooks JWT authentication (--trust ISSUER=JWKS_FILE), with keys the tests generate."""

from __future__ import annotations

import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from serve_helpers import hook, person, serve_app, serve_app_module  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
ISSUER = "https://ehr.example.org"
URL = "/cds-services/ms-infusion-advisor"
AUD = "http://testserver" + URL


@pytest.fixture(scope="module")
def keys():
    return {"rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ec": ec.generate_private_key(ec.SECP384R1()),
            "other": rsa.generate_private_key(public_exponent=65537, key_size=2048)}


def jwks(*pairs):
    out = []
    for kid, key in pairs:
        k = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()) if isinstance(key, rsa.RSAPrivateKey)
                       else jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
        out.append({**k, "kid": kid})
    return {"keys": out}


@pytest.fixture(scope="module")
def secured(serve_app_module, keys, tmp_path_factory):
    """One app trusting ISSUER for the module's tests (each token has its own jti, so none is a replay)."""
    path = tmp_path_factory.mktemp("trust") / "jwks.json"
    path.write_text(json.dumps(jwks(("k1", keys["rsa"]), ("k2", keys["ec"]))))
    return serve_app_module(trust=[f"{ISSUER}={path}"])[1]


def token(key, kid="k1", alg="RS384", **claims):
    now = int(time.time())
    body = {"iss": ISSUER, "sub": "client", "aud": AUD, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4()), **claims}
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid} if kid else None)


def call(client, tok):
    conds, obs = person()
    return client.post(URL, json=hook(conds, obs), headers={"Authorization": f"Bearer {tok}"} if tok else {})


def test_a_valid_token_is_accepted(secured, keys):
    assert call(secured, token(keys["rsa"])).status_code == 200
    assert call(secured, token(keys["ec"], kid="k2", alg="ES384")).status_code == 200
    assert call(secured, token(keys["rsa"], kid=None)).status_code == 200  # no kid: every key of the issuer is tried


def test_discovery_and_feedback_need_it_too(secured, keys):
    assert secured.get("/cds-services").status_code == 401
    t = token(keys["rsa"], aud="http://testserver/cds-services")
    assert secured.get("/cds-services", headers={"Authorization": f"Bearer {t}"}).status_code == 200
    assert secured.post(URL + "/feedback", json={"feedback": []}).status_code == 401


def test_the_json_api_is_not_affected(secured):
    assert secured.post("/advise", json={"ms_type": "ppms", "severity": "mild"}).status_code == 200


@pytest.mark.parametrize("make,reason", [
    (lambda k: None, "needs the EHR's JWT"),
    (lambda k: "not-a-jwt", "not a JWT"),
    (lambda k: token(k["other"]), "signature"),
    (lambda k: token(k["rsa"], aud="http://testserver/elsewhere"), "audience"),
    (lambda k: token(k["rsa"], exp=int(time.time()) - 120), "expired"),
    (lambda k: token(k["rsa"], exp=None), "exp"),
    (lambda k: token(k["rsa"], jti=None), "jti"),
    (lambda k: token(k["rsa"], iss="https://evil.example"), "issuer"),
    (lambda k: token(k["rsa"], kid="nope"), "kid"),
    (lambda k: jwt.encode({"iss": ISSUER, "aud": AUD, "exp": int(time.time()) + 60, "iat": int(time.time()), "jti": "x"},
                          "secret", algorithm="HS256"), "algorithm"),
    (lambda k: jwt.encode({"iss": ISSUER, "aud": AUD, "exp": int(time.time()) + 60, "iat": int(time.time()), "jti": "x"},
                          None, algorithm="none"), "algorithm"),
])
def test_bad_tokens_get_401(secured, keys, make, reason):
    r = call(secured, make(keys))
    assert r.status_code == 401, r.text
    assert reason in r.json()["errors"][0]["message"]
    assert r.headers["www-authenticate"] == "Bearer"


def test_a_replayed_token_gets_401(secured, keys):
    t = token(keys["rsa"])
    assert call(secured, t).status_code == 200
    r = call(secured, t)
    assert r.status_code == 401 and "already used" in r.text


def test_a_replay_is_caught_by_another_process_on_the_same_log(serve_app, keys, tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks(("k1", keys["rsa"]))))
    _, a = serve_app(trust=[f"{ISSUER}={path}"])
    _, b = serve_app(trust=[f"{ISSUER}={path}"])  # a second app (as a second worker would) on the same file
    t = token(keys["rsa"])
    assert call(a, t).status_code == 200
    assert call(b, t).status_code == 401


@pytest.mark.parametrize("spec,message", [("no-equals-sign", "ISSUER=JWKS_FILE"), ("iss=/nonexistent/jwks.json", "no such file")])
def test_bad_trust_options_are_refused_at_start(serve_app, spec, message):
    from advisor.serve.auth import TrustError

    with pytest.raises(TrustError, match=message):
        serve_app(trust=[spec])


def test_a_jwks_without_keys_is_refused(serve_app, tmp_path):
    from advisor.serve.auth import TrustError

    (tmp_path / "j.json").write_text('{"keys": []}')
    with pytest.raises(TrustError):
        serve_app(trust=[f"{ISSUER}={tmp_path / 'j.json'}"])


def _rsa_jwk(key, **extra):
    return {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())), **extra}


@pytest.mark.parametrize("jwks_of,message", [
    (lambda k: {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "shared"}]},
     "key 'shared' is a symmetric (oct) key: CDS Hooks requires the EHR to sign with an asymmetric key"),
    (lambda k: {"keys": [_rsa_jwk(k, kid="k1"), {"kty": "oct", "k": "c2VjcmV0"}]},  # beside a usable key too
     "key 2 is a symmetric (oct) key: CDS Hooks requires the EHR to sign with an asymmetric key"),
    (lambda k: {"keys": [_rsa_jwk(k, use="enc", kid="e1")]},
     "the JWKS has no usable key (key 'e1' is for 'enc', not for signatures): it needs an RSA or EC public key for signatures"),
    (lambda k: {"keys": [{"kty": "OKP", "crv": "X25519", "x": "abc"}]},
     "the JWKS has no usable key (key 1 has key type 'OKP' (usable: RSA, EC))"),
    (lambda k: {"keys": [_rsa_jwk(k, alg="HS256")]}, "the JWKS has no usable key (key 1 is for algorithm 'HS256'"),
    (lambda k: {"keys": []}, 'the JWKS has no usable key (its "keys" list is empty)'),
    (lambda k: [], 'not a JWKS (a JSON object with a "keys" list)'),
    (lambda k: {"keys": ["k1"]}, "key 1 is not a JWK (a JSON object)"),
    (lambda k: {"keys": [{"kty": "RSA", "n": "xx", "e": "AQAB"}]}, "key 1 cannot be read as an RSA public key"),
    (lambda k: {"keys": [json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(k))]}, "key 1 is a private key"),
])
def test_a_jwks_without_a_usable_asymmetric_key_is_refused_at_start_saying_why(serve_app, keys, tmp_path, jwks_of, message):
    from advisor.serve.auth import TrustError

    path = tmp_path / "j.json"
    path.write_text(json.dumps(jwks_of(keys["rsa"])))
    with pytest.raises(TrustError) as e:
        serve_app(trust=[f"{ISSUER}={path}"])
    assert str(e.value).startswith(f"--trust {ISSUER}: {path}: ") and message in str(e.value), str(e.value)
    assert "\n" not in str(e.value)


def test_the_command_refuses_an_oct_only_jwks_in_one_line(tmp_path):
    from click.testing import CliRunner

    from advisor.cli import main

    path = tmp_path / "j.json"
    path.write_text('{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}')
    # a host nobody can listen on: were the JWKS taken, the command would stop there, never serve
    r = CliRunner().invoke(main, ["serve", "--host", "256.0.0.1", "--port", "0", "--db", str(tmp_path / "d.sqlite3"),
                                  "--trust", f"{ISSUER}={path}", "--public-url", "https://cds.example.org"])
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1 and "symmetric (oct) key" in r.stderr


def test_encryption_keys_beside_a_signing_key_are_passed_over(serve_app, keys, tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [_rsa_jwk(keys["other"], use="enc", kid="k1"), _rsa_jwk(keys["rsa"], use="sig", kid="k1")]}))
    client = serve_app(trust=[f"{ISSUER}={path}"])[1]
    assert call(client, token(keys["rsa"])).status_code == 200


def test_behind_a_proxy_the_audience_is_the_public_url(serve_app, keys, tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks(("k1", keys["rsa"]))))
    _, client = serve_app(trust=[f"{ISSUER}={path}"], public_url="https://cds.example.org/ms/")
    assert call(client, token(keys["rsa"])).status_code == 401  # aud http://testserver/...: not this service's
    r = call(client, token(keys["rsa"], aud="https://cds.example.org/ms" + URL))
    assert r.status_code == 200
    assert r.json()["cards"][0]["links"][0]["url"].startswith("https://cds.example.org/ms/advice?")


def _unsigned(header: dict, claims: dict) -> str:
    import base64

    def part(d: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    return f"{part(header)}.{part(claims)}.AAAA"


def test_a_key_of_the_wrong_type_for_the_algorithm_is_not_tried(secured, keys):
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUD, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
    r = call(secured, _unsigned({"alg": "RS256", "kid": "k2"}, claims))  # k2 is the EC key: no signature needed to ask
    assert r.status_code == 401, r.text
    assert r.json()["errors"][0]["message"] == "no RSA key of the issuer's JWKS matches the token (its algorithm RS256 needs one)"
    r = call(secured, _unsigned({"alg": "ES384"}, claims))  # no kid: only the EC key is tried, and it does not verify
    assert r.status_code == 401 and "signature does not verify" in r.text
    # a valid ES384 token without kid verifies, though the RSA key comes first in the JWKS
    assert call(secured, token(keys["ec"], kid=None, alg="ES384")).status_code == 200


@pytest.mark.parametrize("exp", [2**70, 1e300, 253402300800])
def test_an_exp_past_the_year_9999_gets_401_not_500(secured, keys, exp):
    r = call(secured, token(keys["rsa"], exp=exp))
    assert r.status_code == 401, r.text
    assert r.json()["errors"][0]["message"] == "the token's exp is not a time before the year 10000 (seconds since 1970)"


def test_the_command_with_trust_requires_a_public_url_so_aud_never_comes_from_the_callers_host(keys, tmp_path):
    from click.testing import CliRunner

    from advisor.cli import main

    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks(("k1", keys["rsa"]))))
    # a host nobody can listen on: were the options taken, the command would stop there, never serve
    r = CliRunner().invoke(main, ["serve", "--host", "256.0.0.1", "--port", "0", "--db", str(tmp_path / "d.sqlite3"),
                                  "--trust", f"{ISSUER}={path}"])
    assert r.exit_code == 2 and r.stderr.strip().splitlines() == [
        "ms-advisor: --trust needs --public-url: the address EHRs call this service at (e.g. --public-url https://cds.example.org), "
        "which every token's aud must name"]
    assert not (tmp_path / "d.sqlite3").exists()  # refused before anything was opened
