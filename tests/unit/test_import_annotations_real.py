"""The shared real exports (MOT17, Datumaro CVAT/YOLO, Label Studio) import with the right counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from vru_desktop.datasets.importer import ImportOptions, import_annotations
from vru_desktop.library.importer import import_paths
from vru_desktop.store.db import Database
from vru_desktop.store.models import Annotation, ReviewedFrame

pytestmark = pytest.mark.usefixtures("backend")

# From mot17_mini/SOURCES.txt: pedestrian + person on vehicle + static person rows, and how many of
# them have consider = 0 (person on vehicle and static person in MOT17).
MOT17_EXPECTED = {
    "MOT17-02-FRCNN": (88 + 12 + 28, 12 + 28, 4),
    "MOT17-04-FRCNN": (336 + 32, 32, 8),
    "MOT17-05-FRCNN": (45 + 2, 2, 6),
    "MOT17-09-FRCNN": (24, 0, 4),
    "MOT17-10-FRCNN": (95 + 5, 5, 5),
    "MOT17-11-FRCNN": (119, 0, 7),
    "MOT17-13-FRCNN": (107, 0, 5),
}


def rows(db: Database, video_id: int) -> list[Annotation]:
    with db.session() as session:
        return list(
            session.scalars(
                select(Annotation).where(Annotation.video_id == video_id).order_by(Annotation.frame_number)
            )
        )


def reviewed(db: Database, video_id: int) -> set[int]:
    with db.session() as session:
        return set(
            session.scalars(select(ReviewedFrame.frame_number).where(ReviewedFrame.video_id == video_id))
        )


def test_mot17_ground_truth_onto_its_videos(db: Database, shared_data: Path) -> None:
    mot = shared_data / "mot17_mini"
    outcomes = import_paths(db, [mot / "videos"])
    ids = {o.path.name.split("_first")[0]: o.video_id for o in outcomes}
    result = import_annotations(db, "mot", mot / "train")
    assert {v.filename.split("_first")[0]: v.boxes for v in result.videos} == {
        k: v[0] for k, v in MOT17_EXPECTED.items()
    }
    for sequence, (boxes, crowd, frames) in MOT17_EXPECTED.items():
        stored = rows(db, ids[sequence])
        assert len(stored) == boxes
        assert sum(a.crowd for a in stored) == crowd
        assert all(a.validated and a.source == "import:mot" for a in stored)
        assert reviewed(db, ids[sequence]) == set(range(frames))
    # gt.txt line 1 of MOT17-02: "1,1,912,484,97,109,0,7,1.0" → frame 0, a static person (crowd)
    first = [a for a in rows(db, ids["MOT17-02-FRCNN"]) if a.frame_number == 0 and a.x1 == 912]
    assert [(a.bounding_box, a.vru_type, a.crowd) for a in first] == [
        ((912, 484, 1009, 593), "pedestrian", True)
    ]
    # distractors, occluders, cars, bicycles, reflections are left out, counted
    assert result.left_out["boxes of class 'distractor' (not mapped to a VRU type)"] == 8 + 6 + 12 + 14 + 4


def test_mot_layout_with_labels_txt(db: Database, shared_data: Path, make_video) -> None:
    [outcome] = import_paths(db, [make_video("seq.mp4", frames=3, size=(16, 16))])
    sample = shared_data / "datumaro_format_samples" / "mot_dataset" / "mot_seq_with_seqinfo"
    result = import_annotations(
        db,
        "mot",
        sample,
        ImportOptions(video_id=outcome.video_id, mapping={"label_2": "cyclist"}, unmapped="ignore"),
    )
    assert result.boxes == 1
    [box] = rows(db, outcome.video_id)
    assert (box.frame_number, box.bounding_box, box.vru_type, box.track_id) == (
        0,
        (0, 4, 4, 12),
        "cyclist",
        None,
    )
    assert reviewed(db, outcome.video_id) == {0}  # seqLength=1


def test_cvat_video_datumaro_export_start_10_step_3(db: Database, shared_data: Path) -> None:
    folder = shared_data / "datumaro_format_samples" / "cvat_dataset"
    [outcome] = import_paths(db, [folder / "test.mp4"])  # 240x180; the task's boxes are for 25x20
    result = import_annotations(
        db,
        "cvat",
        folder / "for_video" / "annotations.xml",
        ImportOptions(video_id=outcome.video_id, mapping={"II": "pedestrian"}),
    )
    assert result.left_out == {"tracks of points, polylines or polygons (not boxes)": 2}
    stored = rows(db, outcome.video_id)
    visible = [a for a in stored if not a.outside]
    # keyframe 10 (occluded), interpolated 11 and 12 towards the outside keyframe at 13
    assert [a.frame_number for a in visible] == [10, 11, 12]
    assert visible[0].bounding_box == pytest.approx((3 * 9.6, 4 * 9, 10 * 9.6, 5 * 9))
    assert visible[0].occluded and visible[0].is_keyframe and not visible[1].is_keyframe
    assert [a.frame_number for a in stored if a.outside] == [13, 16]
    assert reviewed(db, outcome.video_id) == {10, 13, 16, 19}
    assert result.boxes == 3


def test_cvat_video_onto_the_task_frames_only(db: Database, shared_data: Path, make_video) -> None:
    [outcome] = import_paths(db, [make_video("task.mp4", frames=4, size=(50, 40))])
    import_annotations(
        db,
        "cvat",
        shared_data / "datumaro_format_samples" / "cvat_dataset" / "for_video" / "annotations.xml",
        ImportOptions(video_id=outcome.video_id, mapping={"II": "pedestrian"}, cvat_frames="task"),
    )
    stored = rows(db, outcome.video_id)
    assert [(a.frame_number, a.outside) for a in stored] == [(0, False), (1, True), (2, True)]
    assert stored[0].bounding_box == pytest.approx((6, 8, 20, 10))
    assert reviewed(db, outcome.video_id) == {0, 1, 2, 3}


@pytest.mark.parametrize(
    ("name", "boxes"), [("export_task/train.xml", 1), ("export_project/annotations.xml", 3)]
)
def test_cvat_images_exports(db: Database, shared_data: Path, make_video, name: str, boxes: int) -> None:
    [outcome] = import_paths(db, [make_video("imgs.mp4", frames=5, size=(80, 80))])
    path = shared_data / "datumaro_format_samples" / "cvat_dataset" / "for_images" / name
    result = import_annotations(
        db,
        "cvat",
        path,
        ImportOptions(video_id=outcome.video_id, unmapped="ignore", mapping={"label1": "pedestrian"}),
    )
    assert result.boxes == boxes
    stored = rows(db, outcome.video_id)
    # img0.jpg is 8x8: box 0,2,4,4 → ×10 on the 80x80 video
    assert {(a.frame_number, a.bounding_box, a.occluded) for a in stored} == {(0, (0, 20, 40, 40), True)}
    assert reviewed(db, outcome.video_id) == {0, 1}
    assert result.left_out["shapes that are not boxes (points, polylines, polygons, tags)"] == 3 * boxes


@pytest.mark.parametrize(
    ("layout", "frames_boxes"),
    [
        ("yolo_dataset/strict", {1: 2}),
        ("yolo_dataset/labels", {1: 4}),
        ("yolo_dataset/annotations", {1: 2}),
        ("roboflow_dataset/yolo", {1: 3, 2: 1}),
        ("roboflow_dataset/yolo/data.yaml", {1: 3, 2: 1}),
    ],
)
def test_yolo_layouts(db: Database, shared_data: Path, make_video, layout: str, frames_boxes: dict) -> None:
    [outcome] = import_paths(db, [make_video("y.mp4", frames=4, size=(160, 120))])
    path = shared_data / "datumaro_format_samples" / layout
    result = import_annotations(
        db,
        "yolo",
        path,
        ImportOptions(
            video_id=outcome.video_id,
            unmapped="ignore",
            mapping={f"label_{i}": "pedestrian" for i in range(5)},
        ),
    )
    stored = rows(db, outcome.video_id)
    counts: dict[int, int] = {}
    for a in stored:
        counts[a.frame_number] = counts.get(a.frame_number, 0) + 1
    assert counts == frames_boxes
    assert result.boxes == sum(frames_boxes.values())
    if layout.startswith("yolo_dataset"):
        # "2 0.133333 0.300000 0.266667 0.200000" on 160x120
        assert stored[0].bounding_box == pytest.approx((0, 24, 42.667, 48), abs=0.01)


def test_label_studio_image_export(db: Database, shared_data: Path, make_video) -> None:
    [outcome] = import_paths(db, [make_video("ls.mp4", frames=4, size=(280, 280))])
    path = shared_data / "label_studio_exports" / "test_export_yolo" / "data.json"
    result = import_annotations(
        db,
        "label-studio",
        path,
        ImportOptions(video_id=outcome.video_id, mapping={"parasites": "pedestrian", "white": "cyclist"}),
    )
    # task 1 has two annotations: the later one is taken; task 2 has one; two boxes each
    assert result.boxes == 4
    stored = rows(db, outcome.video_id)
    assert [a.frame_number for a in stored] == [1, 1, 2, 2]
    first = next(a for a in stored if a.vru_type == "pedestrian")
    assert first.x1 == pytest.approx(37.887 * 2.8, abs=0.01)
    assert reviewed(db, outcome.video_id) == {1, 2}


def test_label_studio_rotated_and_polygon_exports(db: Database, shared_data: Path, make_video) -> None:
    [outcome] = import_paths(db, [make_video("ls.mp4", frames=4, size=(160, 120))])
    folder = shared_data / "label_studio_exports" / "test_export_yolo"
    options = ImportOptions(
        video_id=outcome.video_id, mapping={"Butterfly": "pedestrian", "butterfly": "pedestrian"}
    )
    result = import_annotations(db, "label-studio", folder / "data_obb.json", options)
    assert result.boxes == 23 + 1 + 1
    assert all("rotation" in a.attributes and a.x2 > a.x1 for a in rows(db, outcome.video_id))
    polygons = import_annotations(db, "label-studio", folder / "data_polygons.json", options)
    assert polygons.boxes == 0
    assert polygons.left_out == {"results that are not rectangles (polygons, choices, text …)": 1}


def _video_task(sequence: list[dict], frames_count: int) -> list[dict]:
    return [
        {
            "id": 1,
            "data": {"video": "/data/upload/1/walk.mp4"},
            "annotations": [
                {
                    "id": 3,
                    "result": [
                        {
                            "id": "a1",
                            "type": "videorectangle",
                            "from_name": "box",
                            "to_name": "video",
                            "value": {
                                "framesCount": frames_count,
                                "labels": ["Person"],
                                "sequence": sequence,
                            },
                        }
                    ],
                }
            ],
        }
    ]


def _key(frame: int, x: float, enabled: bool = True) -> dict:
    return {
        "frame": frame,
        "enabled": enabled,
        "x": x,
        "y": 10.0,
        "width": 20.0,
        "height": 40.0,
        "rotation": 0,
    }


@pytest.mark.parametrize(
    ("sequence", "expected"),
    [
        # two enabled keyframes: linear in between, then held to framesCount
        ([_key(1, 0), _key(5, 40)], {f: 10.0 * f for f in range(5)} | {f: 40.0 for f in range(5, 10)}),
        # disabled keyframe: interpolated up to it, shown on its frame, then nothing until the next one
        (
            [_key(1, 0), _key(3, 20, False), _key(7, 50)],
            {0: 0, 1: 10, 2: 20} | {f: 50.0 for f in range(6, 10)},
        ),
        # a single disabled keyframe: its own frame only
        ([_key(4, 30, False)], {3: 30.0}),
        # the last keyframe disabled right after an enabled one
        ([_key(2, 10), _key(3, 20, False)], {1: 10.0, 2: 20.0}),
    ],
)
def test_label_studio_video_keyframes(db: Database, make_video, tmp_path: Path, sequence, expected) -> None:
    [outcome] = import_paths(db, [make_video("walk.mp4", frames=10, size=(200, 100))])
    path = tmp_path / "ls_video.json"
    path.write_text(json.dumps(_video_task(sequence, 10)))
    import_annotations(db, "label-studio", path)  # pairs by name: walk.mp4; Person → pedestrian
    visible = {a.frame_number: a.x1 for a in rows(db, outcome.video_id) if not a.outside}
    assert visible == pytest.approx({f: x * 2 for f, x in expected.items()})
    assert reviewed(db, outcome.video_id) == set(range(10))


def test_import_the_video_with_its_annotations(data_dir: Path, shared_data: Path, capsys) -> None:
    from vru_desktop.cli import main

    mot = shared_data / "mot17_mini"
    argv = ["--data-dir", str(data_dir), "import-annotations", "--format", "mot", "--json"]
    sequence = str(mot / "train" / "MOT17-05-FRCNN")
    assert main([*argv, sequence, "--with-video", str(mot / "videos" / "MOT17-05-FRCNN_first6.mp4")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert [(v["filename"], v["boxes"], v["crowd"]) for v in summary["videos"]] == [
        ("MOT17-05-FRCNN_first6.mp4", 47, 2)
    ]
    # without the video in the library, pairing by name fails with a clear message and exit code 1
    assert main([*argv, str(mot / "train" / "MOT17-09-FRCNN")]) == 1
    assert "No library video for: MOT17-09-FRCNN" in capsys.readouterr().err
