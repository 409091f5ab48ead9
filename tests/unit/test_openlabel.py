"""ASAM OpenLABEL 1.0: exports valid against the official schema, round trips, files written by the
`vcd` library (the reference implementation, used here only as a test oracle) and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from sqlalchemy import func, select
from vcd import core, types
from vcd.schema import openlabel_schema, openlabel_schema_version

from vru_desktop.annotations.tracks import Keyframe, interpolate_track
from vru_desktop.cli import main
from vru_desktop.datasets.exporter import ExportOptions, export_dataset
from vru_desktop.datasets.formats import openlabel
from vru_desktop.datasets.importer import ImportOptions, import_annotations
from vru_desktop.errors import FormatError
from vru_desktop.library.importer import import_paths
from vru_desktop.library.projects import ProjectFields, create_project, ensure_default_project
from vru_desktop.store.db import Database, open_database
from vru_desktop.store.models import Annotation, DetectionEvent, Project, ReviewedFrame, TestSession, Video

REVIEWED = {*range(2, 13), 20, 25}


def annotate(db: Database, video_id: int) -> int:
    """Ground truth (a pedestrian track with visibility, a crowd box, an occluded and truncated cyclist,
    an unvalidated proposal, an empty reviewed frame) and a detection run; returns the run's id."""
    with db.transaction() as session:
        keys = [Keyframe(2, (10.0, 20.0, 40.0, 80.0)), Keyframe(10, (30.0, 24.0, 62.5, 90.0))]
        for row in interpolate_track(keys):
            session.add(
                Annotation(
                    video_id=video_id,
                    frame_number=row.frame,
                    vru_type="pedestrian",
                    validated=True,
                    track_id=7,
                    is_keyframe=row.is_keyframe,
                    x1=row.box[0],
                    y1=row.box[1],
                    x2=row.box[2],
                    y2=row.box[3],
                    attributes={"visibility": 0.25 if row.frame == 4 else 0.9},
                    occluded=row.frame == 4,
                )
            )
        session.add(
            Annotation(
                video_id=video_id, frame_number=5, vru_type="pedestrian", validated=True, crowd=True,
                x1=100, y1=10, x2=150, y2=60,
            )
        )  # fmt: skip
        session.add(
            Annotation(
                video_id=video_id, frame_number=20, vru_type="cyclist", validated=True, occluded=True,
                truncated=True, x1=5.25, y1=6.5, x2=70, y2=110, attributes={"note": "behind a van"},
            )
        )  # fmt: skip
        session.add(
            Annotation(
                video_id=video_id, frame_number=26, vru_type="motorcyclist", validated=False,
                x1=1, y1=1, x2=20, y2=20,
            )
        )  # fmt: skip
        session.add_all(ReviewedFrame(video_id=video_id, frame_number=f) for f in REVIEWED)
        run = TestSession(video_id=video_id, config={"model": "yolo11n.pt"}, status="completed")
        session.add(run)
        session.flush()
        for frame in (3, 4, 27):
            session.add(
                DetectionEvent(
                    session_id=run.id, video_id=video_id, frame_number=frame, timestamp=frame / 25,
                    vru_type="pedestrian", confidence=0.8, class_name="person", track_id=1,
                    x1=11, y1=21, x2=41, y2=81,
                )
            )  # fmt: skip
        return run.id


@pytest.fixture
def source(db: Database, make_video) -> tuple[Database, Path, int]:
    create_project(
        db,
        ProjectFields(
            name="Front cam", camera_model="AXIS Q1798", camera_view="front", signal_type="RGB",
            lens_type="wide", resolution="160x120", frame_rate=25.0,
        ),
    )  # fmt: skip
    video = make_video("clip.mp4", frames=30, size=(160, 120))
    [outcome] = import_paths(db, [video])
    with db.transaction() as session:
        row = session.get(Video, outcome.video_id)
        row.project_id = session.scalar(select(Project.id).where(Project.name == "Front cam"))
    run_id = annotate(db, outcome.video_id)
    return db, video, run_id


