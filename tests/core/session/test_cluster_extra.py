"""Ray is an optional extra: without it `--cluster` says how to install it, and nothing else needs it."""

import json
import subprocess
import sys

from PIL import Image

from tests.cli_run import analyze_args, run_cli


def test_without_ray_cluster_says_how_to_install_it(weights, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were not installed
    image = tmp_path / "a.png"
    Image.new("RGB", (64, 48)).save(image)
    cluster = ("--cluster", "ray")
    code, _, err = run_cli(
        *analyze_args(weights, image, tmp_path / "out", *cluster, models=("dinolizer",), quiet=False)
    )
    assert code == 2 and "pip install -e '.[cluster]'" in err


def test_a_local_analyze_never_imports_ray(weights, tmp_path):
    image = tmp_path / "a.png"
    args = analyze_args(weights, image, tmp_path / "out", "--no-cache", models=("dinolizer",))
    script = (
        "import json, sys\nfrom PIL import Image\nfrom dinolizer_gui.cli import main\n"
        "Image.new('RGB', (64, 48)).save(sys.argv[1])\n"
        "code = main(json.loads(sys.argv[2]))\n"
        "assert code == 0 and 'ray' not in sys.modules, code\n"
    )
    subprocess.run([sys.executable, "-c", script, str(image), json.dumps(args)], check=True, timeout=120)
