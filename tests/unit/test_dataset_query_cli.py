"""``vru-desktop datasets``: the dataset table on the command line, with filters, sorting and JSON."""

from __future__ import annotations

import json
from pathlib import Path

from vru_desktop.cli import main
from vru_desktop.settings import resolve_locations
from vru_desktop.store.db import open_database
from vru_desktop.store.models import Annotation, DetectionEvent, ReviewedFrame, TestSession


def run(capsys, data_dir: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--data-dir", str(data_dir), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _library(capsys, data_dir: Path, make_video) -> dict[str, int]:
    code, _, _ = run(
        capsys, data_dir, "create-project", "Street", "--camera-model", "AX", "--camera-view", "front",
        "--signal-type", "video",
    )  # fmt: skip
    assert code == 0
    code, out, _ = run(capsys, data_dir, "import", "--json", str(make_video("ready.mp4", 12)))
    assert code == 0
    ready = json.loads(out)[0]["video_id"]
    code, out, _ = run(
        capsys, data_dir, "import", "--project", "Street", "--json", str(make_video("bare.mp4", 9))
    )
    assert code == 0
    bare = json.loads(out)[0]["video_id"]
    db = open_database(resolve_locations(data_dir).database)
    try:
        with db.transaction() as session:
            run_row = TestSession(video_id=ready, status="completed")
            session.add(run_row)
            session.flush()
            session.add(
                DetectionEvent(
                    session_id=run_row.id, video_id=ready, frame_number=1, timestamp=0.04, vru_type="cyclist",
                    confidence=0.9, bounding_box=(0, 0, 10, 20),
                )
            )  # fmt: skip
            session.add(
                Annotation(
                    video_id=ready,
                    frame_number=1,
                    vru_type="cyclist",
                    validated=True,
                    bounding_box=(0, 0, 10, 20),
                )
            )
            # Every frame reviewed: ground truth counts for readiness (the default project asks 90 %).
            session.add_all(ReviewedFrame(video_id=ready, frame_number=n) for n in range(12))
    finally:
        db.close()
    return {"ready": ready, "bare": bare}


def test_datasets_lists_filters_sorts_and_prints_json(capsys, data_dir: Path, make_video) -> None:
    ids = _library(capsys, data_dir, make_video)
    code, out, _ = run(capsys, data_dir, "datasets")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == [str(ids["ready"]), "ready", "100"] and "[Default]" in lines[0]
    assert lines[1].split()[:3] == [str(ids["bare"]), "partial", "40"] and "[Street]" in lines[1]
    assert "reviewed 12/12 (100 % of 90%)" in lines[0] and "reviewed 0/9 (0 % of 90%)" in lines[1]
    assert lines[-1] == "2 video(s): 1 ready, 1 partial, 0 not ready"

    code, out, _ = run(capsys, data_dir, "datasets", "--project", "street", "--json")
    document = json.loads(out)
    assert code == 0 and [v["filename"] for v in document["videos"]] == ["bare.mp4"]
    assert document["videos"][0]["missing"][0] == "has detections"

    code, out, _ = run(capsys, data_dir, "datasets", "--readiness", "ready", "--json", "--stats")
    document = json.loads(out)
    [video] = document["videos"]
    assert video["detections"] == {"cyclist": 1} and (video["ground_truth"], video["reviewed_frames"]) == (
        1,
        12,
    )
    assert (video["coverage"], video["coverage_required"]) == (1.0, 0.9)
    assert document["statistics"]["annotations_by_type"] == {"cyclist": 1}
    assert document["statistics"]["reviewed_frames"] == 12 and document["statistics"]["frames"] == 12

    code, out, _ = run(capsys, data_dir, "datasets", "--sort", "frames", "--json")
    assert [v["filename"] for v in json.loads(out)["videos"]] == ["bare.mp4", "ready.mp4"]
    code, out, _ = run(capsys, data_dir, "datasets", "--camera", "camera_view=front", "--json")
    assert [v["filename"] for v in json.loads(out)["videos"]] == ["bare.mp4"]
    code, out, _ = run(capsys, data_dir, "datasets", "--vru-type", "cyclist", "--readiness", "not-ready")
    assert code == 0 and out.splitlines() == ["0 video(s): 0 ready, 0 partial, 0 not ready"]


def test_datasets_bad_arguments_exit_with_a_clear_message(capsys, data_dir: Path) -> None:
    code, _, err = run(capsys, data_dir, "datasets", "--readiness", "almost")
    assert code == 2 and "Unknown readiness 'almost'" in err and "ready, partial, not-ready" in err
    code, _, err = run(capsys, data_dir, "datasets", "--project", "Nowhere")
    assert code == 1 and "No project named 'Nowhere'" in err
    code, _, err = run(capsys, data_dir, "datasets", "--camera", "colour=red")
    assert code == 2 and "Unknown camera field 'colour'" in err
    code, _, err = run(capsys, data_dir, "datasets", "--since", "yesterday")
    assert code == 2 and "'yesterday' is not a date" in err
