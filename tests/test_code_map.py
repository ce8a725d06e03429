"""The code map in docs/development.md is the package as it is: every module it names exists, every module of
dinolizer_gui is named (under its own package's heading); and the size limits hold (issue 30): no module over
400 lines, no function over 60."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dinolizer_gui"
MODULE_LINES, FUNCTION_LINES = 400, 60


def _code_map() -> list[tuple[str, str]]:
    """(package folder, name) for each row of the code map's tables: ("dinolizer_gui/core/io/", "names")."""
    text = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    section = text.split("\n## Code map\n", 1)[1].split("\n## ", 1)[0]
    rows, package = [], None
    for line in section.splitlines():
        if heading := re.fullmatch(r"### `(dinolizer_gui/(?:[\w/]+/)?)`", line.strip()):
            package = heading[1]
        elif package and (row := re.match(r"\| `([^`]+)` \|", line)):
            rows.append((package, row[1]))
    return rows


def _path(package: str, name: str) -> Path:
    """A module (`names`), a package or data folder (`provenance/`), or a data file (`schema.json`)."""
    return ROOT / package / (name if name.endswith("/") or "." in name else f"{name}.py")


def _modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if path.name != "__init__.py")


def test_every_module_the_code_map_names_exists_once():
    rows = _code_map()
    assert len({package for package, _ in rows}) >= 10, "the code map's package headings were not found"
    headings_not_packages = sorted(
        {package for package, _ in rows if not (ROOT / package / "__init__.py").is_file()}
    )
    missing = [f"{package}{name}" for package, name in rows if not _path(package, name).exists()]
    twice = [f"{package}{name}" for (package, name), count in Counter(rows).items() if count > 1]
    assert not headings_not_packages, f"code map headings that are not packages: {headings_not_packages}"
    assert not missing, f"named in the code map but not in the package: {missing}"
    assert not twice, f"named twice in the code map: {twice}"


def test_every_module_of_the_package_is_named_in_the_code_map():
    named = {_path(package, name) for package, name in _code_map()}
    packages = {ROOT / package for package, _ in _code_map()}
    unnamed = [str(path.relative_to(ROOT)) for path in _modules() if path not in named]
    without_heading = sorted(
        str(init.parent.relative_to(ROOT))
        for init in PACKAGE.rglob("__init__.py")
        if init.parent not in packages
    )
    assert not unnamed, f"modules missing from the code map in docs/development.md (a line each): {unnamed}"
    assert not without_heading, f"packages without a heading of their own in the code map: {without_heading}"


def _functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def test_no_module_over_400_lines_and_no_function_over_60():
    too_long = []
    for path in _modules() + sorted(PACKAGE.rglob("__init__.py")):
        source = path.read_text(encoding="utf-8")
        where = path.relative_to(ROOT)
        if len(source.splitlines()) > MODULE_LINES:
            too_long.append(f"{where}: {len(source.splitlines())} lines")
        for function in _functions(ast.parse(source)):
            length = function.end_lineno - function.lineno + 1  # from `def` to its last line
            if length > FUNCTION_LINES:
                too_long.append(f"{where}:{function.lineno} {function.name}: {length} lines")
    assert not too_long, (
        f"over the limits ({MODULE_LINES} lines a module, {FUNCTION_LINES} a function): {too_long}"
    )
