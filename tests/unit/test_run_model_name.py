"""A run keeps its model's name after the model is removed: every place shows the name recorded in the
run's provenance, none says "detector" or "(unknown)"."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import delete

from vru_desktop.annotations.editor import AnnotationEditor
from vru_desktop.datasets.formats.csv_events import write_events
from vru_desktop.detection.models import register_model
from vru_desktop.detection.pipeline import RunConfig
from vru_desktop.detection.runs import create_run, list_runs
from vru_desktop.evaluation.ground_truth import load_run
from vru_desktop.evaluation.report import render_report
from vru_desktop.evaluation.run import evaluate_run, format_text
from vru_desktop.library.importer import import_paths
from vru_desktop.store.db import Database
from vru_desktop.store.models import DetectionEvent, DetectorModel, TestSession, run_model_name


def test_the_name_stays_when_the_model_is_removed(
    db: Database, make_video: Callable[..., Path], shared_models: Path, tmp_path: Path
) -> None:
    [outcome] = import_paths(db, [make_video("clip.mp4", 10)])
    video_id = outcome.video_id
    assert video_id is not None
    model = register_model(db, shared_models / "yolov8n_int8.tflite", name="street yolo")
    run_id = create_run(db, video_id, model.id, RunConfig()).id
    with db.transaction() as session:
        session.execute(delete(DetectorModel).where(DetectorModel.id == model.id))
        session.get(TestSession, run_id).status = "completed"
        session.add(
            DetectionEvent(
                session_id=run_id,
                video_id=video_id,
                frame_number=2,
                timestamp=0.08,
                vru_type="pedestrian",
                confidence=0.9,
                x1=10,
                y1=10,
                x2=40,
                y2=90,
            )
        )

    [row] = list_runs(db)
    assert row.model_id is None
    assert row.model_name == "street yolo"
    [view] = AnnotationEditor(db, video_id).sessions()
    assert view.label.startswith(f"#{run_id} street yolo")
    assert load_run(db, run_id).run["model_name"] == "street yolo"
    result = evaluate_run(db, run_id)
    assert format_text(result)[0].startswith(f"run {run_id}: street yolo on video")
    assert "<td>street yolo</td>" in render_report(result)
    with db.session() as session:
        (tmp_path / "out").mkdir()
        write_events(session, tmp_path / "out", run_ids=[run_id])
    rows = list(csv.DictReader((tmp_path / "out" / "detections.csv").open()))
    assert [row["model"] for row in rows] == ["street yolo"]


def test_the_current_name_wins_and_nothing_recorded_says_so() -> None:
    assert run_model_name("renamed", {"model_name": "old"}) == "renamed"
    assert run_model_name(None, {"model_name": "old"}) == "old"
    assert run_model_name(None, {}) == "(unknown model)"
