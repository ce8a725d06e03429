"""`dinolizer-gui self-test` and *Help › Check installation…*: the whole analysis path, run on a bundled
sample picture with a small checkpoint written in the official DinoLizer release layout (random weights:
nothing is downloaded, nothing reaches the network), and where everything lives."""

from __future__ import annotations

import json
import math
import platform
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

from ... import __version__

SAMPLE = "self-test-sample.jpg"  # a synthetic picture (sky, sun, house): no one's photograph


@dataclass
class Step:
    name: str
    ok: bool
    detail: str


@dataclass
class SelfTestReport:
    steps: list[Step] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(step.ok for step in self.steps)

    @property
    def failed_step(self) -> str:
        return next((step.name for step in self.steps if not step.ok), "")

    def text(self) -> str:
        lines = [f"DinoLizer GUI {__version__} — installation check"]
        lines += [f"  {'ok  ' if step.ok else 'FAIL'} {step.name}: {step.detail}" for step in self.steps]
        lines += [f"  {name}: {value}" for name, value in self.facts.items()]
        lines.append("Everything works." if self.ok else f"FAILED at: {self.failed_step}")
        return "\n".join(lines)


def run_self_test(
    device: str = "auto", precision: str = "auto", on_step: Callable[[Step], None] = print
) -> SelfTestReport:
    """Each step in order; the first that fails ends the test. Returns the report."""
    report = SelfTestReport()
    report.facts.update(_places())
    with tempfile.TemporaryDirectory(prefix="dinolizer-self-test-") as work:
        context: dict = {"work": Path(work), "device": device, "precision": precision}
        for name, step in STEPS:
            started = time.perf_counter()
            try:
                detail = step(context, report)
                outcome = Step(name, True, f"{detail} ({time.perf_counter() - started:.1f} s)")
            except Exception as exc:  # the report names the step and the reason; nothing escapes
                outcome = Step(name, False, f"{type(exc).__name__}: {exc}")
            report.steps.append(outcome)
            on_step(outcome)
            if not outcome.ok:
                break
    return report


def _places() -> dict[str, str]:
    from ..models.weights_folder import weights_dir
    from ..store.results import default_store_dir
    from .settings import config_dir, log_file

    return {
        "weights folder": str(weights_dir(None)),
        "results store": str(default_store_dir()),
        "settings": str(config_dir() / "settings.json"),
        "log file": str(log_file()),
        "platform": platform.platform(),
    }


def _imports(context: dict, report: SelfTestReport) -> str:
    from ..report.run_record import software_versions

    versions = software_versions()
    report.facts["versions"] = ", ".join(f"{name} {version}" for name, version in versions.items())
    return f"PyTorch {versions.get('torch')}, timm {versions.get('timm')}"


def _device(context: dict, report: SelfTestReport) -> str:
    import torch

    from ..engine.analysis import AnalysisOptions
    from ..models.localizer import model_runtimes

    options = AnalysisOptions(device=context["device"], precision=context["precision"])
    context["runtimes"] = model_runtimes(["dinolizer"], options)
    runtime = context["runtimes"]["dinolizer"]
    cuda = (
        f"found: {torch.cuda.get_device_name(0)}"
        if torch.cuda.is_available()
        else f"not used: {runtime.note or 'no usable CUDA GPU'} (PyTorch built for CUDA {torch.version.cuda})"
    )
    report.facts["CUDA"] = cuda
    report.facts["device"] = runtime.description
    report.facts["precision"] = f"DinoLizer: {runtime.precision_reason}"
    return runtime.description


def _checkpoint(context: dict, report: SelfTestReport) -> str:
    from ..models.synthetic import RELEASE_FILE_NAME, write_release

    path = context["work"] / RELEASE_FILE_NAME
    write_release(path, head_scale=0.4)
    context["checkpoint"] = path
    return f"{path.name}, {path.stat().st_size / 1e6:.1f} MB, official release layout"


