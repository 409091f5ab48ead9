"""Export → import round trips for every format, on a real video and real SQLite files."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from vru_desktop.annotations.tracks import Keyframe, interpolate_track
from vru_desktop.datasets.exporter import ExportOptions, export_dataset
from vru_desktop.datasets.importer import ImportOptions, import_annotations
from vru_desktop.library.importer import import_paths
from vru_desktop.library.projects import ensure_default_project
from vru_desktop.store.db import Database, open_database
from vru_desktop.store.models import Annotation, ReviewedFrame

pytestmark = pytest.mark.usefixtures("backend")

REVIEWED = {*range(2, 13), 20, 25}


def annotate(db: Database, video_id: int) -> None:
    """A pedestrian track (keyframes 2 and 10, outside at 15), a crowd box, a cyclist, a proposal."""
    with db.transaction() as session:
        keys = [
            Keyframe(2, (10.0, 20.0, 40.0, 80.0)),
            Keyframe(10, (30.0, 24.0, 62.5, 90.0)),
            Keyframe(15, (30.0, 24.0, 62.5, 90.0), outside=True),
        ]
        for row in interpolate_track(keys):
            session.add(
                Annotation(
                    video_id=video_id,
                    frame_number=row.frame,
                    vru_type="pedestrian",
                    validated=True,
                    track_id=7,
                    is_keyframe=row.is_keyframe,
                    outside=row.outside,
                    x1=row.box[0],
                    y1=row.box[1],
                    x2=row.box[2],
                    y2=row.box[3],
                )
            )
        session.add(
            Annotation(
                video_id=video_id,
                frame_number=5,
                vru_type="pedestrian",
                validated=True,
                crowd=True,
                x1=100,
                y1=10,
                x2=150,
                y2=60,
            )
        )
        session.add(
            Annotation(
                video_id=video_id,
                frame_number=20,
                vru_type="cyclist",
                validated=True,
                occluded=True,
                x1=5.25,
                y1=6.5,
                x2=70,
                y2=110,
            )
        )
        session.add(
            Annotation(
                video_id=video_id,
                frame_number=25,
                vru_type="motorcyclist",
                validated=False,
                x1=1,
                y1=1,
                x2=20,
                y2=20,
            )
        )
        session.add_all(ReviewedFrame(video_id=video_id, frame_number=f) for f in REVIEWED)


def ground_truth(db: Database, frames: set[int]) -> list[tuple]:
    with db.session() as session:
        reviewed = set(session.scalars(select(ReviewedFrame.frame_number)))
        rows = session.scalars(
            select(Annotation).where(Annotation.validated.is_(True), Annotation.outside.is_(False))
        )
        return sorted(
            (a.frame_number, a.vru_type, a.crowd, a.occluded, *a.bounding_box)
            for a in rows
            if a.frame_number in reviewed and a.frame_number in frames
        )


@pytest.fixture
def source(db: Database, make_video) -> tuple[Database, Path]:
    video = make_video("clip.mp4", frames=30, size=(160, 120))
    [outcome] = import_paths(db, [video])
    annotate(db, outcome.video_id)
    return db, video


def fresh_db(tmp_path: Path, video: Path) -> Database:
    target = open_database(tmp_path / "second" / "db.sqlite3")
    ensure_default_project(target)
    import_paths(target, [video])
    return target


def same_boxes(got: list[tuple], expected: list[tuple]) -> None:
    assert [r[:4] for r in got] == [r[:4] for r in expected]
    for a, b in zip(got, expected, strict=True):
        assert a[4:] == pytest.approx(b[4:], abs=0.02)


@pytest.mark.parametrize(
    ("export_format", "import_format", "flags", "keeps_reviewed"),
    [
        # flags kept by the format: crowd, occluded
        ("coco", "coco", "crowd occluded", True),
        ("yolo", "yolo", "", True),  # YOLO has neither: crowd boxes are left out
        ("cvat-video", "cvat", "occluded", False),  # CVAT has no crowd flag; its task covers every frame
        ("mot", "mot", "crowd occluded", False),  # a MOT sequence is annotated on every frame
        ("openlabel", "openlabel", "crowd occluded", True),
    ],
)
def test_round_trip_gives_back_the_same_boxes(
    source, tmp_path: Path, export_format: str, import_format: str, flags: str, keeps_reviewed: bool
) -> None:
    db, video = source
    out = tmp_path / f"export-{export_format}"
    export_dataset(db, ExportOptions(export_format, out, video_ids=[1]))
    target = fresh_db(tmp_path, video)
    try:
        import_annotations(target, import_format, out, ImportOptions())
        expected = ground_truth(db, REVIEWED)
        if export_format == "yolo":
            expected = [r for r in expected if not r[2]]
        if "crowd" not in flags:
            expected = sorted((r[0], r[1], False, *r[3:]) for r in expected)
        if "occluded" not in flags:
            expected = sorted((*r[:3], False, *r[4:]) for r in expected)
        same_boxes(ground_truth(target, REVIEWED), expected)
        assert len(expected) >= 12
        with target.session() as session:
            reviewed = set(session.scalars(select(ReviewedFrame.frame_number)))
        if keeps_reviewed:
            assert reviewed == REVIEWED
        else:
            assert reviewed == set(range(30))
    finally:
        target.close()


def test_cvat_round_trip_keeps_the_track_and_its_end(source, tmp_path: Path) -> None:
    db, video = source
    out = tmp_path / "cvat"
    export_dataset(db, ExportOptions("cvat-video", out, video_ids=[1], all_annotations=True))
    target = fresh_db(tmp_path, video)
    try:
        import_annotations(target, "cvat", out, ImportOptions())
        with target.session() as session:
            rows = list(session.scalars(select(Annotation).order_by(Annotation.frame_number)))
        tracks = {}
        for row in rows:
            tracks.setdefault(row.track_id, []).append(row)
        [pedestrian] = [t for t in tracks.values() if t[0].frame_number == 2]
        assert [r.frame_number for r in pedestrian if not r.outside] == list(range(2, 15))
        assert [r.frame_number for r in pedestrian if r.outside] == [15]
        assert [r.frame_number for r in pedestrian if r.is_keyframe and not r.outside] == [2, 10]
        middle = next(r for r in pedestrian if r.frame_number == 6)
        assert middle.bounding_box == pytest.approx((20.0, 22.0, 51.25, 85.0), abs=0.01)
        # the unvalidated proposal came along with --all-annotations, as a one-frame track
        assert any(r.vru_type == "motorcyclist" and r.frame_number == 25 and not r.outside for r in rows)
    finally:
        target.close()


def test_coco_round_trip_keeps_track_ids_and_keyframe_flags(source, tmp_path: Path) -> None:
    db, video = source
    out = tmp_path / "coco"
    export_dataset(db, ExportOptions("coco", out, video_ids=[1]))
    target = fresh_db(tmp_path, video)
    try:
        import_annotations(target, "coco", out, ImportOptions())
        with target.session() as session:
            track = list(
                session.scalars(
                    select(Annotation)
                    .where(Annotation.track_id.is_not(None))
                    .order_by(Annotation.frame_number)
                )
            )
        assert {a.attributes["source_track_id"] for a in track} == {"7"}
        assert [a.frame_number for a in track if a.is_keyframe] == [2, 10]
        assert len(track) == 11  # the reviewed frames 2…12 of the track
    finally:
        target.close()


def test_all_annotations_exports_proposals_too(source, tmp_path: Path) -> None:
    db, _ = source
    gt = export_dataset(db, ExportOptions("coco", tmp_path / "gt", video_ids=[1]))
    everything = export_dataset(
        db, ExportOptions("coco", tmp_path / "all", video_ids=[1], all_annotations=True)
    )
    assert gt.counts["annotations"] == len(ground_truth(db, set(range(30))))
    # + the proposal, + the track's rows on frames 13 and 14 that were not reviewed
    assert everything.counts["annotations"] == gt.counts["annotations"] + 3


def test_every_nth_frame(source, tmp_path: Path) -> None:
    db, _ = source
    result = export_dataset(db, ExportOptions("coco", tmp_path / "every", video_ids=[1], every=7))
    assert result.frames_written == 5  # 0, 7, 14, 21, 28
    assert sorted(p.name for p in (tmp_path / "every" / "images").iterdir()) == [
        f"clip_v1_{f:06d}.jpg" for f in (0, 7, 14, 21, 28)
    ]
