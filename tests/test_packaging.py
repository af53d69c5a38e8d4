"""The installed package carries the knowledge base, identical to rules/ in the checkout, and a wheel built
from the checkout carries every file of it."""

import os
import shutil
from pathlib import Path

import pytest

import advisor
from advisor.kb.load import default_directory

REPO_RULES = Path(__file__).resolve().parent.parent / "rules"


def test_default_kb_is_found_and_matches_the_checkout():
    kb_dir = default_directory()
    files = sorted(p.relative_to(kb_dir) for p in kb_dir.rglob("*") if p.suffix in (".toml", ".txt"))
    assert [str(f) for f in files] == ["cautions.toml", "compare.toml", "conditions.toml", "decisions.toml", "drugs.toml", "facts.toml",
                                       "fhir.toml", "kb.toml", "matters.toml", "notes.toml",
                                       "sources/ms-infusions.txt", "statuses.toml", "terms.toml"]
    for f in files:
        assert (kb_dir / f).read_bytes() == (REPO_RULES / f).read_bytes(), f"installed {f} differs from rules/{f}"


@pytest.mark.skipif(Path(advisor.__file__).resolve().parent.parent == REPO_RULES.parent,
                    reason="running from the source checkout, not an installed copy")
def test_installed_copy_carries_its_own_kb():
    assert default_directory() == Path(advisor.__file__).resolve().parent / "rules"
    assert (Path(advisor.__file__).resolve().parent / "py.typed").exists()


CHECKOUT = REPO_RULES.parent
BUILD_FILES = ("setup.cfg", "pyproject.toml", "README.md")


def _checkout_files() -> dict[str, Path]:
    """What the package should carry, read from the checkout itself (not from setup.cfg): every file
    under advisor/ and rules/ but compiled ones, by its path inside the installed package."""
    files = {}
    for top, inside in (("advisor", "advisor"), ("rules", "advisor/rules")):
        for p in (CHECKOUT / top).rglob("*"):
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc":
                files[f"{inside}/{p.relative_to(CHECKOUT / top).as_posix()}"] = p
    return files


@pytest.mark.slow  # builds a wheel (~3 s)
def test_a_wheel_built_from_the_checkout_carries_every_file_byte_for_byte(tmp_path):
    """From a checkout (an editable install reads rules/ in place, so the test above compares it with
    itself) the package is built as a user would get it: every file under advisor/ and rules/ is in the
    wheel, with the same bytes, nothing else is, and the unpacked wheel finds its own KB."""
    import subprocess
    import sys
    import zipfile

    source = tmp_path / "source"  # a copy: the build writes build/ and *.egg-info next to its sources
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for top in ("advisor", "rules"):
        shutil.copytree(CHECKOUT / top, source / top, ignore=ignore)
    for name in BUILD_FILES:
        shutil.copy2(CHECKOUT / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(source), "-w", str(tmp_path / "dist")],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = (tmp_path / "dist").glob("*.whl")
    expected = _checkout_files()
    with zipfile.ZipFile(wheel) as z:
        shipped = {n: z.read(n) for n in z.namelist() if not n.split("/")[0].endswith(".dist-info") and not n.endswith("/")}
        z.extractall(tmp_path / "site")
    missing, extra = sorted(set(expected) - set(shipped)), sorted(set(shipped) - set(expected))
    assert (missing, extra) == ([], []), "files of the checkout missing from the wheel, and files in it the checkout lacks"
    for name, path in expected.items():
        assert shipped[name] == path.read_bytes(), f"the wheel's {name} differs from the checkout's {path.relative_to(CHECKOUT)}"
    site = tmp_path / "site"
    probe = ("import advisor, pathlib; from advisor.kb.load import default_directory; from advisor import default_advisor; "
             "here = pathlib.Path(advisor.__file__).resolve().parent; "
             "print(here, default_directory() == here / 'rules', (here / 'py.typed').exists(), len(default_advisor().kb.drugs))")
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(site)}, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr[-3000:]
    from advisor import default_advisor

    assert ran.stdout.split() == [str((site / "advisor").resolve()), "True", "True", str(len(default_advisor().kb.drugs))]
