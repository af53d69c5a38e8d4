"""How the package hangs together, read from its imports: one way down, no circles, and each outside
library used where its layer is (docs/architecture.md draws the layers)."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "advisor"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports(module: str, *, type_checking: bool = False) -> set[str]:
    """The modules ``module`` imports, as absolute names (an import of a package's name resolves to the
    submodule when there is one); imports under ``if TYPE_CHECKING`` only with ``type_checking``."""
    path = MODULES[module]
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    if not type_checking:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skip |= {id(n) for child in node.body for n in ast.walk(child)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else [])) if node.level \
                else str(node.module)
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES}
    return found


def own(module: str) -> set[str]:
    return {m for m in imports(module) if m in MODULES and m != "advisor"}


def test_the_modules_import_each_other_without_circles():
    graph = {m: own(m) - {m} for m in MODULES}
    done: set[str] = set()

    def visit(m: str, path: tuple[str, ...]) -> None:
        assert m not in path, " -> ".join(path[path.index(m):] + (m,))
        if m in done:
            return
        for n in graph[m]:
            if not n.startswith(m + "."):  # a package's __init__ may name its own modules
                visit(n, path + (m,))
        done.add(m)

    for m in graph:
        visit(m, ())


SURFACES = ("advisor.cli", "advisor.serve", "advisor.web", "advisor.batch")
KB_DATA = ("advisor.kb.load", "advisor.kb.schema", "advisor.kb.files", "advisor.kb.source", "advisor.kb.problems", "advisor.kb.space",
           "advisor.kb.claims", "advisor.kb.numbers", "advisor.kb.vocabulary", "advisor.kb.terminology",
           "advisor.kb.facts", "advisor.kb.matters", "advisor.kb.base", "advisor.kb.aid_items")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_module_imports_only_the_layers_below_it(module):
    found = own(module)
    if module.startswith("advisor.core"):
        assert not {m for m in found if m.startswith(SURFACES)}, module
        assert not {m for m in found if m.startswith("advisor.kb.") and m not in KB_DATA}, module  # checks, table, diff, dmn run the core
        assert "advisor.api" not in found and "advisor.render" not in found
    if module in KB_DATA:
        below = {"advisor.core.models"}  # the facts' types (MSType, Severity, limits), which the KB's tests are checked against
        assert not {m for m in found - below if m.startswith(("advisor.core", "advisor.api") + SURFACES)}, module
    if module.startswith("advisor.kb"):
        assert not {m for m in found if m.startswith(SURFACES)}, module
    if module in ("advisor.text", "advisor.errors", "advisor.values", "advisor.atomic", "advisor.stopping"):
        assert found <= {"advisor.text", "advisor.errors"}, module  # the small shared utilities at the bottom
    if module.startswith(("advisor.serve", "advisor.web", "advisor.batch")) and not module.endswith(".__main__"):
        assert "advisor.cli" not in found, module  # an entry point (python -m advisor.web) is the CLI by another name


def test_outside_libraries_stay_in_their_layer():
    for module in MODULES:
        found = imports(module, type_checking=True)
        if any(m == "durable" or m.startswith("durable.") for m in found):
            assert module == "advisor.core.engine", module
        if any(m == "click" or m.startswith("click.") for m in found):
            assert module == "advisor.cli" or module.startswith("advisor.cli."), module
        if any(m.split(".")[0] in ("fastapi", "starlette", "jinja2") for m in found):
            assert module.startswith(("advisor.serve", "advisor.web")), module
        if any(m.split(".")[0] == "uvicorn" for m in found):
            assert module.startswith("advisor.serve"), module  # `ms-advisor serve` runs serve.start.run
        if module.startswith("advisor.cli"):
            assert not {m for m in found if m.split(".")[0] in ("socket", "codecs")}, module  # the checks are the library's


def test_recommend_and_decision_do_not_import_the_advisor_that_calls_them():
    for module in ("advisor.core.recommend", "advisor.core.decision"):
        assert "advisor.core.advisor" not in own(module), module
    assert not (PACKAGE / "explain.py").exists()


def test_the_service_routers_never_import_the_app_and_the_app_imports_them_at_its_top():
    app = "advisor.serve.app"
    for router in ("advisor.serve.api", "advisor.serve.cds", "advisor.serve.responses", "advisor.serve.dependencies",
                   "advisor.serve.runtime"):
        assert app not in imports(router, type_checking=True), router
    for router in ("advisor.serve.api", "advisor.serve.cds"):
        assert "advisor.serve.responses" in own(router), router
    top = {f"{n.module}.{a.name}" if f"{n.module}.{a.name}" in MODULES else n.module
           for n in ast.parse(MODULES[app].read_text()).body if isinstance(n, ast.ImportFrom) for a in n.names}
    assert {"advisor.serve.api", "advisor.serve.cds", "advisor.serve.pages", "advisor.serve.protocol"} <= top


def test_the_handlers_are_given_what_they_use_and_raise_their_refusals():
    """The runtime, the token's check and the bodies come from dependencies (serve/dependencies.py), the
    pages' Site from theirs; a refusal is raised and answered by the app's handlers, not built in place."""
    for module in ("advisor.serve.api", "advisor.serve.cds"):
        source = MODULES[module].read_text()
        assert "app.state" not in source and "json_error(" not in source and "JSONResponse | None" not in source, module
        assert "advisor.serve.dependencies" in own(module), module
    import importlib

    from fastapi import APIRouter, FastAPI
    from fastapi.routing import APIRoute

    from advisor.web import pages

    assert isinstance(pages.router, APIRouter)
    app = FastAPI()
    app.include_router(pages.router)  # the one router has every page: its own and those it includes
    modules = ("advisor.web.pages", "advisor.web.schedule_pages", "advisor.web.reference_pages", "advisor.web.summary_pages")
    routes = [(name, route) for name in modules
              for route in importlib.import_module(name).router.routes if isinstance(route, APIRoute)]
    assert len(routes) >= 8
    for name, route in routes:  # plain functions of the page modules, not one closure's
        module = sys.modules[route.endpoint.__module__]
        assert "<locals>" not in route.endpoint.__qualname__ and module.__name__ == name, route.path
        assert app.url_path_for(route.name, **dict.fromkeys(route.param_convertors, "x")) == re.sub(r"{[^}]+}", "x", route.path)
        assert getattr(module, route.endpoint.__qualname__) is route.endpoint, route.path


def test_the_cli_renders_nothing_itself():
    paths = sorted((PACKAGE / "cli").glob("*.py"))
    assert len(paths) > 1 and not (PACKAGE / "cli.py").exists()
    for path in paths:
        source = path.read_text()
        assert source.count("\n") <= 400, path  # one job a module (issue 22)
        assert "textwrap" not in source, path
        if path.name != "interview.py":  # moved in from advisor/: its --save file is the facts as the model dumps them
            assert "model_dump" not in source, path


def test_the_architecture_doc_names_every_module():
    built = (ROOT / "docs" / "architecture.md").read_text().split("# How it is built", 1)[1].split("```")[1]
    for path in PACKAGE.rglob("*.py"):
        if path.name == "__init__.py":
            assert path.parent == PACKAGE or f"{path.parent.name}/" in built, path
        else:
            assert re.search(rf"(?<![\w.]){re.escape(path.name)}\b", built), path


def test_the_kb_thresholds_are_derived_in_one_place():
    from advisor import default_advisor
    from advisor.kb.checks import representative_values

    advisor = default_advisor()
    t = advisor.kb.thresholds
    assert t["prior_failures"] == [2] and t["mitoxantrone_cumulative_mg_m2"] == [140]
    assert representative_values(advisor.kb)["prior_failures"] == [0, 2, 3]  # below, at, above
    assert advisor.candidates("prior_failures", 0) == [1, 2, 3]
    # Nothing else collects the values the tests compare with: the advisor and the checks read
    # kb.thresholds (the table and the diff go through checks.representative_values).
    for module in ("advisor.core.advisor", "advisor.kb.checks", "advisor.kb.diff"):
        assert "isinstance(t.value, list)" not in MODULES[module].read_text(), module


def tree_module():
    spec = importlib.util.spec_from_file_location("tree", ROOT / "docs" / "tree.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_architecture_tree_is_the_one_the_package_gives():
    tree = tree_module()
    assert tree.in_doc((ROOT / "docs" / "architecture.md").read_text("utf-8")) == tree.tree(), "run: python docs/tree.py"


def test_the_tree_follows_the_code(tmp_path, monkeypatch):
    tree = tree_module()
    assert "  values.py            Text to value" in tree.tree()
    original = tree.described
    monkeypatch.setattr(tree, "described", lambda m: "Changed." if m == "advisor.values" else original(m))
    assert "  values.py            Changed" in tree.tree()
