"""The service's commands: ``ms-advisor serve`` (the service started by ``advisor.serve.start.run``)
and ``ms-advisor log`` (the decisions it logged)."""

from __future__ import annotations

import os
from typing import Any

import click

from advisor import startup
from advisor.cli.common import Command, Day, Number, UserError, echo, rules_dir_option


@click.command(cls=Command, epilog="""
\b
Examples:
  ms-advisor serve
  ms-advisor serve --port 8080 --workers 2 --db /var/lib/ms-advisor/decisions.sqlite3
  ms-advisor serve --trust https://ehr.example.org=ehr-jwks.json --public-url https://cds.example.org \\
      --cors-origin https://ehr.example.org
""")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (localhost by default).")
@click.option("--port", type=Number(whole=True, low=0, high=65535), default=8000, show_default=True, help="Port, 0 to 65535.")
@click.option("--workers", type=Number(whole=True, low=1, high=64), default=1, show_default=True,
              help="Server processes, 1 to 64 (the rules engine runs one call at a time per process).")
@rules_dir_option
@click.option("--db", metavar="PATH", help="The decision log (SQLite; default: $XDG_STATE_HOME/ms-advisor/decisions.sqlite3).")
@click.option("--cors-origin", "cors_origins", multiple=True, metavar="ORIGIN", help="Allow browser calls from ORIGIN (repeatable; none by default).")
@click.option("--trust", multiple=True, metavar="ISSUER=JWKS_FILE",
              help="Require CDS Hooks calls to carry a JWT from ISSUER, checked with the keys in JWKS_FILE (repeatable).")
@click.option("--log-patient-ids", is_flag=True, help="Store patient ids in the decision log (not stored by default).")
@click.option("--fhir-timeout", type=Number(whole=False, low=0.1, high=60), default=5.0, show_default=True, metavar="SECONDS",
              help="Timeout of each request to an EHR's FHIR server, 0.1 to 60 seconds.")
@click.option("--public-url", metavar="URL", help="The service's address as EHRs call it (for JWT aud and card links); "
              "required with --trust.")
@click.option("--header-timeout", type=Number(whole=False, low=0.1, high=300), default=10.0, show_default=True, metavar="SECONDS",
              help="Time a client has to send a request's headers (else 408 and the connection closes), 0.1 to 300 seconds.")
@click.option("--body-timeout", type=Number(whole=False, low=0.1, high=300), default=20.0, show_default=True, metavar="SECONDS",
              help="Time a client has to send a request's body after its headers (else 408), 0.1 to 300 seconds.")
def serve(host: str, port: int, workers: int, rules_dir: str | None, db: str | None, cors_origins: tuple[str, ...],
          trust: tuple[str, ...], log_patient_ids: bool, fhir_timeout: float, public_url: str | None,
          header_timeout: float, body_timeout: float) -> None:
    """Serve the advisor over HTTP: a JSON API (/advise, /batch, /drugs, /rules, /kb, /docs) and an HL7
    CDS Hooks service (/cds-services) reading FHIR R4, every decision logged in SQLite."""
    from advisor.serve.app import Settings, default_db
    from advisor.serve.start import run

    if rules_dir is not None and not os.path.isdir(rules_dir):
        raise UserError(f"--rules-dir: {rules_dir}: no such directory")
    settings = Settings(rules_dir=os.path.abspath(rules_dir) if rules_dir else None, db=os.path.abspath(db or default_db()),
                        cors_origins=list(cors_origins), trust=list(trust), log_patient_ids=log_patient_ids,
                        fhir_timeout=fhir_timeout, public_url=public_url, header_timeout=header_timeout, body_timeout=body_timeout)
    startup.as_usual()  # a service runs for days: the usual collector from here on
    run(settings, host, port, workers, announce=lambda line: click.echo(f"ms-advisor serve: {line}", err=True))


@click.command("log", cls=Command, epilog="""
\b
Examples:
  ms-advisor log --since 2026-11-01
  ms-advisor log --format csv > decisions.csv
""")
@click.option("--db", metavar="PATH", help="The decision log (default: the one `ms-advisor serve` writes).")
@click.option("--since", type=Day(time=True), metavar="YYYY-MM-DD[THH:MM:SS]", help="Only decisions from this UTC date (or time) on.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
def log_command(db: str | None, since: Any, fmt: str) -> None:
    """The decisions the service logged, with their cards' feedback, and override rates per drug."""
    from advisor.serve.logview import render
    from advisor.serve.store import open_existing
    from advisor.serve.app import default_db

    store = open_existing(db or default_db())
    since_text = since.strftime("%Y-%m-%dT%H:%M:%S") if since else None
    try:
        for line in render(store.count(since_text), store.decisions(since_text), store.override_rates(since_text), fmt,
                           store.drugs(since_text)):
            echo(line)
    finally:
        store.close()


COMMANDS = (serve, log_command)
