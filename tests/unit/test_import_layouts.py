"""Formats that used to be misread: MOT layouts told apart by content, CVAT job-level exports and
tracks sharing an id, image datasets paired with an image folder by file name."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from vru_desktop.datasets.formats.mot import DETECTIONS, MOT15, MOT16, RESULTS, detect_layout, read_mot_file
from vru_desktop.datasets.importer import ImportOptions, import_annotations
from vru_desktop.errors import FormatError, ValidationError
from vru_desktop.library.importer import import_paths
from vru_desktop.store.db import Database
from vru_desktop.store.models import Annotation, ReviewedFrame


def rows(db: Database, video_id: int) -> list[Annotation]:
    with db.session() as session:
        return list(
            session.scalars(
                select(Annotation)
                .where(Annotation.video_id == video_id)
                .order_by(Annotation.frame_number, Annotation.id)
            )
        )


def reviewed(db: Database, video_id: int) -> set[int]:
    with db.session() as session:
        return set(
            session.scalars(select(ReviewedFrame.frame_number).where(ReviewedFrame.video_id == video_id))
        )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def video(db: Database, make_video) -> int:
    [outcome] = import_paths(db, [make_video("clip.mp4", frames=6, size=(64, 48))])
    return outcome.video_id


# -- MOT layouts ---------------------------------------------------------------------------------
def test_mot15_ground_truth_world_coordinates_are_never_a_class(
    db: Database, video: int, tmp_path: Path
) -> None:
    # 2D MOT 2015: the 8th column is world x. -4 used to be refused as a class, 3 taken for "car".
    gt = write(
        tmp_path / "TUD" / "gt" / "gt.txt",
        "1,1,10,5,8,20,1,-4.2,1.5,0\n2,1,11,5,8,20,1,3,1.6,0\n2,2,30,6,8,20,0,-1,-1,-1\n",
    )
    assert read_mot_file(gt).layout is MOT15
    result = import_annotations(db, "mot", gt, ImportOptions(video_id=video))
    stored = rows(db, video)
    assert [(a.frame_number, a.vru_type, a.crowd, a.bounding_box) for a in stored] == [
        (0, "pedestrian", False, (10, 5, 18, 25)),
        (1, "pedestrian", False, (11, 5, 19, 25)),
        (1, "pedestrian", True, (30, 6, 38, 26)),
    ]
    assert stored[0].attributes["world"] == [-4.2, 1.5, 0] and "world" not in stored[2].attributes
    assert result.left_out == {}


def test_mot17_det_txt_is_detections_with_scores(db: Database, shared_data: Path, tmp_path: Path) -> None:
    mot = shared_data / "mot17_mini"
    [outcome] = import_paths(db, [mot / "videos" / "MOT17-02-FRCNN_first4.mp4"])
    det = mot / "train" / "MOT17-02-FRCNN" / "det" / "det.txt"
    assert read_mot_file(det).layout is DETECTIONS
    with pytest.raises(FormatError, match=r"on frames past the end of video .* \(4 frames\)"):
        import_annotations(db, "mot", det, ImportOptions(video_id=outcome.video_id, ground_truth=False))
    # det.txt covers the whole sequence: its rows on the 4 frames shipped
    first4 = tmp_path / "det.txt"
    first4.write_text(
        "".join(line + "\n" for line in det.read_text().splitlines() if int(line.split(",")[0]) <= 4)
    )
    assert read_mot_file(first4).layout is DETECTIONS
    with pytest.raises(ValidationError, match="detections with scores, not ground truth"):
        import_annotations(db, "mot", first4, ImportOptions(video_id=outcome.video_id))
    result = import_annotations(
        db, "mot", first4, ImportOptions(video_id=outcome.video_id, ground_truth=False)
    )
    stored = rows(db, outcome.video_id)
    assert result.boxes == len(stored) == 51
    assert all(not a.validated and a.confidence is not None and a.track_id is None for a in stored)
    assert reviewed(db, outcome.video_id) == set()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,1,1,1,5,5,1,1\n", r"gt\.txt:1: 8 columns is not a MOTChallenge layout"),
        ("1,1,1,1,5,5,1,1,1\n2,1,1,1,5,5,1,1,1,7\n", r"gt\.txt:2: 10 columns where line 1 has 9"),
        ("1,1,1,1,5,5,1,1,1\n2,1,1,1,5,5,1,1,3.5\n", r"gt\.txt:2: visibility \(column 9\) is 3\.5"),
        ("1,1,1,1,5,5,1,1.5,1\n", r"gt\.txt:1: class \(column 8\) is 1\.5, not a class number"),
        ("1,1,1,1,5,5,0.7,1,1\n", r"gt\.txt:1: consider \(column 7\) is 0\.7"),
    ],
)
def test_an_unrecognised_layout_is_refused_with_the_line_and_reason(
    db: Database, video: int, tmp_path: Path, text: str, message: str
) -> None:
    gt = write(tmp_path / "s" / "gt" / "gt.txt", text)
    with pytest.raises(FormatError, match=message):
        import_annotations(db, "mot", gt, ImportOptions(video_id=video))
    assert rows(db, video) == []


def test_detect_layout_reads_each_layout_from_its_content() -> None:
    def rows_of(*lines: str) -> list[tuple[int, list[float]]]:
        return [(n, [float(v) for v in line.split(",")]) for n, line in enumerate(lines, start=1)]

    assert detect_layout(rows_of("1,1,1,1,5,5,0,7,0.25"), "f") is MOT16
    assert detect_layout(rows_of("1,1,1,1,5,5,1,-1,-1,-1", "2,1,1,1,5,5,0,2,3,0"), "f") is MOT15
    assert detect_layout(rows_of("1,1,1,1,5,5,0.93,-1,-1,-1"), "f") is RESULTS
    assert detect_layout(rows_of("1,4,1,1,5,5,0.93"), "f") is RESULTS
    assert detect_layout(rows_of("1,-1,1,1,5,5,0.93"), "f") is DETECTIONS
    assert detect_layout(rows_of("1,-1,1,1,5,5,12.5,-1,-1,-1"), "f") is DETECTIONS
    # a 9-column ground-truth row without a track (Datumaro's sample) stays ground truth
    assert detect_layout(rows_of("1,-1,0,4,4,8,1,3,1.0"), "f") is MOT16


# -- CVAT ----------------------------------------------------------------------------------------
CVAT_LABELS = """
      <labels>
        <label><name>person</name><attributes></attributes></label>
        <label><name>rider</name><attributes></attributes></label>
      </labels>"""


def test_cvat_job_level_export_reads_the_jobs_frames_and_original_size(
    db: Database, make_video, tmp_path: Path
) -> None:
    # A job export (CVAT "for video 1.1"): the second job of a task over a 400x200 video with
    # frame_filter step=2; the job holds task frames 5…9, i.e. source frames 10…18, and
    # <original_size> stands beside <job>, not inside it.
    xml = write(
        tmp_path / "job_7.xml",
        f"""<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <job>
      <id>7</id>
      <size>5</size>
      <mode>interpolation</mode>
      <overlap>0</overlap>
      <bugtracker></bugtracker>
      <created>2024-05-02 10:00:00+00:00</created>
      <updated>2024-05-02 11:00:00+00:00</updated>
      <subset>default</subset>
      <start_frame>10</start_frame>
      <stop_frame>18</stop_frame>
      <frame_filter>step=2</frame_filter>
      <segments>
        <segment><id>7</id><start>5</start><stop>9</stop><url>http://localhost:8080/api/jobs/7</url></segment>
      </segments>
      <owner><username>anna</username><email></email></owner>
      <assignee></assignee>{CVAT_LABELS}
    </job>
    <dumped>2024-05-02 11:05:00+00:00</dumped>
    <original_size>
      <width>400</width>
      <height>200</height>
    </original_size>
  </meta>
  <track id="1" label="person" source="manual">
    <box frame="10" outside="0" occluded="0" keyframe="1" xtl="40" ytl="20" xbr="80" ybr="100"/>
    <box frame="14" outside="0" occluded="1" keyframe="1" xtl="80" ytl="20" xbr="120" ybr="100"/>
  </track>
