"""The report model: what a PDF, HTML or JSON report says, built from a results folder.

The results folder (results.json and the PNGs written as each image finished)
is the single source, so a report of thousands of images never holds maps in
memory, and the GUI and the CLI produce identical reports. Every evidence file
is hashed again at export; a mismatch is reported, never hidden.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ... import __version__
from ..errors import user_message
from ..io.hashing import sha256_of_file
from ..io.names import path_of, readable
from ..io.outputs import write_atomic
from ..io.provenance.summaries import declares_ai
from ..store.verdicts import Verdict, verdict_counts
from .run_record import now_iso

REPORT_SCHEMA = "dinolizer-gui/report"
REPORT_VERSION = 1
REPORT_FORMATS = ("pdf", "json", "html")

LIMITATIONS = (
    "A localizer's map is a statistical estimate, not proof: it says where the model finds traces of "
    "generative inpainting, with errors in both directions.",
    "DinoLizer often misses edits smaller than about 12-20 % of a 504x504 window; DeCLIP squeezes the whole "
    "image to 224x224 and loses small edits on large images.",
    "Neither model localises fully regenerated or fully synthetic images: with no authentic reference, "
    "the map can be empty or flag everything.",
    "Image-level scores are the 99th percentile of the map. Only the DinoLizer release has a calibrated "
    "threshold (CocoGlide, ROC-AUC 0.989 there), which is not a universal operating point; 0.5 elsewhere "
    "is a convention.",
    "Accuracy falls out of the training domain (DeCLIP Dolos checkpoints were trained on faces) and after "
    "strong compression, resizing or other post-processing.",
)


@dataclass
class CaseInfo:
    case_number: str = ""
    analyst: str = ""
    organisation: str = ""
    notes: str = ""


def load_results(results_dir: Path) -> dict:
    return json.loads((Path(results_dir) / "results.json").read_text(encoding="utf-8"))


def score_meaning(model: dict, result: dict) -> str:
    if result.get("image_level"):
        bands = ", ".join(f"{words} from {low:.0%}" for words, low in result["image_level"]["bands"].items())
        return (
            f"probability that the whole image is synthetic: the sigmoid of the mean of {model['title']}'s "
            f"five crop logits; flagged when the mean logit is above 0 (the paper's rule); words: {bands}"
        )
    return (
        f"99th percentile of {model['title']}'s inpainting probability map; flagged when >= "
        f"{result['score_threshold']:.4f} ({model['score_threshold_source']})"
    )


def statement(model: dict, result: dict) -> str:
    """One model's finding on one image, in one line, as every report prints it."""
    verdict = "FLAGGED" if result["flagged"] else "not flagged"
    if result.get("image_level"):
        level = result["image_level"]
        return (
            f"{model['title']}: {level['probability']:.2f} ({verdict}) — {level['indication']} that the "
            f"whole image is synthetic; this model does not localise (mean logit {level['logit']:+.2f})"
        )
    return (
        f"{model['title']}: score {result['score']:.3f} ({verdict}); marked area "
        f"{result['marked_area']:.2%} at "
        f"pixel threshold {result['threshold']}; {len(result['regions'])} regions"
    )


def _verify(entry: dict) -> dict:
    path = path_of(entry)
    if not path.is_file():  # not a mismatch: nothing could be compared
        return {
            "sha256_at_export": None,
            "hash_verified": None,
            "hash_problem": "FILE MISSING: the file is no longer where it was analysed",
        }
    current = sha256_of_file(path)
    if entry["sha256"] is None:
        return {"sha256_at_export": current, "hash_verified": None, "hash_problem": None}
    same = current == entry["sha256"]
    return {
        "sha256_at_export": current,
        "hash_verified": same,
        "hash_problem": None if same else "HASH MISMATCH: the file changed after it was analysed",
    }


