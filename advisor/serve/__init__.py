"""``ms-advisor serve``: the advisor over HTTP (JSON API, CDS Hooks reading FHIR R4, pages).

    from advisor.serve import Settings, create_app
    app = create_app(Settings(db="decisions.sqlite3"))
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from advisor.serve.app import Settings, create_app

__all__ = ["Settings", "create_app"]


def __getattr__(name: str) -> Any:
    """The app on first use: ``kb check`` reads ``serve.terminology`` without loading the web framework."""
    if name in __all__:
        from advisor.serve import app
        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
