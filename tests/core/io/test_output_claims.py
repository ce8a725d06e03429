"""An output folder is claimed in one place (core/io/outputs): the command line and the viewer's export refuse
the same folders, each in its own words, and remove only what this app wrote."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dinolizer_gui.core.io.outputs import (
    EarlierOutputs,
    ForeignOutputs,
    HoldsEvidence,
    NotAFolder,
    OutputFolderBusy,
    check_output_folder,
    claim_outputs,
    mark_output_folder,
)
from dinolizer_gui.core.report.content import CaseInfo
from dinolizer_gui.core.session.batch import BatchItem, ItemStatus
from dinolizer_gui.core.session.export import EarlierExport, export_job
from dinolizer_gui.core.session.settings import Settings
from dinolizer_gui.core.session.workspace import Workspace


def _earlier_run(folder: Path, marked: bool = True) -> None:
    """A folder as an earlier run leaves it (marked as its output folder), or files of the same names in a
    folder no run of this app wrote into."""
    (folder / "0001_photo").mkdir(parents=True)
    if marked:
        mark_output_folder(folder)
    (folder / "0001_photo" / "dinolizer_mask.png").write_bytes(b"png")
    (folder / "0001_photo" / "analyst_notes.txt").write_text("not ours")
    (folder / "results.json").write_text("{}")
    (folder / "notes.txt").write_text("the analyst's own file")


def test_a_file_the_evidence_and_an_earlier_run_are_refused_before_anything_is_written(tmp_path):
    evidence = tmp_path / "case" / "photo.png"
    evidence.parent.mkdir()
    evidence.write_bytes(b"evidence")
    with pytest.raises(NotAFolder):
        claim_outputs(evidence, [])
    with pytest.raises(HoldsEvidence) as held:
        claim_outputs(tmp_path, [evidence])
    assert held.value.evidence == evidence
    _earlier_run(tmp_path / "out")
    with pytest.raises(EarlierOutputs) as earlier:
        check_output_folder(tmp_path / "out", [evidence])
    assert earlier.value.names == "0001_photo, results.json"
    assert evidence.read_bytes() == b"evidence" and (tmp_path / "out" / "results.json").exists()


def test_replacing_an_earlier_run_removes_only_what_this_app_wrote(tmp_path):
    out = tmp_path / "out"
    _earlier_run(out)
    claim = claim_outputs(out, [], replace=True)
    try:
        assert claim.left == [out / "0001_photo" / "analyst_notes.txt"]
        assert sorted(p.name for p in out.rglob("*") if not p.name.startswith(".")) == [
            "0001_photo",
            "analyst_notes.txt",
            "notes.txt",
        ]
        with pytest.raises(OutputFolderBusy):  # a second run into it fails at once
            claim_outputs(out, [])
    finally:
        claim.release()
    claim_outputs(out, [], replace=True).release()  # released: the folder can be claimed again


def test_files_named_as_outputs_in_a_folder_no_run_wrote_into_are_never_replaced(tmp_path):
    folder = tmp_path / "evidence"
    _earlier_run(folder, marked=False)  # e.g. evidence named roc.png or results.json, or another tool's
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    for replace in (False, True):
        with pytest.raises(ForeignOutputs, match="is not an output folder of this app"):
            claim_outputs(folder, [], replace=replace)
        with pytest.raises(ForeignOutputs):
            check_output_folder(folder, [], replace)
    assert sorted(p.relative_to(folder) for p in folder.rglob("*") if ".lock" not in p.name) == before


def _done_item(path: Path) -> BatchItem:
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path)
    return BatchItem(str(path), status=ItemStatus.DONE, sha256="0" * 64)


def test_the_export_refuses_the_same_folders_in_the_viewers_words(tmp_path):
    workspace = Workspace(Settings(), tmp_path / "config", None, None)
    item = _done_item(tmp_path / "photo.png")
    with pytest.raises(ValueError, match=r"holds the evidence \(.*photo.png\): choose one outside it"):
        export_job(workspace, [item], tmp_path, ["json"], CaseInfo())
    with pytest.raises(ValueError, match="cannot take the export: is a file, not a folder"):
        export_job(workspace, [item], tmp_path / "photo.png", ["json"], CaseInfo())
    _earlier_run(tmp_path / "export")
    with pytest.raises(EarlierExport, match=r"holds an earlier export \(0001_photo, results.json\)"):
        export_job(workspace, [item], tmp_path / "export", ["json"], CaseInfo())
