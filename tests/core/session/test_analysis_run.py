"""A headless analysis is a request the core carries out (no command line needed), and a batch runner finishes
images alike whichever source its maps come from."""

import json
from pathlib import Path

import numpy as np
from PIL import Image

from dinolizer_gui.core.engine.analysis import AnalysisOptions
from dinolizer_gui.core.models.registry import load_localizer
from dinolizer_gui.core.progress import run_to_end
from dinolizer_gui.core.session.analysis_request import AnalysisRequest, OutputRequest
from dinolizer_gui.core.session.analysis_run import analyse
from dinolizer_gui.core.session.batch import BatchRunner, ItemStatus, make_items
from dinolizer_gui.core.session.cluster.runner import RemoteMaps
from dinolizer_gui.core.session.map_sources import LocalMaps
from dinolizer_gui.core.session.thresholds import Thresholds

OPTIONS = AnalysisOptions(device="cpu", precision="float32")


def _photos(folder: Path, count: int) -> Path:
    folder.mkdir()
    for seed in range(count):
        pixels = np.random.default_rng(seed).integers(0, 256, (150, 190, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"img{seed}.png")
    return folder


class Recorded:
    """A console that keeps what the run tells."""

    def __init__(self):
        self.lines, self.images, self.events = [], [], 0

    def say(self, text):
        self.lines.append(text)

    note = error = say

    def begin(self, total):
        self.lines.append(f"begin {total}")

    def progress(self, event):
        self.events += 1

    def image_done(self, item, position, done, total):
        self.images.append((Path(item.path).name, position, done, total))


def test_a_request_is_carried_out_without_the_command_line(weights, tmp_path):
    files, _ = weights
    folder, out = _photos(tmp_path / "photos", 2), tmp_path / "out"
    request = AnalysisRequest(
        (str(folder),),
        OPTIONS,
        OutputRequest(out, reports=("json",)),
        weights={"dinolizer": [files["release"]]},
        use_store=False,
        threshold=0.7,
    )
    console = Recorded()
    ending = analyse(request, console)
    assert (ending.images, ending.failures, ending.report_failures) == (2, 0, {})
    assert ending.reports == [out / "report.json"]
    assert console.images == [("img0.png", 1, 1, 2), ("img1.png", 2, 2, 2)] and console.events
    assert console.lines[0] == "begin 2" and f"report written: {out / 'report.json'}" in console.lines
    results = json.loads((out / "results.json").read_text())
    assert [e["models"]["dinolizer"]["threshold"] for e in results["images"]] == [0.7, 0.7]


def test_maps_handed_over_by_another_source_finish_images_as_a_local_run_does(weights, tmp_path):
    files, _ = weights
    folder = _photos(tmp_path / "photos", 3)
    models = [load_localizer("dinolizer", [files["release"]])]
    computed = {}

    def keep(item, image, name, outcome):
        computed[(image.sha256, name)] = outcome.run

    local_items = make_items([folder])
    run_to_end(BatchRunner(models, OPTIONS, None, Thresholds()).run(local_items, on_model=keep))
    remote = RemoteMaps(LocalMaps().runtimes(["dinolizer"], OPTIONS))
    remote.computed = dict(computed)
    del remote.computed[next(iter(computed))]  # the first image's map never came
    items = make_items([folder])
    run_to_end(BatchRunner(models, OPTIONS, None, Thresholds(), maps=remote).run(items))
    assert items[0].status == ItemStatus.ERROR and "no actor computed this map" in items[0].reason
    assert [item.models for item in items[1:]] == [item.models for item in local_items[1:]]
    assert not remote.computed  # each map handed over once, then let go
