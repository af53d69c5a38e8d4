import shutil
from pathlib import Path

import pytest

from advisor.kb import default_directory

ROOT = Path(__file__).resolve().parent.parent
SHARED_SOURCE = ROOT.parent / "shared" / "sources" / "ms-infusions.txt"


@pytest.fixture
def kb_copy(tmp_path):
    """A writable copy of the shipped knowledge base, for tests that break or change it."""
    target = tmp_path / "rules"
    shutil.copytree(default_directory(), target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return target