</annotations>
""",
    )
    [outcome] = import_paths(db, [make_video("street.mp4", frames=24, size=(200, 100))])
    result = import_annotations(db, "cvat", xml, ImportOptions(video_id=outcome.video_id))
    assert reviewed(db, outcome.video_id) == {10, 12, 14, 16, 18}
    stored = [a for a in rows(db, outcome.video_id) if not a.outside]
    # keyframes 10 and 14, interpolated between, held to the job's last frame 18; scaled 400x200 → 200x100
    assert [a.frame_number for a in stored] == list(range(10, 19))
    assert stored[0].bounding_box == pytest.approx((20, 10, 40, 50))
    assert stored[2].bounding_box == pytest.approx((30, 10, 50, 50))
    assert stored[-1].bounding_box == pytest.approx((40, 10, 60, 50))
    assert result.boxes == 9 and result.videos[0].reviewed_frames == 5


def test_cvat_task_segments_and_tracks_that_share_an_id(db: Database, make_video, tmp_path: Path) -> None:
    # Two jobs (segments, in task frames) cover frames 0…3 and 6…9 of a 12-frame task; three tracks
    # carry id 0, two of them with different labels.
    xml = write(
        tmp_path / "task.xml",
        f"""<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <task>
      <id>3</id><name>crossing</name><size>12</size><mode>interpolation</mode><overlap>0</overlap>
      <start_frame>0</start_frame><stop_frame>11</stop_frame><frame_filter></frame_filter>{CVAT_LABELS}
      <segments>
        <segment><id>1</id><start>0</start><stop>3</stop><url>u</url></segment>
        <segment><id>2</id><start>6</start><stop>9</stop><url>u</url></segment>
      </segments>
      <original_size><width>64</width><height>48</height></original_size>
    </task>
  </meta>
  <track id="0" label="person">
    <box frame="1" outside="0" occluded="0" keyframe="1" xtl="1" ytl="1" xbr="5" ybr="9"></box>
    <box frame="3" outside="1" occluded="0" keyframe="1" xtl="1" ytl="1" xbr="5" ybr="9"></box>
  </track>
  <track id="0" label="rider">
    <box frame="2" outside="0" occluded="0" keyframe="1" xtl="20" ytl="1" xbr="30" ybr="9"></box>
    <box frame="4" outside="1" occluded="0" keyframe="1" xtl="20" ytl="1" xbr="30" ybr="9"></box>
  </track>
  <track id="0" label="person">
    <box frame="7" outside="0" occluded="0" keyframe="1" xtl="40" ytl="1" xbr="50" ybr="9"></box>
    <box frame="8" outside="1" occluded="0" keyframe="1" xtl="40" ytl="1" xbr="50" ybr="9"></box>
  </track>
