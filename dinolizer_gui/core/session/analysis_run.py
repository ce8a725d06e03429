"""A headless analysis carried out: the request's case opened (its evidence listed, its store and runs folder
used), the output folder claimed, the models loaded, the images analysed here or on a cluster's actors and
saved as each finishes (results.json, masks, overlays, maps), each analysis recorded in the case's log, then
the reports. What the user is told goes through a RunConsole; the front end words nothing of the run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..engine.analysis import ImageOutcome
from ..errors import RequestError
from ..progress import run_to_end
from ..report.content import CaseInfo, write_reports
from ..report.results_folder import ResultsWriter
from .analysis_request import AnalysisRequest, claim_out, load_models, open_workspace
from .batch import BatchItem, BatchProgress, ItemStatus, make_items
from .case import Case, record_analyses
from .case_entries import CASE_FILE, CaseError
from .settings import load_settings

if TYPE_CHECKING:
    from .cluster import ClusterRunner


class RunConsole(Protocol):
    def say(self, text: str) -> None:
        """A line the user must see: a warning, what the case got, the run's end."""

    def note(self, text: str) -> None:
        """A line of progress the user may silence."""

    def error(self, text: str) -> None:
        """Something that failed while the rest went on (a report not written)."""

    def begin(self, total: int) -> None:
        """The images (`total` of them) are about to be analysed."""

    def progress(self, event: BatchProgress) -> None:
        """Where the run is (an image, a model, its windows, a stability variant)."""

    def image_done(self, item: BatchItem, position: int, done: int, total: int) -> None:
        """An image finished: its place in the inputs, how many have, of how many."""


@dataclass
class RunEnding:
    images: int = 0
    failures: int = 0  # images that could not be analysed
    cancelled: bool = False
    reports: list[Path] = field(default_factory=list)  # written
    report_failures: dict[str, str] = field(default_factory=dict)  # format -> why it could not be written


@dataclass(frozen=True)
class _Place:
    """Where a run's results go: the case it belongs to (None: none), the case number on its reports."""

    out: Path
    case: Case | None
    case_number: str


def analyse(request: AnalysisRequest, console: RunConsole) -> RunEnding:
    """Carry out the request; RequestError (before any image is analysed) when it cannot be."""
    if request.stability and request.cluster is not None:
        raise RequestError("--stability runs on this machine only: not with --cluster (yet)")
    place = _open_case(request, console)
    claim = claim_out(place.out, request.inputs, request.outputs.replace, console.say)
    try:
        return AnalysisRun(request, console, place).execute()
    finally:
        claim.release()


def _open_case(request: AnalysisRequest, console: RunConsole) -> _Place:
    """The case folder given (its evidence gets the inputs; its store and runs folder are used), else the
    case number given. A case given that is not a case folder, or cannot be written, is refused."""
    given, out = request.case.given, request.outputs.folder
    if not request.case.is_folder:
        if out is None:
            raise RequestError("--out DIR is required (or --case CASE_DIR, whose runs folder is then used)")
        return _Place(out, None, given)
    if not (Path(given) / CASE_FILE).is_file():
        raise RequestError(
            f"--case {given}: not a case folder (no {CASE_FILE}); make one with `dinolizer-gui case new`"
        )
    if not request.use_store or request.store is not None:
        raise RequestError("--case keeps its results in the case's own store: drop --store and --no-cache")
    try:
        case = Case.open(Path(given), _analyst(request))
    except CaseError as exc:
        raise RequestError(f"--case {exc}") from None
    if case.read_only:
        why = "; ".join(case.warnings) or "read-only media?"
        raise RequestError(f"--case {given}: the case cannot be written ({why}): open it in the viewer")
    for warning in case.warnings:
        console.say(f"warning: case {warning}")
    for state in case.evidence_states():
        if state.state != "intact":
            console.say(f"warning: case evidence {state.describe()}")
    out = out or case.new_run_folder()
    listing = case.add_evidence(request.inputs)
    for path, reason in listing.refused:
        console.say(f"warning: not listed as case evidence: {path}: {reason}")
    console.say(f"case {case.title}: {len(listing.added)} evidence file(s) added; results in {out}")
    return _Place(out, case, case.number)


def _analyst(request: AnalysisRequest) -> str:
    return load_settings().analyst if request.case.analyst is None else request.case.analyst