def _load(context: dict, report: SelfTestReport) -> str:
    from ..store.results import ResultStore
    from .settings import Settings
    from .workspace import Workspace

    work = context["work"]
    settings = Settings(device=context["device"], precision=context["precision"])
    workspace = Workspace(settings, work / "config", work / "no-weights", ResultStore(work / "store"))
    workspace.set_model_files("dinolizer", [context["checkpoint"]])
    model = workspace.model("dinolizer", [context["checkpoint"]])
    model.load()
    context["workspace"], context["model"] = workspace, model
    return model.variant


def _analyse(context: dict, report: SelfTestReport) -> str:
    from ..progress import run_to_end
    from ..report.results_folder import ResultsWriter
    from .batch import ItemStatus, make_items

    workspace, model, work = context["workspace"], context["model"], context["work"]
    sample = work / SAMPLE
    sample.write_bytes(resources.files("dinolizer_gui").joinpath("resources", SAMPLE).read_bytes())
    run_info = workspace.run_description([model], context["runtimes"])
    writer = ResultsWriter(work / "out", run_info)
    items = make_items([sample])
    runner = workspace.batch_runner([model])

    run_to_end(runner.run(items, on_image=writer.add, on_model=writer.add_model))
    writer.finish()
    if items[0].status != ItemStatus.DONE:
        raise RuntimeError(f"the sample was not analysed: {items[0].reason}")
    return f"{sample.name}, {items[0].width}x{items[0].height}"


def _check(context: dict, report: SelfTestReport) -> str:
    out = context["work"] / "out"
    entry = json.loads((out / "results.json").read_text(encoding="utf-8"))["images"][0]
    result = entry["models"]["dinolizer"]
    mask = np.asarray(Image.open(out / result["mask"]))
    problems = [
        "status " + entry["status"] if entry["status"] != "ok" else "",
        "mask size" if mask.shape[:2] != (entry["height"], entry["width"]) else "",
        "mask values" if not set(np.unique(mask)) <= {0, 255} else "",
        "score" if not math.isfinite(result["score"]) else "",
        "windows" if result["windows"] < 2 else "",
        "marked area" if abs(result["marked_area"] - (mask == 255).mean()) > 1e-6 else "",
    ]
    if any(problems):
        raise RuntimeError("wrong " + ", ".join(p for p in problems if p))
    return (
        f"{result['windows']} windows, score {result['score']:.3f}, {result['marked_area']:.1%} marked, "
        f"{len(result['regions'])} regions, PNGs and results.json written"
    )


def _credentials(context: dict, report: SelfTestReport) -> str:
    """The sample signed with Content Credentials (a throwaway chain) and read back offline: the native C2PA
    library is there and works."""
    from ..io.provenance import read_provenance
    from ..io.provenance.signing import make_chain, sign

    work = context["work"]
    signed = sign(
        work / SAMPLE,
        work / "signed-sample.jpg",
        make_chain("DinoLizer self-test", "DinoLizer GUI"),
        generator="self-test",
    )
    c2pa = read_provenance(signed)["c2pa"]
    if c2pa["state"] != "valid" or c2pa["trusted_signer"] is not False or not c2pa["actions"]:
        raise RuntimeError(f"Content Credentials read back as {c2pa['state']}: {c2pa['message']}")
    return f"Content Credentials signed and read back: {c2pa['state']}, {c2pa['signer']}, on no trust list"


STEPS: list[tuple[str, Callable[[dict, SelfTestReport], str]]] = [
    ("import PyTorch and timm", _imports),
    ("choose the device", _device),
    ("write a checkpoint in the official layout", _checkpoint),
    ("load it", _load),
    ("analyse the sample (windows, map, mask, regions)", _analyse),
    ("check the map, the mask and the files written", _check),
    ("read Content Credentials (the native C2PA library)", _credentials),
]
