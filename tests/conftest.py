import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Nothing in the tests may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TIMM_OFFLINE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def private_store(tmp_path, monkeypatch):
    """Every test gets its own results store, config and weights folders: nothing of the user's is touched."""
    monkeypatch.setenv("DINOLIZER_GUI_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("DINOLIZER_GUI_CONFIG", str(tmp_path / "config"))
    monkeypatch.setenv("DINOLIZER_GUI_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def weights(tmp_path_factory):
    """Tiny checkpoints in every official layout, written once per test session."""
    from tests import factories

    folder = tmp_path_factory.mktemp("weights")
    files = {
        "release": folder / "epoch=36_val_loss=0.2130.ckpt",
        "bfree": folder / "model_epoch_best.pth",
        "head": folder / "paper.head.safetensors",
        "declip": folder / "ViT_layer20_conv-20_cocosd.pth",
    }
    sources = {
        "release": factories.make_dinolizer_release(files["release"], head_scale=0.4),
        "bfree": factories.make_bfree_backbone(files["bfree"]),
        "head": factories.make_linear_head(files["head"]),
        "declip": factories.make_declip_vit(files["declip"])[1],
    }
    return files, sources
