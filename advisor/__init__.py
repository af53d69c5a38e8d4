"""ms-infusion-advisor: which MS infusion drugs a patient-education article describes for a person.

    >>> from advisor import advise
    >>> advise({"ms_type": "ppms", "severity": "moderate"}).listed
    ('ocrelizumab',)

Importing the package is cheap: the knowledge base is loaded and compiled on first use.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "advise": "api", "compare": "api", "default_advisor": "api", "summary": "api", "Comparison": "grid", "Summary": "core.summary",
    "Advisor": "core.advisor",
    "PatientFacts": "core.models", "Recommendation": "core.models", "Status": "core.models", "MSType": "core.models",
    "Severity": "core.models", "Condition": "core.models",
    "AdvisorError": "errors", "InvalidFacts": "errors", "KnowledgeBaseError": "errors", "CaseFileError": "errors",
    "UnknownDrug": "errors", "ScheduleError": "errors", "FileError": "errors", "ServiceError": "errors",
}
__all__ = [*_EXPORTS, "__version__"]

if TYPE_CHECKING:
    from advisor.api import advise as advise, compare as compare, default_advisor as default_advisor, summary as summary
    from advisor.grid import Comparison as Comparison
    from advisor.core.summary import Summary as Summary
    from advisor.core.advisor import Advisor as Advisor
    from advisor.errors import AdvisorError as AdvisorError, CaseFileError as CaseFileError, InvalidFacts as InvalidFacts
    from advisor.errors import KnowledgeBaseError as KnowledgeBaseError, ScheduleError as ScheduleError, UnknownDrug as UnknownDrug
    from advisor.errors import FileError as FileError, ServiceError as ServiceError
    from advisor.core.models import Condition as Condition, MSType as MSType, PatientFacts as PatientFacts
    from advisor.core.models import Recommendation as Recommendation, Severity as Severity, Status as Status


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A package's ``__getattr__`` loading each name of ``exports`` (name -> its module in the package)
    on first use and keeping it in the package (used here and by ``advisor.batch``)."""
    def __getattr__(name: str) -> Any:
        if name in exports:
            value = getattr(import_module(f".{exports[name]}", package), name)
            setattr(sys.modules[package], name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    return __getattr__


__getattr__ = lazy_exports(__name__, _EXPORTS)
