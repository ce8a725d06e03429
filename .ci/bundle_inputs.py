"""For .ci/bundle-check: writes the checkpoints (official layouts, random weights) and images, or compares
the frozen app's outputs with the source install's (`--compare A B`)."""

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_inputs(work: Path) -> None:
    from tests import factories

    factories.make_dinolizer_release(work / "epoch=36_val_loss=0.2130.ckpt", head_scale=0.4)
    factories.make_declip_vit(work / "ViT_layer20_conv-20_cocosd.pth")
    images = work / "images"
    images.mkdir()
    shutil.copy(ROOT / "dinolizer_gui" / "resources" / "self-test-sample.jpg", images / "sample.jpg")


def comparable(results: Path) -> list:
    """What must be identical: each image's hashes, figures, regions and files (not times or folders)."""
    document = json.loads((results / "results.json").read_text())
    images = [
        {key: value for key, value in image.items() if key not in ("path", "path_bytes")}
        for image in document["images"]
    ]
    for image in images:
        for model in image["models"].values():
            model.pop("computed_at")  # when: the two runs are seconds apart
    return images


def compare(first: Path, second: Path) -> None:
    assert comparable(first) == comparable(second), "results.json differs"
    files = sorted(p.relative_to(first) for p in first.rglob("*.png"))
    assert files, "no PNG written"
    for relative in files:
        assert (first / relative).read_bytes() == (second / relative).read_bytes(), f"{relative} differs"
    print(f"frozen and source outputs identical: results.json figures and {len(files)} PNGs")


if __name__ == "__main__":
    work = Path(sys.argv[1])
    if "--compare" in sys.argv:
        compare(work / sys.argv[3], work / sys.argv[4])
    else:
        write_inputs(work)