def fresh_db(tmp_path: Path, video: Path) -> Database:
    target = open_database(tmp_path / "second" / "db.sqlite3")
    ensure_default_project(target)
    import_paths(target, [video])
    return target


def boxes(db: Database) -> list[tuple]:
    with db.session() as session:
        rows = session.scalars(select(Annotation).where(Annotation.outside.is_(False)))
        return sorted(
            (
                a.frame_number,
                a.vru_type,
                a.crowd,
                a.occluded,
                a.truncated,
                a.is_keyframe,
                a.attributes.get("visibility"),
                a.attributes.get("note"),
                *(round(v, 2) for v in a.bounding_box),
            )
            for a in rows
            if a.validated
        )


def tracks(db: Database) -> list[list[int]]:
    """The frames of each track, as a partition that does not depend on the track ids."""
    with db.session() as session:
        rows = session.execute(
            select(Annotation.track_id, Annotation.frame_number).where(Annotation.validated)
        )
        grouped: dict[int | None, list[int]] = {}
        for track, frame in rows:
            grouped.setdefault(track, []).append(frame)
    return sorted(sorted(frames) for track, frames in grouped.items() if track is not None)


def reviewed(db: Database) -> set[int]:
    with db.session() as session:
        return set(session.scalars(select(ReviewedFrame.frame_number)))


def test_the_shipped_schema_is_the_official_one() -> None:
    shipped = json.loads(openlabel.SCHEMA_FILE.read_text(encoding="utf-8"))
    assert openlabel_schema_version == openlabel.SCHEMA_VERSION == "1.0.0"
    assert shipped == openlabel_schema


def test_export_is_valid_openlabel_with_boxes_frames_tracks_and_camera(source, tmp_path: Path) -> None:
    db, _, run_id = source
    out = tmp_path / "ol"
    result = export_dataset(db, ExportOptions("openlabel", out, video_ids=[1], run_ids=[run_id]))
    [file] = sorted(out.iterdir())
    assert file.name == "clip_v1.json"
    document = json.loads(file.read_text())
    jsonschema.validate(document, openlabel_schema)  # the official schema, from the vcd package
    ol = document["openlabel"]
    assert result.counts == {"files": 1, "objects": 4, "boxes": 11, "detections": 3}
    assert ol["metadata"]["schema_version"] == "1.0.0"
    assert ol["metadata"]["camera_model"] == "AXIS Q1798" and ol["metadata"]["camera_view"] == "front"
    assert ol["streams"] == {
        "camera": {"type": "camera", "uri": "clip.mp4", "description": "AXIS Q1798 front"}
    }
    # frames are 0-based: the reviewed frames, and frame 27 where only the detection run saw something
    assert sorted(map(int, ol["frames"])) == sorted(REVIEWED | {27})
    assert ol["frames"]["27"]["frame_properties"]["reviewed"] is False
    assert ol["frames"]["2"]["frame_properties"]["timestamp"] == pytest.approx(2 / 25, abs=1e-3)
    track = next(o for o in ol["objects"].values() if o["name"] == "pedestrian 7")
    assert track["type"] == "pedestrian"
    assert track["frame_intervals"] == [{"frame_start": 2, "frame_end": 10}]
    uid = next(k for k, o in ol["objects"].items() if o is track)
    [bbox] = ol["frames"]["2"]["objects"][uid]["object_data"]["bbox"]
    assert bbox["val"] == [25.0, 50.0, 30.0, 60.0]  # centre x, centre y, width, height of (10, 20, 40, 80)
    assert bbox["coordinate_system"] == "camera"
    reader = core.OpenLABEL()  # the reference library reads it, checking the schema itself
    reader.load_from_file(str(file), validation=True)
    assert reader.get_num_objects() == 4
    assert reader.get_object_data(uid, "shape", frame_num=2)["val"] == [25.0, 50.0, 30.0, 60.0]
    detection = next(o for o in ol["objects"].values() if o["name"].startswith("run"))
    assert detection["frame_intervals"] == [
        {"frame_start": 3, "frame_end": 4},
        {"frame_start": 27, "frame_end": 27},
    ]


