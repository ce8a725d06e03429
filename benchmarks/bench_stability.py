"""What a stability check costs next to the plain analysis of the same image, and how good the estimate the
app gives before starting is.

Full-size DinoLizer (ViT-B/14, release layout, seeded random weights) and DeCLIP (ViT-L/14 conv-20, whole
image) on one image, float32 on the CPU (what `auto` chooses here): the analysis, the check (its variants
cheapest first; the results store empty), the ratio of the two, the time to the first variant's map, the
estimate made from the analysis's time per window, and a second check (every variant from the store).

    .venv/bin/python benchmarks/bench_stability.py [--width 1008 --height 756] [--models dinolizer declip]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_precision import blocky_photo, declip_vit_checkpoint
from dinolizer_gui.core.engine.analysis import AnalysisOptions
from dinolizer_gui.core.models.localizer import model_runtime
from dinolizer_gui.core.models.registry import load_localizer
from dinolizer_gui.core.progress import run_to_end
from dinolizer_gui.core.session.stability import check_stability, estimated_seconds, planned_variants
from dinolizer_gui.core.store.results import ResultStore
from tests import factories

OPTIONS = AnalysisOptions(device="cpu", precision="auto")


def full_size_checkpoint(name: str, folder: Path) -> Path:
    if name == "declip":
        return declip_vit_checkpoint(folder)
    path = folder / "epoch=36_val_loss=0.2130.ckpt"
    factories.make_dinolizer_release(path, **factories.FULL, head_scale=0.4)
    return path


def measure(name: str, image, folder: Path) -> dict:
    localizer = load_localizer(name, [full_size_checkpoint(name, folder)])
    runtime = model_runtime(name, OPTIONS)
    began = time.perf_counter()
    original = run_to_end(localizer.analyze(image, OPTIONS, runtime))
    analysis = time.perf_counter() - began
    names = planned_variants(name, OPTIONS, image.width, image.height)
    estimate = estimated_seconds(name, original, names, OPTIONS, image.width, image.height)
    store = ResultStore(folder / f"store-{name}")
    first_map: list[float] = []
    began = time.perf_counter()

    def note(progress) -> None:
        if progress.stage.startswith(f"stability: {names[1]}") and not first_map:
            first_map.append(time.perf_counter() - began)  # the second variant starts: the first is done

    run_to_end(check_stability(localizer, image, original, OPTIONS, runtime, store), note)
    check = time.perf_counter() - began
    began = time.perf_counter()
    run_to_end(check_stability(localizer, image, original, OPTIONS, runtime, store))
    again = time.perf_counter() - began
    return {
        "model": name,
        "precision": runtime.precision,
        "variants": names,
        "analysis_s": round(analysis, 2),
        "windows": original.windows,
        "check_s": round(check, 2),
        "check_over_analysis": round(check / analysis, 2),
        "first_variant_s": round(first_map[0], 2) if first_map else None,
        "estimate_s": round(estimate, 2),
        "estimate_over_actual": round(estimate / check, 2),
        "second_check_s": round(again, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=1008)
    parser.add_argument("--height", type=int, default=756)
    parser.add_argument("--models", nargs="+", default=["dinolizer", "declip"])
    args = parser.parse_args()
    image = blocky_photo(args.width, args.height)
    with tempfile.TemporaryDirectory() as folder:
        for name in args.models:
            print(json.dumps(measure(name, image, Path(folder))), flush=True)


if __name__ == "__main__":
    main()
