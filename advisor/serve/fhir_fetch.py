"""Fetching the FHIR resources the EHR did not prefetch, from its fhirServer. httpx with timeouts, no
redirects and bounded answers; a searchset's next pages are followed on that server only.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import SplitResult, urlsplit

from advisor.core.models import float_from_text
from advisor.errors import ServiceError
from advisor.serve.fhir import FACTS_SYSTEM, as_list, next_link


class FetchError(ServiceError):
    """The FHIR server could not give the resources (message is safe to show)."""


MAX_RESPONSE = 5 * 1024 * 1024
MAX_PAGES = 10
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


async def fetch(server: str, token: str | None, patient_id: str, keys: list[str], timeout: float) -> dict[str, Any]:
    """GET the prefetch queries ``keys`` from ``server`` (httpx, with timeouts, no redirects, bounded
    responses; a searchset's next pages are followed on the same server, up to a limit; a next page it
    cannot follow is a FetchError, since the facts would be incomplete without it)."""
    import httpx

    try:
        parts = urlsplit(server)
        parts.port  # noqa: B018 (a port that is not a number, or out of range, raises here)
        httpx.URL(server)  # what httpx will not send to: control characters, a bad host
    except (ValueError, httpx.InvalidURL):
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise FetchError("fhirServer must be an http(s) URL")
    if not FHIR_ID.match(patient_id):
        raise FetchError("context.patientId is not a FHIR id")
    base = server.rstrip("/")
    headers = {"Accept": "application/fhir+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    queries = {
        "patient": (f"{base}/Patient/{patient_id}", None),
        "conditions": (f"{base}/Condition", {"patient": patient_id}),
        "observations": (f"{base}/Observation", {"patient": patient_id, "code": f"{FACTS_SYSTEM}|"}),
    }
    out: dict[str, Any] = {}
    limits = httpx.Timeout(timeout, connect=min(timeout, 2.0))
    async with httpx.AsyncClient(timeout=limits, follow_redirects=False, trust_env=False) as client:
        for key in keys:
            url, params = queries[key]
            entries: list[Any] = []
            first = None
            for page in range(1, MAX_PAGES + 1):
                data = await _get_json(client, url, params, headers, key)
                if first is None:
                    first = data
                if data.get("resourceType") != "Bundle":
                    break
                entries += as_list(data.get("entry"))
                nxt = next_link(data)
                if nxt is None:
                    break
                # A page left unread would leave the facts incomplete: refused, never guessed around.
                if not isinstance(nxt, str) or not same_origin(nxt, parts):  # the token goes to fhirServer only
                    raise FetchError(f"the FHIR server's answer for {key} goes on at a next page that is not on fhirServer's "
                                     "scheme, host and port: it is not read (the token goes to fhirServer only), and "
                                     "without it the facts would be incomplete")
                if page == MAX_PAGES:
                    raise FetchError(f"the FHIR server's answer for {key} goes on past {MAX_PAGES} pages: "
                                     "the rest is not read, and without it the facts would be incomplete")
                url, params = nxt, None
            out[key] = {**first, "entry": entries} if isinstance(first, dict) and first.get("resourceType") == "Bundle" else first
    return out


def same_origin(url: str, server: SplitResult) -> bool:
    """Whether ``url`` has the scheme, host and port of ``server`` (a default port written out or not)."""
    try:
        other = urlsplit(url)
        ports = (other.port or DEFAULT_PORTS.get(other.scheme.lower()), server.port or DEFAULT_PORTS.get(server.scheme.lower()))
    except ValueError:  # a port that is not a number, or out of range
        return False
    return (other.scheme.lower() == server.scheme.lower() and other.hostname is not None
            and other.hostname == server.hostname and ports[0] == ports[1] and other.username is None and other.password is None)


DEFAULT_PORTS = {"http": 80, "https": 443}


async def _get_json(client: Any, url: str, params: Any, headers: dict[str, Any], key: str) -> dict[str, Any]:
    import json

    import httpx

    try:
        async with client.stream("GET", url, params=params, headers=headers) as response:
            if response.status_code != 200:
                raise FetchError(f"the FHIR server answered {response.status_code} for {key}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_RESPONSE:
                    raise FetchError(f"the FHIR server's answer for {key} is larger than {MAX_RESPONSE // (1024 * 1024)} MB")
    except httpx.TimeoutException:
        raise FetchError(f"the FHIR server did not answer in time for {key}") from None
    except httpx.InvalidURL:  # a next link with control characters, say (not an HTTPError)
        raise FetchError(f"the FHIR server gave an address for {key} that is not a valid URL") from None
    except httpx.HTTPError as e:
        raise FetchError(f"the FHIR server could not be reached for {key} ({type(e).__name__})") from None
    try:
        data = json.loads(bytes(body), parse_float=float_from_text)
    except (ValueError, RecursionError):
        raise FetchError(f"the FHIR server's answer for {key} is not JSON") from None
    if not isinstance(data, dict):
        raise FetchError(f"the FHIR server's answer for {key} is not a FHIR resource")
    return data
