"""The "How it is built" tree of docs/architecture.md, generated from the package itself.

Each module is listed with the first sentence of its docstring, in the order its imports give: a module
stands above every module it imports, so the list reads from the command line down to the small
utilities at the bottom. Each file of rules/ is listed with the first sentence of its leading comment.
`python docs/tree.py` rewrites the tree in docs/architecture.md; tests/test_layout.py checks that the
tree there is what this prints.
"""

from __future__ import annotations

import ast
import re
import sys
import textwrap
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
COLUMN = 23
WIDTH = 110


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted((ROOT / "advisor").rglob("*.py"))}


@cache
def imported(module: str) -> frozenset[str]:
    """The package's modules that ``module`` imports (not under ``if TYPE_CHECKING``)."""
    path = MODULES[module]
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    tree = ast.parse(path.read_text("utf-8"))
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for child in node.body for n in ast.walk(child)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else [])) \
                if node.level else str(node.module)
            found |= {base} | {f"{base}.{a.name}" for a in node.names}
    return frozenset(m for m in found if m in MODULES and m != module and m != "advisor")


@cache
def rank(module: str, _seen: frozenset[str] = frozenset()) -> int:
    """How high a module stands: one above the highest module it imports. A package's ``__init__`` that
    names its own modules stands above them; a module's import of its own package's ``__init__`` (for a
    shared helper, or a lazy export) is passed over where it would close a circle."""
    seen = _seen | {module}
    return 1 + max((rank(m, seen) for m in imported(module) if m not in seen), default=0)


def first_sentence(text: str) -> str:
    text = re.sub(r"\s+", " ", text.strip().split("\n\n")[0])
    match = re.search(r"(?<!\be\.g)(?<!\bi\.e)(\.|::)(\s|$)", text)
    return (text[: match.start()] if match else text).strip()


def described(module: str) -> str:
    doc = ast.get_docstring(ast.parse(MODULES[module].read_text("utf-8")))
    if not doc:
        raise SystemExit(f"{MODULES[module].relative_to(ROOT)} has no docstring: the tree takes each module's first sentence")
    return first_sentence(doc)


def line(indent: int, name: str, text: str) -> list[str]:
    head = " " * indent + name
    head = head.ljust(COLUMN - 1) + " " if len(head) < COLUMN - 1 else head + " "
    lines = textwrap.wrap(text, WIDTH - COLUMN, break_on_hyphens=False) or [""]
    if len(head) > COLUMN:
        return [head.rstrip()] + [" " * COLUMN + w for w in lines]
    return [head + lines[0]] + [" " * COLUMN + w for w in lines[1:]]


def package_rank(package: str) -> int:
    return max(rank(m) for m in MODULES if m == package or m.startswith(package + "."))


def tree_of(package: str, indent: int) -> list[str]:
    inside = [m for m in MODULES if m != package and m.rsplit(".", 1)[0] == package and MODULES[m].name != "__init__.py"]
    subpackages = [m for m in MODULES if m != package and m.rsplit(".", 1)[0] == package and MODULES[m].name == "__init__.py"]
    entries = [(rank(m), m, False) for m in inside] + [(package_rank(p), p, True) for p in subpackages]
    out: list[str] = []
    for _, name, is_package in sorted(entries, key=lambda e: (-e[0], e[1])):
        short = name.rsplit(".", 1)[1]
        if is_package:
            out += line(indent, short + "/", described(name))
            out += tree_of(name, indent + 2)
        else:
            out += line(indent, MODULES[name].name, described(name))
    return out


def rules_lines() -> list[str]:
    out = line(0, "rules/", "the knowledge base, as data (TOML), with its source article (all of it validated by `kb check`)")
    for path in sorted((ROOT / "rules").glob("*.toml")):
        comment = []
        for text in path.read_text("utf-8").splitlines():
            if not text.startswith("#"):
                break
            comment.append(text.lstrip("# "))
        out += line(2, path.name, first_sentence(" ".join(comment)) if comment else "")
    return out + line(2, "sources/", "the source article")


def tree() -> str:
    lines = rules_lines()
    lines += line(0, "advisor/", "imports run one way, top to bottom: each module stands above every module it imports")
    lines += tree_of("advisor", 2)
    lines += line(0, "cases/", "example case files with expected outcomes")
    lines += line(0, "tests/", "the tests, one file per module or behaviour")
    lines += line(0, "benchmarks/", "scripts that time and measure (printed figures, not timed tests)")
    lines += line(0, "docs/", "the documentation; tree.py and fhir_table.py generate parts of it")
    return "\n".join(lines) + "\n"


def in_doc(text: str) -> str:
    return text.split("# How it is built", 1)[1].split("```", 2)[1].removeprefix("\n")


if __name__ == "__main__":
    text = DOC.read_text("utf-8")
    new = text.replace("```\n" + in_doc(text) + "```", "```\n" + tree() + "```", 1)
    DOC.write_text(new, "utf-8")
    print("docs/architecture.md: tree rewritten" if new != text else "docs/architecture.md: tree unchanged", file=sys.stderr)
