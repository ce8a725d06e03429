"""The Qt-free workspace the viewer and the CLI share: which files each model uses, session checkpoints."""

import pytest

from dinolizer_gui.core.models.layouts import CheckpointError
from dinolizer_gui.core.models.manager import import_file
from dinolizer_gui.core.session.workspace import Workspace


def _workspace(tmp_path):
    return Workspace(config_folder=tmp_path / "config", weights_override=tmp_path / "weights", store=None)


def test_session_files_override_installed_ones_and_models_without_files_are_left_out(weights, tmp_path):
    files, _ = weights
    workspace = _workspace(tmp_path)
    assert workspace.model_files() == {}
    import_file(files["declip"], tmp_path / "weights")
    assert workspace.model_files() == {"declip": [tmp_path / "weights" / files["declip"].name]}
    workspace.set_model_files("declip", [files["declip"]])
    assert workspace.model_files(["declip", "dinolizer"]) == {"declip": [files["declip"]]}


def test_checkpoints_chosen_for_the_session_go_to_every_model_they_make(weights, tmp_path):
    files, _ = weights
    workspace = _workspace(tmp_path)
    assert workspace.use_checkpoints([files["bfree"]]) == ["bfree"]  # a backbone alone: B-Free only
    assert workspace.use_checkpoints([files["bfree"], files["head"]]) == ["dinolizer", "bfree"]
    assert workspace.model_files()["dinolizer"] == [files["bfree"], files["head"]]
    assert workspace.use_checkpoints([files["release"], files["declip"]]) == ["dinolizer", "declip"]
    assert workspace.model_files() == {
        "dinolizer": [files["release"]],
        "declip": [files["declip"]],
        "bfree": [files["bfree"]],
    }
    with pytest.raises(CheckpointError, match=r"no model is made of .*head"):
        workspace.use_checkpoints([files["head"]])
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not weights")
    with pytest.raises(CheckpointError, match=r"junk\.pth"):
        workspace.use_checkpoints([junk])
    handles = workspace.models(workspace.model_files())
    assert [handle.name for handle in handles] == ["dinolizer", "declip", "bfree"]
    assert len(workspace.localizers) == 3  # never built from these files before: built at once
    assert workspace.model("declip", [files["declip"]]).load() is handles[1].load()  # once per session
