"""``ms-advisor serve``: the advisor over HTTP (JSON API, CDS Hooks reading FHIR R4; pages to come).

    from advisor.serve import Settings, create_app
    app = create_app(Settings(db="decisions.sqlite3"))
"""

from .app import Settings, create_app

__all__ = ["Settings", "create_app"]
