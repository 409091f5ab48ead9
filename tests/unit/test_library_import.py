"""Importing into a real database file: batches with bad input, duplicates, relink, project assignment."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import func, select, text

from vru_desktop.errors import MediaError
from vru_desktop.library import importer
from vru_desktop.library.importer import (
    Assignment,
    collect_candidates,
    import_paths,
    refresh_status,
    relink,
    relink_search,
    sequences_needing_fps,
)
from vru_desktop.library.projects import ProjectFields, create_project
from vru_desktop.media.frames import FrameTable
from vru_desktop.settings import USER_DEFAULT_PROJECT, set_setting
from vru_desktop.store.models import FrameIndex, Video

pytestmark = pytest.mark.usefixtures("backend")


def _counts(db) -> tuple[int, int]:
    with db.session() as session:
        return (
            session.scalar(select(func.count()).select_from(Video)),
            session.scalar(select(func.count()).select_from(FrameIndex)),
        )


def _video(db, video_id: int) -> Video:
    with db.session() as session:
        video = session.get(Video, video_id)
        assert video is not None
        session.expunge(video)
        return video


def _project(db, name: str) -> int:
    return create_project(
        db, ProjectFields(name=name, camera_model="M1", camera_view="front", signal_type="video")
    ).id


def test_import_stores_metadata_and_frame_table(db, make_video) -> None:
    path = make_video("clip.mp4", 30, fps=25.0, size=(160, 120))
    [outcome] = import_paths(db, [path])
    assert outcome.status == "imported" and outcome.project == "Default"
    video = _video(db, outcome.video_id)
    assert (video.filename, video.file_path, video.kind) == ("clip.mp4", str(path), "file")
    assert (video.frame_count, video.fps, video.width, video.height) == (30, 25.0, 160, 120)
    assert video.duration == pytest.approx(1.2)
    assert video.file_size == path.stat().st_size and video.codec == "mpeg4" and len(video.fingerprint) == 64
    with db.session() as session:
        row = session.get(FrameIndex, video.id)
        table = FrameTable.from_bytes(row.times, row.keyframes)
    assert len(table) == 30 and table.time_of(29) == pytest.approx(29 / 25)


def test_shared_data_imports_with_correct_metadata(db, shared_data: Path) -> None:
    outcomes = import_paths(
        db, [shared_data / "mot17_mini", shared_data / "street_videos" / "market_street_1906.mp4"]
    )
    assert all(o.status == "imported" for o in outcomes), [o.line() for o in outcomes if not o.ok]
    with db.session() as session:
        videos = {v.filename: v for v in session.scalars(select(Video))}
    assert len(videos) == 15  # 7 mp4 + 7 img1 folders + the street video
    street = videos["market_street_1906.mp4"]
    assert (street.frame_count, street.width, street.height) == (1799, 640, 360)
    assert street.fps == pytest.approx(29.97, abs=0.01)
    seq = videos["MOT17-05-FRCNN"]
    assert (seq.kind, seq.frame_count, seq.fps, seq.resolution) == ("image_sequence", 6, 14.0, "640x480")
    assert seq.file_path.endswith("MOT17-05-FRCNN/img1")
    assert videos["MOT17-13-FRCNN_first5.mp4"].fps == 25.0


def test_bad_inputs_are_refused_with_reasons_and_the_rest_imports(db, make_video, tmp_path: Path) -> None:
    good_a = make_video("good_a.mp4", 20)
    good_b = make_video("good_b.mp4", 25)
    empty = tmp_path / "empty.mp4"
    empty.touch()
    text = tmp_path / "text.mov"
    text.write_text("not a video at all\n" * 50)
    whole = make_video("whole.mp4", 60, size=(320, 240)).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: len(whole) // 2])
    missing = tmp_path / "missing.mp4"
    outcomes = import_paths(db, [empty, good_a, text, cut, missing, good_b])
    by_name = {o.path.name: o for o in outcomes}
    assert [o.path.name for o in outcomes] == [
        "empty.mp4",
        "good_a.mp4",
        "text.mov",
        "cut.mp4",
        "missing.mp4",
        "good_b.mp4",
    ]
    assert by_name["good_a.mp4"].status == by_name["good_b.mp4"].status == "imported"
    reasons = {name: o.message for name, o in by_name.items() if o.status == "refused"}
    assert set(reasons) == {"empty.mp4", "text.mov", "cut.mp4", "missing.mp4"}
    assert "0 bytes" in reasons["empty.mp4"]
    assert "not a video" in reasons["text.mov"]
    assert "truncated" in reasons["cut.mp4"]
    assert "not found" in reasons["missing.mp4"]
    assert all("\n" not in line for line in (o.line() for o in outcomes))
    assert _counts(db) == (2, 2)


def test_a_failure_while_storing_leaves_nothing_half_written(db, make_video, monkeypatch) -> None:
    def broken(_info):  # type: ignore[no-untyped-def]
        raise MediaError("frame table could not be written")

    monkeypatch.setattr(importer, "_frame_table_bytes", broken)
    [outcome] = import_paths(db, [make_video("clip.mp4", 10)])
    assert outcome.status == "refused" and "frame table" in outcome.message
    assert _counts(db) == (0, 0)


def test_same_file_twice_is_reported_not_duplicated(db, make_video, tmp_path: Path) -> None:
    path = make_video("clip.mp4", 12)
    [first] = import_paths(db, [path])
    [again] = import_paths(db, [path])
    assert again.status == "duplicate" and again.video_id == first.video_id
    assert "already in the library" in again.message
    copy = tmp_path / "copy.mp4"
    shutil.copy(path, copy)
    [copied] = import_paths(db, [copy])
    assert copied.status == "duplicate" and "same content" in copied.message
    assert _counts(db) == (1, 1)


def test_moved_file_is_relinked_on_reimport(db, make_video, tmp_path: Path) -> None:
    path = make_video("clip.mp4", 12)
    [first] = import_paths(db, [path])
    moved = tmp_path / "moved" / "clip_renamed.mp4"
    moved.parent.mkdir()
    shutil.move(path, moved)
    assert refresh_status(db) == [first.video_id]
    assert _video(db, first.video_id).status == "missing"
    [again] = import_paths(db, [moved])
    assert again.status == "relinked" and again.video_id == first.video_id
    video = _video(db, first.video_id)
    assert (video.file_path, video.filename, video.status) == (str(moved), "clip_renamed.mp4", "ok")
    assert _counts(db) == (1, 1)


def test_explicit_relink_checks_the_content(db, make_video, tmp_path: Path) -> None:
    path = make_video("clip.mp4", 12)
    other = make_video("other.mp4", 13)
    [first] = import_paths(db, [path])
    moved = tmp_path / "moved.mp4"
    shutil.move(path, moved)
    with pytest.raises(MediaError, match="not the same content"):
        relink(db, first.video_id, other)
    relink(db, first.video_id, moved)
    assert _video(db, first.video_id).file_path == str(moved.resolve())


def test_relink_search_finds_missing_videos_in_a_folder(db, make_video, tmp_path: Path) -> None:
    paths = [make_video(f"v{i}.mp4", 10 + i) for i in range(3)]
    ids = [o.video_id for o in import_paths(db, paths)]
    archive = tmp_path / "archive" / "2024"
    archive.mkdir(parents=True)
    shutil.move(paths[0], archive / "a.mp4")
    shutil.move(paths[2], archive / "c.mp4")
    found = relink_search(db, tmp_path / "archive")
    assert sorted(found) == [(ids[0], (archive / "a.mp4").resolve()), (ids[2], (archive / "c.mp4").resolve())]
    assert [_video(db, i).status for i in ids] == ["ok", "ok", "ok"]


def test_assignment_order(db, make_video) -> None:
    explicit = _project(db, "Explicit")
    active = _project(db, "Active")
    user_default = _project(db, "Mine")
    _project(db, "Junction7")

    lengths = iter(range(5, 50))

    def project_of(name: str, assignment: Assignment) -> str | None:
        [outcome] = import_paths(db, [make_video(name, next(lengths))], assignment=assignment)
        assert outcome.status == "imported"
        return outcome.project

    # No setting yet: inference from the name, then the system default.
    assert project_of("junction7_morning.mp4", Assignment()) == "Junction7"
    assert project_of("unrelated.mp4", Assignment()) == "Default"
    assert project_of("junction7_noon.mp4", Assignment(infer_from_names=False)) == "Default"
    set_setting(db, USER_DEFAULT_PROJECT, user_default)
    assert project_of("junction7_evening.mp4", Assignment()) == "Mine"
    assert project_of("junction7_night.mp4", Assignment(active_project_id=active)) == "Active"
    both = Assignment(explicit_project_id=explicit, active_project_id=active)
    assert project_of("junction7_dawn.mp4", both) == "Explicit"


def test_inference_from_a_folder_name(db, tmp_path: Path, make_video) -> None:
    _project(db, "Bridge Cam")
    folder = tmp_path / "Bridge Cam recordings"
    folder.mkdir()
    shutil.move(make_video("x.mp4", 9), folder / "x.mp4")
    [outcome] = import_paths(db, [folder])
    assert outcome.project == "Bridge Cam"


def test_inference_matches_whole_words_whatever_separates_them(db, make_video) -> None:
    _project(db, "Market Street 1906")
    _project(db, "Cam")
    outcomes = import_paths(
        db,
        [
            make_video("market_street_1906.mp4", 5),
            make_video("camera_test.mp4", 6),
            make_video("cam-2.mp4", 7),
        ],
    )
    assert [o.project for o in outcomes] == ["Market Street 1906", "Default", "Cam"]


def test_shared_street_video_goes_to_the_project_named_after_it(db, shared_data: Path) -> None:
    _project(db, "Market Street 1906")
    [outcome] = import_paths(db, [shared_data / "street_videos" / "market_street_1906.mp4"])
    assert outcome.project == "Market Street 1906"


def _frames(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True)
    for index in range(count):
        cv2.imwrite(str(folder / f"{index:06d}.jpg"), np.full((40, 60, 3), index * 30, np.uint8))
    return folder


def test_image_sequence_without_seqinfo_needs_its_fps(db, tmp_path: Path) -> None:
    folder = _frames(tmp_path / "kitti" / "0001", 6)
    with_info = _frames(tmp_path / "kitti" / "0002", 4)
    (with_info / "seqinfo.ini").write_text("[Sequence]\nname=seq-two\nframeRate=10\n")
    assert sequences_needing_fps([tmp_path / "kitti"]) == [folder.resolve()]
    outcomes = import_paths(db, [tmp_path / "kitti"])
    assert [(o.path.name, o.status) for o in outcomes] == [("0001", "refused"), ("0002", "imported")]
    assert "--fps" in outcomes[0].message
    [retry] = import_paths(db, [folder], sequence_fps={folder.resolve(): 7.5})
    assert retry.status == "imported"
    video = _video(db, retry.video_id)
    assert (video.kind, video.fps, video.frame_count, video.filename) == ("image_sequence", 7.5, 6, "0001")


def test_folder_search_skips_other_files_but_a_named_file_is_checked(tmp_path: Path, make_video) -> None:
    video = make_video("a.mp4", 5)
    (video.parent / "readme.txt").write_text("x")
    assert collect_candidates([video.parent]) == [video.resolve()]
    assert collect_candidates([video.parent / "readme.txt"]) == [(video.parent / "readme.txt").resolve()]


def test_cancel_keeps_finished_files_and_reports_the_rest(db, make_video) -> None:
    paths = [make_video(f"c{i}.mp4", 6 + i) for i in range(4)]
    seen: list[tuple[int, int]] = []
    outcomes = import_paths(
        db,
        paths,
        progress=lambda done, total, _detail: seen.append((done, total)),
        should_cancel=lambda: len(seen) >= 2,
    )
    assert [o.status for o in outcomes] == ["imported", "imported", "cancelled", "cancelled"]
    assert not outcomes[2].ok
    assert seen[:2] == [(0, 4), (1, 4)]
    assert _counts(db) == (2, 2)


def test_moved_frame_folder_is_found_again(db, shared_data: Path, tmp_path: Path) -> None:
    original = tmp_path / "sets" / "MOT17-05-FRCNN"
    shutil.copytree(shared_data / "mot17_mini" / "train" / "MOT17-05-FRCNN", original)
    [outcome] = import_paths(db, [original / "img1"])
    assert outcome.status == "imported" and outcome.name == "MOT17-05-FRCNN"
    moved = tmp_path / "archive" / "MOT17-05-FRCNN"
    moved.parent.mkdir()
    shutil.move(original, moved)
    assert relink_search(db, tmp_path / "archive") == [(outcome.video_id, (moved / "img1").resolve())]
    video = _video(db, outcome.video_id)
    assert (video.status, video.filename, video.fps, video.frame_count) == ("ok", "MOT17-05-FRCNN", 14.0, 6)


def test_a_file_name_that_is_not_utf8_imports_and_is_shown_escaped(
    db, data_dir: Path, make_video, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    import os

    from vru_desktop.cli import main
    from vru_desktop.datasets.query import load_rows
    from vru_desktop.media.frames import iter_frames

    clip = make_video(frames=5)
    odd = Path(os.fsdecode(os.path.join(os.fsencode(clip.parent), b"caf\xe9 \xff.mp4")))  # Latin-1 bytes
    shutil.copy(clip, odd)
    [outcome] = import_paths(db, [odd])
    assert outcome.status == "imported" and outcome.line().startswith("imported  ")
    assert "caf\\xe9 \\xff.mp4" in outcome.line()
    video = _video(db, outcome.video_id)
    assert video.file_path == str(odd) and video.filename == "caf\\xe9 \\xff.mp4"
    with db.session() as session:
        index = session.get(FrameIndex, video.id)
        table = FrameTable.from_bytes(index.times, index.keyframes)
    frames = list(iter_frames(video.file_path, table=table))
    assert len(frames) == 5 and all(f.image is not None for f in frames)
    assert [r.file_healthy for r in load_rows(db) if r.video_id == video.id] == [True]
    assert importer.refresh_status(db) == []  # found on disk, not "missing"
    # The database holds valid UTF-8 text that other tools read.
    with db.session() as session:
        stored = session.execute(text("SELECT file_path FROM videos")).scalar_one()
    assert stored.endswith("/caf%E9%20%FF.mp4")
    [again] = import_paths(db, [odd])
    assert again.status == "duplicate"
    capsys.readouterr()
    assert main(["--data-dir", str(data_dir), "videos", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["name"] == "caf\\xe9 \\xff.mp4"