def test_round_trip_gives_back_the_same_boxes_tracks_and_attributes(source, tmp_path: Path) -> None:
    db, video, run_id = source
    out = tmp_path / "ol"
    export_dataset(db, ExportOptions("openlabel", out, video_ids=[1], run_ids=[run_id]))
    target = fresh_db(tmp_path, video)
    try:
        result = import_annotations(target, "openlabel", out, ImportOptions())
        expected = [b for b in boxes(db) if b[0] in REVIEWED]
        assert boxes(target) == expected
        assert len(expected) == 11
        assert tracks(target) == [list(range(2, 11))]
        assert reviewed(target) == REVIEWED
        assert result.left_out == {"detections (objects of a detection run)": 3}
        with target.session() as session:
            sources = list(session.scalars(select(Annotation.attributes)))
        assert all(a.get("source_track_id") == "7" for a in sources if "visibility" in a)
    finally:
        target.close()


def vcd_file(path: Path, *, streams: tuple[str, ...] = ("CAM_FRONT",), rotated: bool = False) -> Path:
    """An OpenLABEL file as another producer writes it, with the vcd library."""
    writer = core.OpenLABEL()
    writer.add_coordinate_system("vehicle-iso8855", types.CoordinateSystemType.local_cs)
    for stream in streams:
        writer.add_stream(stream, f"{stream.lower()}.mp4", "camera", core.StreamType.camera)
        writer.add_coordinate_system(
            stream, types.CoordinateSystemType.sensor_cs, parent_name="vehicle-iso8855"
        )
    walker = writer.add_object("walker-1", "Pedestrian")
    car = writer.add_object("car-1", "Car")
    rider = writer.add_object("rider-1", "Cyclist")
    for frame in range(3):
        for number, stream in enumerate(streams):
            val = [50 + frame, 40 + number, 20, 40]
            shape = types.bbox(f"shape_{number}", val, coordinate_system=stream)
            shape.add_attribute(types.boolean("occluded", frame == 1))
            writer.add_object_data(walker, shape, frame_value=frame)
        writer.add_object_data(car, types.bbox("box", [100, 60, 30, 20], coordinate_system=streams[0]), frame)
    writer.add_object_data(
        rider,
        types.rbbox("shape", [30, 30, 10, 20, 0.3], coordinate_system=streams[0])
        if rotated
        else types.bbox("shape", [30, 30, 10, 20], coordinate_system=streams[0]),
        frame_value=4,
    )
    writer.add_object_data(walker, types.num("visibility", 0.7))
    writer.save(str(path))
    return path


def test_a_file_written_by_the_vcd_library_imports_with_the_right_counts(
    db: Database, make_video, tmp_path: Path
) -> None:
    [outcome] = import_paths(db, [make_video("cam_front.mp4", frames=10, size=(160, 120))])
    result = import_annotations(db, "openlabel", vcd_file(tmp_path / "scene.json"), ImportOptions())
    [item] = result.videos
    assert (item.video_id, item.boxes, item.tracks) == (outcome.video_id, 4, 2)
    assert result.mapping == {"Pedestrian": "pedestrian", "Car": None, "Cyclist": "cyclist"}
    assert result.left_out == {"boxes of class 'Car' (not mapped to a VRU type)": 3}
    assert reviewed(db) == {0, 1, 2, 4}  # the file's frame_intervals, 0-based
    with db.session() as session:
        walker = list(
            session.scalars(
                select(Annotation)
                .where(Annotation.vru_type == "pedestrian")
                .order_by(Annotation.frame_number)
            )
        )
    assert [a.frame_number for a in walker] == [0, 1, 2]
    assert walker[1].bounding_box == pytest.approx((41.0, 20.0, 61.0, 60.0))
    assert [a.occluded for a in walker] == [False, True, False]
    assert walker[0].attributes["visibility"] == 0.7


