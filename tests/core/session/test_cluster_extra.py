"""Ray is an optional extra: without it `--cluster` says how to install it, and nothing else needs it."""

import subprocess
import sys

from PIL import Image

from dinolizer_gui.cli import main


def test_without_ray_cluster_says_how_to_install_it(weights, tmp_path, monkeypatch, capsys):
    files, _ = weights
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were not installed
    image = tmp_path / "a.png"
    Image.new("RGB", (64, 48)).save(image)
    code = main(
        ["analyze", str(image), "--out", str(tmp_path / "out"), "--weights", f"dinolizer={files['release']}",
         "--device", "cpu", "--cluster", "ray"]
    )  # fmt: skip
    assert code == 2 and "pip install -e '.[cluster]'" in capsys.readouterr().err


def test_a_local_analyze_never_imports_ray(weights, tmp_path):
    files, _ = weights
    script = (
        "import sys\nfrom PIL import Image\nfrom dinolizer_gui.cli import main\n"
        f"Image.new('RGB', (64, 48)).save({str(tmp_path / 'a.png')!r})\n"
        f"code = main(['analyze', {str(tmp_path / 'a.png')!r}, '--out', {str(tmp_path / 'out')!r}, "
        f"'--weights', 'dinolizer={files['release']}', '--device', 'cpu', '--quiet', '--no-cache'])\n"
        "assert code == 0 and 'ray' not in sys.modules, code\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
