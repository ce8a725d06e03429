import pkgutil
import subprocess
import sys
from pathlib import Path

import dinolizer_gui.core

ROOT = Path(__file__).resolve().parents[2]


def test_every_core_module_imports_with_pyside6_absent():
    modules = [m.name for m in pkgutil.walk_packages(dinolizer_gui.core.__path__, "dinolizer_gui.core.")]
    assert "dinolizer_gui.core.engine.inference" in modules
    code = (
        "import sys\n"
        "for blocked in ('PySide6', 'shiboken6', 'superqt'):\n"
        "    sys.modules[blocked] = None  # any import of it now raises ImportError\n"
        f"import importlib\nfor name in {modules!r}:\n    importlib.import_module(name)\n"
        "assert not any(m.startswith(('PySide6', 'superqt')) for m in sys.modules if sys.modules[m])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_import_linter_contract_holds():
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports"))],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "The core never imports Qt or the UI KEPT" in result.stdout