def test_several_streams_need_a_choice(
    db: Database, make_video, tmp_path: Path, data_dir: Path, capsys
) -> None:
    import_paths(db, [make_video("cam_front.mp4", frames=10, size=(160, 120))])
    path = vcd_file(tmp_path / "two.json", streams=("CAM_FRONT", "CAM_LEFT"))
    with pytest.raises(openlabel.StreamChoiceNeeded, match=r"several camera streams \(CAM_FRONT, CAM_LEFT\)"):
        import_annotations(db, "openlabel", path, ImportOptions())
    with pytest.raises(FormatError, match=r"no stream 'CAM_REAR' \(streams: CAM_FRONT, CAM_LEFT\)"):
        import_annotations(db, "openlabel", path, ImportOptions(stream="CAM_REAR"))
    assert reviewed(db) == set()
    db.close()
    command = [
        "--data-dir",
        str(data_dir),
        "import-annotations",
        "--format",
        "openlabel",
        str(path),
        "--json",
    ]
    assert main(command) == 1
    assert "CAM_FRONT, CAM_LEFT" in capsys.readouterr().err
    assert main([*command, "--stream", "CAM_LEFT", "--video", "1"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["boxes"] == 3  # the walker as CAM_LEFT saw it; the car and rider are CAM_FRONT's
    assert summary["left_out"] == {"boxes of other streams": 7}


def test_rotated_boxes_are_refused_with_a_reason(db: Database, make_video, tmp_path: Path) -> None:
    import_paths(db, [make_video("cam_front.mp4", frames=10, size=(160, 120))])
    path = vcd_file(tmp_path / "rotated.json", rotated=True)
    with pytest.raises(
        FormatError,
        match=r"\$\.openlabel\.frames\['4'\]\.objects\['2'\]\.object_data\.rbbox\[0\]: a rotated box",
    ):
        import_annotations(db, "openlabel", path, ImportOptions())


def minimal(frames: dict, **extra) -> str:
    document = {
        "metadata": {"schema_version": "1.0.0", "tagged_file": "clip.mp4"},
        "objects": {"0": {"name": "p", "type": "person"}},
        "frames": frames,
    }
    return json.dumps({"openlabel": {**document, **extra}})


def box(val: list, **extra) -> dict:
    return {"objects": {"0": {"object_data": {"bbox": [{"name": "shape", "val": val, **extra}]}}}}


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        ('{"openlabel": {"metadata": {"schema_version": "1.0.0"},}}', FormatError, r"invalid JSON at line 1"),
        ('{"vcd": {}}', FormatError, r"not an OpenLABEL file"),
        (
            minimal({"0": box([1, 2, 3])}),
            FormatError,
            r"not valid OpenLABEL 1\.0 at \$\.openlabel\.frames\['0'\]\.objects\['0'\]"
            r"\.object_data\.bbox\[0\]\.val: \[1, 2, 3\] is too short",
        ),
        (
            minimal({"0": box([10, 10, 4, 4])}).replace('"1.0.0"', '"0.9"'),
            FormatError,
            r"at \$\.openlabel\.metadata\.schema_version: '0\.9' is not one of \['1\.0\.0'\]",
        ),
        (
            minimal({"0": box([10, 10, 4, 4], coordinate_system="lidar_top")}),
            FormatError,
            r"object_data\.bbox\[0\]: unknown coordinate system 'lidar_top' \(declared: none\)",
        ),
        (
            minimal(
                {"0": box([10, 10, 4, 4], coordinate_system="odom")},
                coordinate_systems={"odom": {"type": "scene_cs", "parent": ""}},
            ),
            FormatError,
            r"coordinate system 'odom' is a scene_cs, not a camera's image",
        ),
        (
            minimal({"0": box([10, 10, 4, 4]), "6": box([10, 10, 4, 4])}),
            FormatError,
            r"1 box of '.*' on frames past the end of video 1 'clip\.mp4' \(6 frames\), the first on frame 6",
        ),
    ],
)
def test_bad_files_are_refused_and_nothing_is_imported(
    db: Database, make_video, tmp_path: Path, content: str, error: type, message: str
) -> None:
    import_paths(db, [make_video("clip.mp4", frames=6, size=(64, 48))])
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(error, match=message):
        import_annotations(db, "openlabel", path, ImportOptions())
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Annotation)) == 0
    assert reviewed(db) == set()


