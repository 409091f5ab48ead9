"""Pedestrian-benchmark fields reach the annotations: COCO (CityPersons style), MOT, OpenLABEL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from vru_desktop.datasets.exporter import ExportOptions, export_dataset
from vru_desktop.datasets.importer import ImportOptions, import_annotations
from vru_desktop.errors import FormatError
from vru_desktop.evaluation.coco import load_coco
from vru_desktop.evaluation.ground_truth import load_run
from vru_desktop.evaluation.protocols import built_in, evaluate_protocol
from vru_desktop.library.importer import import_paths
from vru_desktop.store.db import Database
from vru_desktop.store.models import Annotation, TestSession


def _rows(db: Database, video_id: int) -> list[Annotation]:
    with db.session() as session:
        return list(
            session.scalars(select(Annotation).where(Annotation.video_id == video_id).order_by(Annotation.id))
        )


@pytest.fixture
def video(db: Database, make_video) -> int:
    [outcome] = import_paths(db, [make_video("street.mp4", frames=6, size=(200, 100))])
    return outcome.video_id


def _coco(path: Path, annotations: list[dict]) -> Path:
    images = [{"id": 1, "file_name": "frame_000002.jpg", "width": 400, "height": 200}]
    for i, a in enumerate(annotations, 1):
        a.setdefault("id", i)
        a.setdefault("image_id", 1)
        a.setdefault("category_id", 1)
    path.write_text(
        json.dumps(
            {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "person"}]}
        )
    )
    return path


def test_coco_pedestrian_benchmark_fields_are_stored(db: Database, video: int, tmp_path: Path) -> None:
    coco = _coco(
        tmp_path / "gt.json",
        [
            # CityPersons: vis_bbox and vis_ratio; the file's images are twice the video's size
            {"bbox": [40, 20, 40, 100], "vis_bbox": [40, 20, 40, 50], "vis_ratio": 0.5, "ignore": 0},
            {"bbox": [100, 20, 120, 100], "ignore": 1},  # a group: an ignore region
            {"bbox": [300, 20, 40, 100], "vis_bbox": [300, 20, 20, 100]},  # no vis_ratio: from the areas
            {"bbox": [250, 20, 40, 100], "occlusion": 2, "truncation": 0.3},  # KAIST / ECP style
        ],
    )
    import_annotations(db, "coco", coco, ImportOptions(video_id=video))
    a, group, derived, kaist = _rows(db, video)
    assert a.frame_number == 2 and a.bounding_box == (20, 10, 40, 60)
    assert (a.visibility, a.visible_box, a.ignore) == (0.5, [20.0, 10.0, 40.0, 35.0], False)
    assert group.ignore and group.visibility is None and not group.crowd
    assert derived.visibility == 0.5 and derived.visible_box == [150.0, 10.0, 160.0, 60.0]
    assert (kaist.occlusion, kaist.truncation, kaist.visibility) == (2, 0.3, None)


def test_coco_export_writes_the_fields_back_for_evaluate_coco(
    db: Database, video: int, tmp_path: Path
) -> None:
    coco = _coco(
        tmp_path / "gt.json",
        [
            {"bbox": [40, 20, 40, 120], "vis_bbox": [40, 20, 40, 60], "vis_ratio": 0.5},
            {"bbox": [100, 20, 120, 120], "ignore": 1},
            {"bbox": [300, 20, 40, 120], "occlusion": 2},
        ],
    )
    import_annotations(db, "coco", coco, ImportOptions(video_id=video))
    out = tmp_path / "export"
    export_dataset(db, ExportOptions("coco", out, video_ids=[video]))
    document = json.loads((out / "annotations.json").read_text())
    a, group, heavy = document["annotations"]
    assert (a["vis_ratio"], a["vis_bbox"], a["ignore"], a["height"]) == (
        0.5,
        [20.0, 10.0, 20.0, 30.0],
        0,
        60.0,
    )
    assert group["ignore"] == 1 and "vis_ratio" not in group
    assert heavy["occlusion"] == 2
    # The export is a CityPersons-style ground-truth file: the group is an ignore box, the 60 px
    # person half visible (outside Reasonable), the heavily occluded one too.
    data = load_coco(out / "annotations.json", [])
    heavy_protocol = built_in()["citypersons-heavy"]
    result = evaluate_protocol(
        heavy_protocol, data.gt, data.dt, data.category_names, len(data.image_ids), data.gt_conditions
    )
    assert (result.positives, result.ignored) == (2, 1)
    reasonable = built_in()["citypersons-reasonable"]
    result = evaluate_protocol(
        reasonable, data.gt, data.dt, data.category_names, len(data.image_ids), data.gt_conditions
    )
    assert (result.positives, result.ignored) == (0, 3)


def test_coco_bad_pedestrian_fields_are_refused(db: Database, video: int, tmp_path: Path) -> None:
    bad = _coco(tmp_path / "bad.json", [{"bbox": [40, 20, 40, 100], "vis_ratio": 1.7}])
    with pytest.raises(FormatError, match=r"annotations\[0\]: visibility 1.7 is not between 0 and 1"):
        import_annotations(db, "coco", bad, ImportOptions(video_id=video))
    bad = _coco(tmp_path / "bad2.json", [{"bbox": [40, 20, 40, 100], "occlusion": "some"}])
    with pytest.raises(FormatError, match="occlusion 'some' is not 0, 1, 2"):
        import_annotations(db, "coco", bad, ImportOptions(video_id=video))
    assert _rows(db, video) == []


def test_mot_visibility_column_is_stored_and_reaches_evaluation(
    db: Database, video: int, tmp_path: Path
) -> None:
    gt = tmp_path / "seq" / "gt" / "gt.txt"
    gt.parent.mkdir(parents=True)
    gt.write_text("1,1,10,5,8,20,1,1,0.4\n2,1,11,5,8,20,1,1,1\n2,2,40,5,8,20,1,1,0.9\n")
    import_annotations(db, "mot", gt, ImportOptions(video_id=video))
    stored = _rows(db, video)
    assert [(a.frame_number, a.visibility, a.occluded) for a in stored] == [
        (0, 0.4, True),
        (1, 1.0, False),
        (1, 0.9, False),
    ]
    with db.transaction() as session:
        run = TestSession(video_id=video, config={}, status="completed")
        session.add(run)
        session.flush()
        run_id = run.id
    conditions = load_run(db, run_id).gt_conditions
    assert conditions is not None
    assert conditions.visibility.tolist() == [0.4, 1.0, 0.9]
    # MOT's occluded flag (visibility 0.5 or less) makes the level partial where none is stored.
    assert conditions.occlusion.tolist() == [1, -1, -1]
