"""The rules of the house (docs/architecture.md), read from the modules' imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth (top level, functions, TYPE_CHECKING)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def imported(path: Path, *prefixes: str) -> list[str]:
    return sorted(
        name
        for name in imports_of(path)
        if any(name == p or name.startswith(p + ".") for p in prefixes)
    )


def test_the_tree_has_the_modules_the_rules_speak_of():
    assert len(modules("core")) >= 15 and len(modules("flows")) >= 15
    assert (ROOT / "flows" / "report" / "notices.py").exists()


@pytest.mark.parametrize("path", modules("core"), ids=lambda p: p.name)
def test_core_never_imports_flows_nor_distributed_nor_storage(path):
    assert imported(path, "flows", "distributed", "fsspec", "s3fs", "click", "yaml") == []


@pytest.mark.parametrize(
    "name", ["rank.py", "summary.py", "graph.py", "types.py", "report/map.py", "report/html.py"]
)
def test_stages_and_reports_touch_neither_storage_nor_the_command_line(name):
    path = ROOT / "flows" / name
    assert imported(path, "fsspec", "s3fs", "click", "flows.storage", "flows.cli") == []
    assert imported(path, "flows.run", "flows.publish", "flows.runtime") == []


def test_the_command_line_calls_the_run_and_builds_no_stage():
    used = imported(ROOT / "flows" / "cli.py", "flows", "core")
    assert "flows.run" in used
    assert not {"flows.rank", "flows.graph", "flows.summary", "flows.publish"} & set(used)


def test_notices_import_nothing_heavy():
    # The command line imports them before any work; so must a reader of the module.
    assert imported(ROOT / "flows" / "report" / "notices.py", "pandas", "matplotlib") == []
    assert imported(ROOT / "flows" / "errors.py", "flows", "core", "pandas") == []
