"""How the service's modules hang together (issue 22): the app imports its routers, the routers import
what they share from responses.py and never the app; one start-up step."""

from __future__ import annotations

import ast
import gc
from pathlib import Path

SERVE = Path(__file__).resolve().parent.parent / "advisor" / "serve"


def imports(module: str, top_level_only: bool) -> set[str]:
    """The serve/ modules ``module`` imports (``from .x import``, ``from . import x``)."""
    tree = ast.parse((SERVE / f"{module}.py").read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module} if node.module else {a.name for a in node.names}
    return found


def test_the_routers_never_import_the_app_and_the_app_imports_them_at_its_top():
    for router in ("api", "cds", "responses"):
        assert "app" not in imports(router, top_level_only=False), router
    assert "responses" in imports("api", top_level_only=True) and "responses" in imports("cds", top_level_only=True)
    assert {"api", "cds", "pages", "protocol"} <= imports("app", top_level_only=True)
    assert "app" not in imports("responses", top_level_only=False) and "api" not in imports("responses", top_level_only=False)


def test_one_start_up_step_freezes_what_start_up_built():
    from advisor.serve.app import freeze_start_up

    gc.unfreeze()
    try:
        freeze_start_up()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    root = SERVE.parent
    for entry in ("cli.py", "web/__main__.py"):
        assert "gc.freeze" not in (root / entry).read_text(), entry