class AnalysisRun:
    """One request's run once its output folder is claimed: models loaded, images found, the maps computed
    here or on a cluster, every image saved as it finishes."""

    def __init__(self, request: AnalysisRequest, console: RunConsole, place: _Place):
        self.request, self.console, self.place = request, console, place
        store = place.case.folder / "store" if place.case is not None else None
        self.workspace = open_workspace(request, store)
        self.models = load_models(self.workspace, request.models)
        self.runtimes = self.workspace.runtimes([model.name for model in self.models])
        self._warn_of_runtimes()
        self.items = make_items(request.inputs, request.follow_links)
        if not self.items:
            raise RequestError("no images found in the given paths")
        self.workspace.use_thresholds(request.threshold)
        self.cluster = self._start_cluster() if request.cluster is not None else None
        if self.cluster is not None:  # the outputs name the device the actors compute on
            self.runtimes = self.cluster.runtimes
        self.positions = {item.path: number for number, item in enumerate(self.items, 1)}  # any order
        self.writer = ResultsWriter(
            place.out,
            self.workspace.run_description(self.models, self.runtimes),
            save_probability=request.outputs.save_probability,
            positions=self.positions,
            trust_anchors=request.trust_anchors,
            findings_of=self.workspace.store.findings if self.workspace.store is not None else None,
            views=request.views,
        )
        self.done = 0

    def _warn_of_runtimes(self) -> None:
        options = self.request.options
        device = next(iter(self.runtimes.values()))
        if options.device in ("cuda", "mps") and device.note:
            self.console.say(f"warning: --device {options.device}: {device.note}; the models run on the CPU")
        for runtime in self.runtimes.values():
            if runtime.warning:
                self.console.say(f"warning: --precision {options.precision}: {runtime.warning}")

    def _start_cluster(self) -> ClusterRunner:
        """Ray actors holding the models (refused when Ray or the actors cannot be had)."""
        from .cluster import ClusterError, ClusterRunner

        workspace, cluster = self.workspace, self.request.cluster
        assert cluster is not None
        try:
            runner = ClusterRunner(
                self.models,
                workspace.options(),
                workspace.store,
                workspace.thresholds,
                workspace.max_pixels(),
                cluster,
            )
        except ClusterError as exc:
            raise RequestError(str(exc)) from None
        device = next(iter(runner.runtimes.values()))
        self.console.note(f"cluster: {runner.stats.actors} actor(s) on {device.description}")
        return runner

    def execute(self) -> RunEnding:
        """Analyse every image, then write the reports asked; results.json is whole however the run ends."""
        self.console.begin(len(self.items))
        try:
            if self.cluster is not None:
                if self._run_on_cluster(self.cluster):
                    return RunEnding(len(self.items), cancelled=True)
            else:
                self._run_here()
        finally:
            self.writer.finish()  # results.jsonl has every image already
        return self._ending()

    def _finished(self, item: BatchItem, outcome: ImageOutcome | None) -> None:
        """An image's entry, and its analyses in the case's log."""
        from ..engine.device import release_freed_memory

        self.writer.add(item, outcome)
        case = self.place.case
        if case is not None and outcome is not None and outcome.ok and outcome.image is not None:
            options = self.workspace.options()
            record_analyses(case, item, outcome.image.sha256, self.models, self.runtimes, options)
        release_freed_memory()
        self.done += 1
        self.console.image_done(item, self.positions[item.path], self.done, len(self.items))

    def _run_here(self) -> None:
        runner = self.workspace.batch_runner(self.models, stability=self.request.stability)
        run = runner.run(self.items, on_image=self._finished, on_model=self.writer.add_model)
        run_to_end(run, self.console.progress)

    def _run_on_cluster(self, runner: ClusterRunner) -> bool:
        """The maps are computed by Ray actors; this process reads and writes everything, as a local run
        does. True when the run was cancelled (Ctrl+C)."""
        try:
            for _ in runner.run(self.items, on_image=self._finished, on_model=self.writer.add_model):
                pass
        except KeyboardInterrupt:
            kept = f"the {self.done} images finished are kept"
            self.console.say(f"cancelled: {kept}; run again to go on from the results store")
            return True
        finally:
            runner.close()
        if runner.stats.lost:
            self.console.note(
                f"cluster: {len(runner.stats.lost)} actor(s) lost — {'; '.join(runner.stats.lost)} — "
                f"{runner.stats.replaced} replaced; their images went to the other actors"
            )
        return False

    def _ending(self) -> RunEnding:
        failures = sum(1 for item in self.items if item.status == ItemStatus.ERROR)
        out, total = self.place.out, len(self.items)
        self.console.say(f"{total - failures} of {total} images analysed; results in {out / 'results.json'}")
        ending = RunEnding(total, failures)
        if self.request.outputs.reports:
            ending.reports, ending.report_failures = self._write_reports()
        if self.place.case is not None:
            self.place.case.record_run(out)  # every file of the run vouched for by the case's log
        return ending

    def _write_reports(self) -> tuple[list[Path], dict[str, str]]:
        """Each report format asked; one that fails never stops the others (each written is recorded in the
        case's log)."""
        asked, case = self.request.case, self.place.case
        organisation = load_settings().organisation if asked.organisation is None else asked.organisation
        info = CaseInfo(self.place.case_number, _analyst(self.request), organisation, asked.notes)
        case_log = case.report_log() if case is not None else None
        formats = list(self.request.outputs.reports)
        written, failures = write_reports(self.place.out, formats, info, case_log=case_log)
        for path in written:
            if case is not None:
                case.record_report(path, path.suffix.lstrip("."))
            self.console.say(f"report written: {path}")
        for fmt, reason in failures.items():
            self.console.error(f"the {fmt.upper()} report could not be written: {reason}")
        return written, failures
