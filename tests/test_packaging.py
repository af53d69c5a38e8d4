"""The installed package carries the knowledge base, identical to rules/ in the checkout."""

from pathlib import Path

import pytest

import advisor
from advisor.kb import default_directory

REPO_RULES = Path(__file__).resolve().parent.parent / "rules"


def test_default_kb_is_found_and_matches_the_checkout():
    kb_dir = default_directory()
    files = sorted(p.relative_to(kb_dir) for p in kb_dir.rglob("*") if p.suffix in (".toml", ".txt"))
    assert [str(f) for f in files] == ["cautions.toml", "conditions.toml", "decisions.toml", "drugs.toml", "fhir.toml", "kb.toml",
                                       "notes.toml",
                                       "sources/ms-infusions.txt", "statuses.toml"]
    for f in files:
        assert (kb_dir / f).read_bytes() == (REPO_RULES / f).read_bytes(), f"installed {f} differs from rules/{f}"


@pytest.mark.skipif(Path(advisor.__file__).resolve().parent.parent == REPO_RULES.parent,
                    reason="running from the source checkout, not an installed copy")
def test_installed_copy_carries_its_own_kb():
    assert default_directory() == Path(advisor.__file__).resolve().parent / "rules"
    assert (Path(advisor.__file__).resolve().parent / "py.typed").exists()