</annotations>
""",
    )
    [outcome] = import_paths(db, [make_video("crossing.mp4", frames=12, size=(64, 48))])
    result = import_annotations(
        db, "cvat", xml, ImportOptions(video_id=outcome.video_id, mapping={"rider": "cyclist"})
    )
    assert reviewed(db, outcome.video_id) == {0, 1, 2, 3, 6, 7, 8, 9}
    stored = [a for a in rows(db, outcome.video_id) if not a.outside]
    assert sorted((a.frame_number, a.vru_type, a.x1) for a in stored) == [
        (1, "pedestrian", 1),
        (2, "cyclist", 20),
        (2, "pedestrian", 1),
        (3, "cyclist", 20),
        (7, "pedestrian", 40),
    ]
    assert len({a.track_id for a in stored}) == 3 and result.videos[0].tracks == 3
    assert {a.attributes["source_track_id"] for a in stored} == {"0"}


# -- image datasets onto a folder of images ------------------------------------------------------
def write_image(path: Path, size: tuple[int, int]) -> Path:
    import cv2
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((size[1], size[0], 3), 90, dtype=np.uint8))
    return path


def coco_file(path: Path, images: list[tuple[str, tuple[int, int], list[float]]]) -> Path:
    import json

    document = {
        "categories": [{"id": 1, "name": "person"}],
        "images": [
            {"id": n, "file_name": name, "width": w, "height": h}
            for n, (name, (w, h), _) in enumerate(images, 1)
        ],
        "annotations": [
            {"id": n, "image_id": n, "category_id": 1, "bbox": bbox, "iscrowd": 0}
            for n, (_, _, bbox) in enumerate(images, 1)
        ],
    }
    return write(path, json.dumps(document))


@pytest.fixture
def voc_folder(db: Database, tmp_path: Path) -> tuple[int, Path]:
    """A VOC-style folder of images of different sizes, imported as a video."""
    folder = tmp_path / "JPEGImages"
    for name, size in (
        ("2007_000032.jpg", (500, 375)),
        ("2007_001585.jpg", (375, 500)),
        ("2008_000008.jpg", (500, 333)),
    ):
        write_image(folder / name, size)
    [outcome] = import_paths(db, [folder], fps=1.0)
    assert outcome.status == "imported", outcome.line()
    return outcome.video_id, folder


def test_coco_onto_a_voc_folder_pairs_by_file_name_and_keeps_each_images_size(
    db: Database, voc_folder: tuple[int, Path], tmp_path: Path
) -> None:
    video, folder = voc_folder
    from vru_desktop.media.probe import sequence_files

    frame_of = {p.name: n for n, p in enumerate(sequence_files(folder))}
    coco = coco_file(
        tmp_path / "voc.json",
        [
            ("JPEGImages/2007_000032.jpg", (500, 375), [400, 300, 90, 70]),
            ("JPEGImages/2007_001585.jpg", (375, 500), [300, 400, 70, 90]),
            ("JPEGImages/2008_000008.jpg", (500, 333), [10, 20, 30, 40]),
        ],
    )
    result = import_annotations(db, "coco", coco, ImportOptions(video_id=video))
    assert result.boxes == 3 and result.left_out == {}
    stored = {a.frame_number: a.bounding_box for a in rows(db, video)}
    # each box on its own image, in that image's pixels (never rescaled to the first image's size)
    assert stored == {
        frame_of["2007_000032.jpg"]: (400, 300, 490, 370),
        frame_of["2007_001585.jpg"]: (300, 400, 370, 490),
        frame_of["2008_000008.jpg"]: (10, 20, 40, 60),
    }
    assert reviewed(db, video) == {0, 1, 2}


def test_a_mis_pairing_is_refused_never_silent(
    db: Database, voc_folder: tuple[int, Path], tmp_path: Path, make_video
) -> None:
    video, _ = voc_folder
    missing = coco_file(
        tmp_path / "m.json",
        [("2007_000032.jpg", (500, 375), [1, 1, 5, 5]), ("2009_000001.jpg", (500, 375), [1, 1, 5, 5])],
    )
    with pytest.raises(ValidationError, match=r"1 annotated image not in JPEGImages .*'2009_000001\.jpg'"):
        import_annotations(db, "coco", missing, ImportOptions(video_id=video))
    shared = coco_file(
        tmp_path / "s.json",
        [
            ("train/2007_000032.jpg", (500, 375), [1, 1, 5, 5]),
            ("val/2007_000032.jpg", (500, 375), [1, 1, 5, 5]),
        ],
    )
    with pytest.raises(ValidationError, match="Several annotated images pair with the same image"):
        import_annotations(db, "coco", shared, ImportOptions(video_id=video))
    [clip] = import_paths(db, [make_video("clip.mp4", frames=3, size=(64, 48))])
    unnumbered = coco_file(tmp_path / "u.json", [("street.jpg", (64, 48), [1, 1, 5, 5])])
    with pytest.raises(
        ValidationError, match=r"is a video file and the image 'street\.jpg' carries no frame number"
    ):
        import_annotations(db, "coco", unnumbered, ImportOptions(video_id=clip.video_id))
    assert rows(db, video) == [] and rows(db, clip.video_id) == []


def test_yolo_labels_onto_a_one_based_image_folder(db: Database, shared_data: Path) -> None:
    # Label Studio's YOLO sample: img_1 … img_5 (1-based), 640x329; img_1 has one 'bus' box.
    dataset = shared_data / "label_studio_exports" / "test_import_yolo_data_unif_dims"
    [outcome] = import_paths(db, [dataset / "images"], fps=1.0)
    result = import_annotations(
        db,
        "yolo",
        dataset,
        ImportOptions(video_id=outcome.video_id, mapping={"bus": "pedestrian"}, unmapped="ignore"),
    )
    stored = rows(db, outcome.video_id)
    buses = {
        n: sum(
            1
            for line in (dataset / "labels" / f"img_{n + 1}.txt").read_text().splitlines()
            if line.startswith("2 ")
        )
        for n in range(5)
    }
    assert {f: sum(1 for a in stored if a.frame_number == f) for f in range(5)} == buses
    assert result.boxes == sum(buses.values()) and buses[0] == 1
    first = next(a for a in stored if a.frame_number == 0)
    # img_1.txt: "2 0.49765625 0.46200607902735563 0.9640625 0.8693009118541033" on 640x329
    assert first.bounding_box == pytest.approx(
        (
            (0.49765625 - 0.9640625 / 2) * 640,
            (0.46200607902735563 - 0.8693009118541033 / 2) * 329,
            (0.49765625 + 0.9640625 / 2) * 640,
            (0.46200607902735563 + 0.8693009118541033 / 2) * 329,
        )
    )
    assert reviewed(db, outcome.video_id) == set(range(5))


def test_cvat_images_onto_their_image_folder_of_two_sizes(db: Database, shared_data: Path) -> None:
    # Datumaro's CVAT-for-images task export: img0.jpg is 8x8, img1.jpg 10x10.
    export = shared_data / "datumaro_format_samples" / "cvat_dataset" / "for_images" / "export_task"
    [outcome] = import_paths(db, [export / "images"], fps=1.0)
    import_annotations(
        db,
        "cvat",
        export / "train.xml",
        ImportOptions(video_id=outcome.video_id, mapping={"label1": "pedestrian"}, unmapped="ignore"),
    )
    assert [(a.frame_number, a.bounding_box) for a in rows(db, outcome.video_id)] == [(0, (0, 2, 4, 4))]
    assert reviewed(db, outcome.video_id) == {0, 1}


def test_label_studio_upload_names_pair_with_the_image_they_were_made_from(
    db: Database, tmp_path: Path
) -> None:
    import json

    folder = tmp_path / "img1"
    for n in (1, 2, 3):
        write_image(folder / f"{n:06d}.jpg", (100, 50))
    [outcome] = import_paths(db, [folder], fps=1.0)
    rectangle = {"x": 10, "y": 20, "width": 30, "height": 40, "rectanglelabels": ["person"]}
    tasks = [
        {
            "id": 1,
            "data": {"image": "/data/upload/3/1a2b3c4d-000002.jpg"},
            "annotations": [{"id": 1, "result": [{"type": "rectanglelabels", "value": rectangle}]}],
        }
    ]
    path = write(tmp_path / "ls.json", json.dumps(tasks))
    import_annotations(db, "label-studio", path, ImportOptions(video_id=outcome.video_id))
    assert [(a.frame_number, a.bounding_box) for a in rows(db, outcome.video_id)] == [(1, (10, 10, 40, 30))]
    assert reviewed(db, outcome.video_id) == {1}