def build_report(results_dir: Path, case: CaseInfo, case_log: dict | None = None) -> dict:
    """The report of a results folder, evidence hashes re-verified; made from a case, with the case's title,
    examiners, and its audit log (last seq and hash, and the entries as an appendix)."""
    results = load_results(results_dir)
    images = results["images"]
    report_images = []
    for entry in images:
        shown = readable(entry["path"])  # whatever the results folder holds, no name passes for another
        item = {**entry, **_verify(entry), "path": shown, "file_name": Path(shown).name}
        for name, result in entry.get("models", {}).items():
            result["score_meaning"] = score_meaning(results["models"][name], result)
            result["statement"] = statement(results["models"][name], result)
        if item.get("analyst_verdict"):
            item["analyst_verdict"]["analyst"] = case.analyst or "not named"
        report_images.append(item)
    errors = sum(1 for e in report_images if e["status"] == "error")
    flagged = sum(1 for e in report_images if any(m["flagged"] for m in e.get("models", {}).values()))
    verdicts = [
        Verdict(**_verdict_fields(e["analyst_verdict"])) if e.get("analyst_verdict") else None
        for e in report_images
    ]
    analysis = {key: results[key] for key in ("created", "software", "device", "parameters")}
    analysis["maps_computed"] = _computed_span(report_images)
    return {
        "schema": REPORT_SCHEMA,
        "version": REPORT_VERSION,
        "exported_at": now_iso(),
        "application": f"DinoLizer GUI {__version__}",
        "case": asdict(case),
        "analysis": analysis,
        "models": results["models"],
        "images": report_images,
        "summary": {
            "images": len(report_images),
            "flagged": flagged,
            "not_flagged": len(report_images) - flagged - errors,
            "errors": errors,
            "duplicates": sum(1 for e in report_images if e["status"] == "skipped"),
            "hash_mismatches": sum(1 for e in report_images if e["hash_verified"] is False),
            "missing_at_export": sum(
                1 for e in report_images if e["hash_problem"] and e["hash_verified"] is None
            ),
            "analyst_verdicts": verdict_counts(verdicts),
            "content_credentials": _credential_counts(report_images),
            "declare_ai": sum(1 for e in report_images if declares_ai(e.get("provenance"))),
        },
        "limitations": list(LIMITATIONS),
        "case_log": case_log,
    }


def _credential_counts(images: list[dict]) -> dict[str, int]:
    counts = dict.fromkeys(("valid", "invalid", "damaged", "remote", "error", "none"), 0)
    for entry in images:
        if entry.get("provenance"):
            state = entry["provenance"]["c2pa"]["state"]
            counts[state] = counts.get(state, 0) + 1
    return counts


def _verdict_fields(entry: dict) -> dict:
    return {key: entry[key] for key in ("verdict", "note", "recorded_at")}


def _computed_span(images: list[dict]) -> dict | None:
    """When the reported maps and scores were computed: the first and the last (None when none was)."""
    moments = sorted(
        result["computed_at"]
        for entry in images
        for result in entry.get("models", {}).values()
        if result.get("computed_at")
    )
    return {"first": moments[0], "last": moments[-1]} if moments else None


def write_json(report: dict, path: Path) -> Path:
    text = json.dumps(report, indent=2, ensure_ascii=False, sort_keys=True, allow_nan=False)
    write_atomic(path, text.encode("utf-8"))
    return path


def write_reports(
    results_dir: Path, formats: list[str], case: CaseInfo, stem: str = "report", case_log: dict | None = None
) -> tuple[list[Path], dict[str, str]]:
    """Write each requested format next to results.json; one that fails never stops the others.

    Returns the files written and, per format that failed, why.
    """
    from .html import write_html
    from .pdf import write_pdf

    report = build_report(results_dir, case, case_log)
    writers = {
        "json": write_json,
        "pdf": lambda r, p: write_pdf(r, results_dir, p),
        "html": lambda r, p: write_html(r, results_dir, p),
    }
    written, failures = [], {}
    for fmt in dict.fromkeys(formats):
        try:
            written.append(writers[fmt](report, Path(results_dir) / f"{stem}.{fmt}"))
        except Exception as exc:  # one format's failure (layout, disk, font) must not stop the others
            failures[fmt] = user_message(exc)
    return written, failures
