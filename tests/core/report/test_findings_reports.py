"""The examiner's findings in results and reports: marks and decisions stored for an image are carried by
`analyze --report` — in results.json (validated by the report schema), in the PDF and HTML after the
models' figures, with a findings figure whose pixels show the marks — and a decision whose region changed
shape under another threshold is said so, never carried."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from dinolizer_gui.core.io.hashing import sha256_of_file
from dinolizer_gui.core.maps.postprocess import find_regions, region_labels
from dinolizer_gui.core.report.sections import FINDINGS_TITLE
from dinolizer_gui.core.session.findings import FindingsEditor
from dinolizer_gui.core.store.findings import CATEGORY_STYLES, region_fingerprint
from dinolizer_gui.core.store.results import ResultStore
from tests import factories
from tests.cli_run import analyze_args, run_cli

DINOLIZER = ("dinolizer",)


def _fingerprints(mask_png) -> list[str]:
    """Each region's fingerprint as the app computes it, from the mask a run wrote."""
    mask = np.array(Image.open(mask_png)) > 0
    labels, order = region_labels(mask)
    regions = find_regions(mask.astype(np.float32), mask)
    return [
        region_fingerprint(labels, label, (r.x, r.y, r.width, r.height))
        for r, label in zip(regions, order, strict=True)
    ]


@pytest.fixture(scope="module")
def decided(weights, tmp_path_factory):
    """A photo analysed once, then marked and decided on by the examiner in the results store."""
    root = tmp_path_factory.mktemp("findings")
    photo, store = factories.blocky_photo(root / "harbour.png", 320, 240, seed=4), root / "store"
    first = analyze_args(
        weights, photo, root / "first", "--store", store, "--threshold", "0.5", models=DINOLIZER
    )
    assert run_cli(*first).code == 0
    mask_png = next((root / "first").glob("0001_*/dinolizer_mask.png"))
    fingerprints = _fingerprints(mask_png)
    assert fingerprints, "the seeded weights must mark at least one region at 0.5"
    editor = FindingsEditor(ResultStore(store), sha256_of_file(photo), str(photo), "Ana Ruiz")
    editor.add("rectangle", [[20, 30], [120, 110]], "manipulated", "pasted sign", "edges too clean")
    editor.add("arrow", [[200, 200], [150, 150]], "comment", "shadow direction")
    editor.decide("dinolizer", 1, 0.5, "confirmed", "agrees with the ELA", fingerprint=fingerprints[0])
    return root, photo, store


def test_analyze_reports_carry_the_findings_apart_from_the_models(decided, weights):
    root, photo, store = decided
    out = root / "reported"
    reports = ("--report", "json", "--report", "pdf", "--report", "html")
    given = ("--store", store, "--threshold", "0.5", *reports)
    assert run_cli(*analyze_args(weights, photo, out, *given, models=DINOLIZER)).code == 0
    report = json.loads((out / "report.json").read_text())
    schema = json.loads(resources.files("dinolizer_gui").joinpath("core/report/schema.json").read_text())
    jsonschema.validate(report, schema)
    entry = report["images"][0]
    marks = {mark["label"]: mark for mark in entry["annotations"]}
    assert marks["pasted sign"]["number"] == 1 and marks["pasted sign"]["points"] == [
        [20.0, 30.0],
        [120.0, 110.0],
    ]
    assert marks["pasted sign"]["area_pixels"] == 100 * 80 and marks["shadow direction"]["shape"] == "arrow"
    (decision,) = entry["region_decisions"]
    assert decision["decision"] == "confirmed" and decision["state_now"] == "confirmed"
    assert decision["region_now"] == 1

    figure = np.array(Image.open(out / entry["findings_figure"]))
    red = tuple(int(CATEGORY_STYLES["manipulated"][0][i : i + 2], 16) for i in (1, 3, 5))
    assert np.abs(figure[30, 70].astype(int) - red).max() < 40  # the rectangle's top edge, drawn in red
    original = np.array(Image.open(photo))
    assert np.array_equal(figure[60, 60], original[60, 60])  # inside the mark: the photo itself

    text = "\n".join(page.extract_text() for page in PdfReader(out / "report.pdf").pages)
    flat = " ".join(text.split())
    assert "The examiner's findings" in flat and "pasted sign" in flat and "edges too clean" in flat
    assert flat.index("The examiner's findings") > flat.index("regions (largest first)")
    html = (out / "report.html").read_text()
    assert FINDINGS_TITLE.replace("'", "&#x27;") in html and entry["findings_figure"] in html


def test_a_decision_on_a_region_that_changed_shape_is_said_not_carried(decided, weights):
    root, photo, store = decided
    out = root / "higher"
    given = ("--store", store, "--threshold", "0.9", "--report", "json", "--report", "pdf")
    assert run_cli(*analyze_args(weights, photo, out, *given, models=DINOLIZER)).code == 0
    (decision,) = json.loads((out / "report.json").read_text())["images"][0]["region_decisions"]
    assert decision["state_now"] == "changed since decided" and decision["region_now"] is None
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(out / "report.pdf").pages).split())
    assert "CHANGED since decided" in text


def test_the_findings_mask_holds_the_manipulated_marks_and_the_confirmed_region(decided):
    root, photo, store = decided
    out = root / "findings-mask.png"
    assert run_cli("annotations", "mask", photo, "--out", out, "--store", store).code == 0
    mask = np.array(Image.open(out)) > 0
    run_mask = np.array(Image.open(next((root / "first").glob("0001_*/dinolizer_mask.png")))) > 0
    labels, order = region_labels(run_mask)
    region_one = labels == order[0]
    assert mask[region_one].all()  # the confirmed region, found again by its pixels on the stored map
    assert mask[30:110, 20:120].all()  # the manipulated rectangle: the pixels whose centres it holds
    outside = ~region_one
    outside[30:110, 20:120] = False
    assert not mask[outside].any()  # nothing else: not the comment arrow, not the other regions
