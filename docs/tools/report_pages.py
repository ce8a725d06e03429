"""Renders the cover and the image page of a real report to docs/ (needs poppler-utils and scikit-image).

Seeded random weights in the official layouts, as for the screenshots.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from dinolizer_gui.cli import main  # noqa: E402
from dinolizer_gui.core.io.hashing import sha256_of_file  # noqa: E402
from dinolizer_gui.core.report.run_record import now_iso  # noqa: E402
from dinolizer_gui.core.store.results import ResultStore  # noqa: E402
from dinolizer_gui.core.store.verdicts import Verdict  # noqa: E402
from docs.tools.screenshot import demo_image  # noqa: E402
from tests import factories  # noqa: E402


def add_findings(store: Path, image: Path, out: Path) -> None:
    """The examiner's marks and a decision on DinoLizer's largest region (found on the first run's mask)."""
    import numpy as np
    from PIL import Image

    from dinolizer_gui.core.maps.postprocess import find_regions, region_labels
    from dinolizer_gui.core.session.findings import FindingsEditor
    from dinolizer_gui.core.store.findings import region_fingerprint

    editor = FindingsEditor(ResultStore(store), sha256_of_file(image), str(image), "A. Examiner")
    editor.add("ellipse", [(340, 115), (500, 225)], "manipulated", "cup rim filled in", "texture repeats")
    editor.add("rectangle", [(60, 60), (220, 170)], "reference", "untouched rim")
    editor.add("arrow", [(560, 330), (470, 230)], "comment", "light from the left")
    mask = np.array(Image.open(next(out.glob("0001_*/dinolizer_mask.png")))) > 0
    labels, order = region_labels(mask)
    region = find_regions(mask.astype(np.float32), mask)[0]
    fingerprint = region_fingerprint(labels, order[0], (region.x, region.y, region.width, region.height))
    editor.decide("dinolizer", 1, 0.5, "confirmed", "agrees with the error level", fingerprint=fingerprint)


def run() -> None:
    folder = Path(tempfile.mkdtemp())
    release, declip = folder / "epoch=36_val_loss=0.2130.ckpt", folder / "ViT_layer20_conv-20_cocosd.pth"
    factories.make_dinolizer_release(release, head_scale=0.4)
    factories.make_declip_vit(declip)
    image = demo_image(folder)
    out = folder / "out"
    os.environ["DINOLIZER_GUI_STORE"] = str(folder / "store")
    verdict = Verdict("suspicious", "saucer rim looks smeared; ask the sender for the original", now_iso())
    ResultStore(folder / "store").put_verdict(sha256_of_file(image), verdict)
    analyze = [
        "analyze",
        str(image),
        "--out",
        str(out),
        "--device",
        "cpu",
        "--quiet",
        "--report",
        "pdf",
        "--weights",
        f"dinolizer={release}",
        "--weights",
        f"declip={declip}",
        "--case",
        "2026-0142",
        "--analyst",
        "A. Examiner",
        "--organisation",
        "Verification desk",
        "--notes",
        "Photo received by e-mail on 2026-11-20; the sender claims it is unedited.",
    ]
    main(analyze)
    add_findings(folder / "store", image, out)
    main([*analyze, "--replace"])
    findings_page = _page_with(out / "report.pdf", "The examiner's findings")
    for page, name in ((1, "report-cover"), (3, "report-image-page"), (findings_page, "report-findings")):
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "80",
                "-f",
                str(page),
                "-l",
                str(page),
                "-singlefile",
                str(out / "report.pdf"),
                str(ROOT / "docs" / name),
            ],
            check=True,
        )


def _page_with(pdf: Path, text: str) -> int:
    from pypdf import PdfReader

    pages = PdfReader(pdf).pages
    return next(
        number for number, page in enumerate(pages, 1) if text in " ".join(page.extract_text().split())
    )


if __name__ == "__main__":
    run()
