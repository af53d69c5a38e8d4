"""What every request uses, built once per process from the service's settings: the advisor, the KB's
identity and FHIR codes, the decision log, the trusted issuers' keys.

``advisor.serve.dependencies`` hands them to the handlers; this module knows nothing of requests.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from advisor import MSType, Severity
from advisor.kb.vocabulary import label_of


def default_db() -> str:
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(state, "ms-advisor", "decisions.sqlite3")


@dataclass
class Settings:
    """The options of ``ms-advisor serve``, as one value (passed to each worker process as JSON)."""

    rules_dir: str | None = None
    db: str = field(default_factory=default_db)
    cors_origins: list[str] = field(default_factory=list)
    trust: list[str] = field(default_factory=list)       # ISSUER=JWKS_FILE
    log_patient_ids: bool = False
    fhir_timeout: float = 5.0                             # seconds, per request to a FHIR server
    public_url: str | None = None                         # the service's address as EHRs call it (behind a proxy)
    header_timeout: float = 10.0                          # seconds for a request's headers to arrive
    body_timeout: float = 20.0                            # seconds for its body to arrive after them


class Runtime:
    """What every request uses: the advisor, the KB's identity and FHIR codes, the log, the trust."""

    def __init__(self, settings: Settings):
        from advisor import Advisor, default_advisor
        from advisor.kb import terminology as terminology
        from advisor.serve.auth import load_trust
        from advisor.serve.store import Store

        self.settings = settings
        self.advisor = Advisor(rules_dir=settings.rules_dir) if settings.rules_dir else default_advisor()
        kb = self.advisor.kb
        self.kb = kb
        self.kb_id = dict(kb.identity)
        self.source_title = kb.header.source_title
        self.condition_labels = {c.id: label_of(c) for c in kb.conditions}  # the cards name conditions by these
        self.terms = terminology.load(kb.directory, condition_ids(kb), [m.value for m in MSType], [s.value for s in Severity])
        self.trust = load_trust(settings.trust)
        self.store = Store(settings.db, log_patient_ids=settings.log_patient_ids)


def condition_ids(kb: Any) -> list[str]:
    """The knowledge base's condition vocabulary (rules/conditions.toml)."""
    return [c.id for c in kb.conditions]