def test_cli_exports_openlabel_with_the_latest_run(source, data_dir: Path, tmp_path: Path, capsys) -> None:
    db, _, _ = source
    db.close()
    out = tmp_path / "cli"
    command = ["--data-dir", str(data_dir), "export", "--format", "openlabel", "--out", str(out)]
    assert main([*command, "--video", "1", "--detections", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["files"], summary["boxes"], summary["detections"]) == (1, 11, 3)
    assert main([*command, "--video", "1", "--run", "9", "--overwrite"]) == 1
    assert "No detection run with id 9" in capsys.readouterr().err


def test_a_stream_attribute_places_boxes_without_a_coordinate_system(
    db: Database, make_video, tmp_path: Path
) -> None:
    import_paths(db, [make_video("clip.mp4", frames=6, size=(64, 48))])
    on = {"text": [{"name": "stream", "val": "right"}]}
    frame = box([10, 10, 4, 4], attributes={"text": [{"name": "stream", "val": "left"}]})
    frame["objects"]["1"] = {
        "object_data": {"bbox": [{"name": "shape", "val": [30, 20, 6, 8], "attributes": on}]}
    }
    path = tmp_path / "kognic.json"
    path.write_text(
        minimal(
            {"2": frame},
            objects={"0": {"name": "p", "type": "person"}, "1": {"name": "q", "type": "person"}},
            streams={"left": {"type": "camera"}, "right": {"type": "camera"}},
        )
    )
    result = import_annotations(db, "openlabel", path, ImportOptions(stream="right", video_id=1))
    assert result.boxes == 1 and result.left_out == {"boxes of other streams": 1}
    with db.session() as session:
        [placed] = session.scalars(select(Annotation))
    assert placed.bounding_box == pytest.approx((27.0, 16.0, 33.0, 24.0))
    assert "stream" not in placed.attributes


def break_entry(ol: dict, frame: str, change) -> None:  # type: ignore[no-untyped-def]
    [entry] = ol["frames"][frame]["objects"].values()
    change(entry)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda ol: None,
        lambda ol: break_entry(ol, "8", lambda e: e["object_data"]["bbox"][0]["val"].__setitem__(2, "wide")),
        lambda ol: break_entry(ol, "9", lambda e: e["object_data"]["bbox"][0]["val"].append(1.5)),
        lambda ol: break_entry(ol, "6", lambda e: e.__setitem__("extra", 1)),
        lambda ol: break_entry(
            ol, "7", lambda e: e["object_data"]["bbox"][0]["attributes"]["boolean"][0].__setitem__("val", 1)
        ),
        lambda ol: ol["frames"]["3"]["objects"].__setitem__("walker", {}),
        lambda ol: ol["frames"]["11"].__setitem__("frame_properties", {"timestamp": [1]}),
    ],
)
def test_the_import_check_finds_what_jsonschema_finds(source, tmp_path: Path, mutate) -> None:  # type: ignore[no-untyped-def]
    """The import checks each shape of object entry once; it must agree with a full jsonschema check."""
    db, _, _ = source
    export_dataset(db, ExportOptions("openlabel", tmp_path / "ol", video_ids=[1]))
    document = json.loads((tmp_path / "ol" / "clip_v1.json").read_text())
    mutate(document["openlabel"])
    expected = jsonschema.exceptions.best_match(
        jsonschema.Draft7Validator(openlabel_schema).iter_errors(document)
    )
    if expected is None:
        openlabel.validate(document, tmp_path / "x.json")
    else:
        with pytest.raises(FormatError) as raised:
            openlabel.validate(document, tmp_path / "x.json")
        assert f" at {expected.json_path}: {expected.message}." in str(raised.value)
