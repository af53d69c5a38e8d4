"""Starting the service (``ms-advisor serve``, ``python -m advisor.web``): the checks a server needs
before its port opens, the lines a person starting it needs first, and uvicorn run with the service's
connection limits, in one process or several.

    from advisor.serve import Settings
    from advisor.serve.start import run
    run(Settings(db="decisions.sqlite3"), "127.0.0.1", 8000)
"""

from __future__ import annotations

import os
import re
import socket
import sys
from typing import Any, Callable

import uvicorn

from advisor.errors import ServiceError
from advisor.serve.app import SETTINGS_ENV, Settings, create_app, freeze_start_up, settings_env
from advisor.serve.protocol import server_options
from advisor.text import visible


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run(settings: Settings, host: str, port: int, workers: int = 1, announce: Callable[[str], None] = _to_stderr) -> None:
    """Check ``settings``, build the app, check that ``host``:``port`` can be listened on, ``announce``
    the start-up lines, then serve until stopped (``workers`` processes). Everything is checked before
    the port opens: a bad setting, a busy port or an unknown host raise a :class:`ServiceError` (its
    subclasses ``StoreError``, ``TrustError`` among them), one line."""
    check(settings)
    app = create_app(settings)
    can_listen(host, port)  # a busy port or an unknown host: one line (exit 2 from the command line), not uvicorn's log and exit 3
    for line in start_up_lines(settings, host, port):
        announce(line)
    options: dict[str, Any] = {"host": host, "port": port, "log_level": "info", **server_options()}  # head limits, timeouts
    if workers == 1:
        freeze_start_up()
        uvicorn.run(app, **options)
    else:
        os.environ[SETTINGS_ENV] = settings_env(settings)
        uvicorn.run("advisor.serve.app:app_from_env", factory=True, workers=workers, **options)


def check(settings: Settings) -> None:
    """The settings a served app needs beyond its own checks: an http(s) public URL, and one with --trust."""
    public_url = settings.public_url
    if public_url is not None and not re.match(r"^https?://[^/?#\s]+(/[^?#\s]*)?$", public_url):
        raise ServiceError(f"--public-url: {public_url!r} is not an http(s) URL without query or fragment")
    if settings.trust and public_url is None:  # else a token's aud would be checked against the caller's own Host header
        raise ServiceError("--trust needs --public-url: the address EHRs call this service at (e.g. --public-url "
                           "https://cds.example.org), which every token's aud must name")


def start_up_lines(settings: Any, host: str, port: int) -> list[str]:
    """What a person starting the service needs first: where the pages are, where the decisions go,
    and whether CDS Hooks calls need a token."""
    if settings.public_url:
        base = settings.public_url.rstrip("/")
    else:
        shown = f"[{host}]" if ":" in host else host
        base = f"http://{visible(shown)}:{port if port else '<the port named below>'}"
    ids = "patient ids stored: --log-patient-ids" if settings.log_patient_ids else "no patient ids stored"
    if settings.trust:
        issuers = ", ".join(visible(spec.rpartition("=")[0]) for spec in settings.trust)
        tokens = f"CDS Hooks calls need a JWT from {issuers} with aud {base}/cds-services/… (--trust)"
    else:
        tokens = "CDS Hooks calls need no token: anyone who can reach the port can call them (--trust requires one)"
    return [f"pages at {base}/ (JSON API: {base}/docs; CDS Hooks: {base}/cds-services)",
            f"decisions logged in {visible(settings.db)} ({ids})", tokens]


def can_listen(host: str, port: int) -> None:
    """Raise a :class:`ServiceError` unless this machine can listen on ``host``:``port`` now."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as e:
        raise ServiceError(f"--host {visible(host)}: not an address or host name this machine can listen on ({e})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as e:
            raise ServiceError(f"--port {port}: cannot listen on {visible(host)}:{port}: {e.strerror}") from None
