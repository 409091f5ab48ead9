"""Imports are remembered: the same boxes are never imported twice silently; an import is listed and
removed as a unit; boxes are deleted in bulk by video, class, source and frames."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from vru_desktop.annotations.bulk import BoxFilter, delete_annotations, parse_frame_range
from vru_desktop.cli import main
from vru_desktop.datasets.importer import ImportOptions, import_annotations
from vru_desktop.datasets.imports import list_imports, remove_import
from vru_desktop.errors import ConflictError, DuplicateError, NotFoundError, ValidationError
from vru_desktop.library.importer import import_paths
from vru_desktop.store.db import Database
from vru_desktop.store.models import Annotation, ReviewedFrame

pytestmark = pytest.mark.usefixtures("backend")

# MOT17-02 gt.txt (shared mot17_mini): pedestrian 88 + person on vehicle 12 + static person 28 rows.
MOT17_02_BOXES = 128


def boxes_per_video(db: Database) -> dict[int, int]:
    with db.session() as session:
        return dict(
            session.execute(
                select(Annotation.video_id, func.count(Annotation.id))
                .where(Annotation.outside.is_(False))
                .group_by(Annotation.video_id)
            ).all()
        )


def reviewed(db: Database, video_id: int) -> set[int]:
    with db.session() as session:
        return set(
            session.scalars(select(ReviewedFrame.frame_number).where(ReviewedFrame.video_id == video_id))
        )


@pytest.fixture
def mot17(db: Database, shared_data: Path) -> tuple[Path, dict[str, int]]:
    mot = shared_data / "mot17_mini"
    outcomes = import_paths(db, [mot / "videos"])
    return mot / "train", {o.path.name.split("_first")[0]: o.video_id for o in outcomes}


def test_gt_txt_then_its_folder_is_refused_and_changes_nothing(db: Database, mot17) -> None:
    train, ids = mot17
    first = import_annotations(db, "mot", train / "MOT17-02-FRCNN" / "gt" / "gt.txt")
    assert first.boxes == MOT17_02_BOXES
    before = boxes_per_video(db)
    with pytest.raises(DuplicateError) as refused:
        import_annotations(db, "mot", train)
    message = str(refused.value)
    assert (
        f"(video {ids['MOT17-02-FRCNN']}) already holds {MOT17_02_BOXES} of these {MOT17_02_BOXES}" in message
    )
    assert f"import {first.import_id} (mot, {train / 'MOT17-02-FRCNN' / 'gt' / 'gt.txt'}" in message
    assert "--replace" in message and "--append" in message
    assert boxes_per_video(db) == before == {ids["MOT17-02-FRCNN"]: MOT17_02_BOXES}
    assert [r.id for r in list_imports(db)] == [first.import_id]


def test_replace_swaps_the_earlier_import_and_append_keeps_both(db: Database, mot17) -> None:
    train, ids = mot17
    first = import_annotations(db, "mot", train / "MOT17-02-FRCNN" / "gt" / "gt.txt")
    folder = import_annotations(db, "mot", train, ImportOptions(on_duplicate="replace"))
    assert folder.replaced == [first.import_id]
    counts = boxes_per_video(db)
    assert counts[ids["MOT17-02-FRCNN"]] == MOT17_02_BOXES and len(counts) == 7
    [record] = list_imports(db)
    assert record.id == folder.import_id and record.mode == "replace" and len(record.videos) == 7
    assert reviewed(db, ids["MOT17-02-FRCNN"]) == {0, 1, 2, 3}

    again = import_annotations(db, "mot", train / "MOT17-02-FRCNN", ImportOptions(on_duplicate="append"))
    assert boxes_per_video(db)[ids["MOT17-02-FRCNN"]] == 2 * MOT17_02_BOXES
    assert [r.mode for r in list_imports(db)] == ["replace", "append"]
    # the appended copy goes as a unit; the frames stay reviewed (the folder import marked them)
    assert remove_import(db, again.import_id) == MOT17_02_BOXES
    assert boxes_per_video(db)[ids["MOT17-02-FRCNN"]] == MOT17_02_BOXES
    assert reviewed(db, ids["MOT17-02-FRCNN"]) == {0, 1, 2, 3}


def test_the_same_content_from_another_place_is_recognised(db: Database, mot17, tmp_path: Path) -> None:
    train, _ = mot17
    copy = tmp_path / "copy" / "gt" / "gt.txt"
    copy.parent.mkdir(parents=True)
    copy.write_bytes((train / "MOT17-02-FRCNN" / "gt" / "gt.txt").read_bytes())
    first = import_annotations(db, "mot", train / "MOT17-02-FRCNN")
    with pytest.raises(DuplicateError):
        import_annotations(db, "mot", copy, ImportOptions(video_id=first.videos[0].video_id))
    [record] = list_imports(db)
    assert len(record.fingerprint) == 64 and record.videos[0].boxes == MOT17_02_BOXES


def test_removing_an_import_takes_back_its_boxes_and_only_its_reviewed_frames(
    db: Database, make_video, tmp_path: Path
) -> None:
    [outcome] = import_paths(db, [make_video("walk.mp4", frames=6, size=(64, 48))])
    video = outcome.video_id
    with db.transaction() as session:
        session.add(ReviewedFrame(video_id=video, frame_number=5))
    gt = tmp_path / "walk" / "gt" / "gt.txt"
    gt.parent.mkdir(parents=True)
    gt.write_text("1,1,1,1,5,5,1,1,1\n2,1,2,1,5,5,1,1,1\n")
    result = import_annotations(db, "mot", gt, ImportOptions(video_id=video))
    assert reviewed(db, video) == set(range(6))
    assert remove_import(db, result.import_id) == 2
    assert boxes_per_video(db) == {} and reviewed(db, video) == {5}
    assert list_imports(db) == []
    with pytest.raises(NotFoundError, match="Import 99 does not exist"):
        remove_import(db, 99)


def test_delete_annotations_by_class_source_and_frames(db: Database, mot17) -> None:
    train, ids = mot17
    video = ids["MOT17-02-FRCNN"]
    result = import_annotations(
        db, "mot", train / "MOT17-02-FRCNN", ImportOptions(mapping={"person_on_vehicle": "cyclist"})
    )
    with db.session() as session:
        rows = list(session.scalars(select(Annotation).where(Annotation.video_id == video)))
    cyclists_on_2_3 = sum(1 for a in rows if a.vru_type == "cyclist" and a.frame_number in (2, 3))
    assert cyclists_on_2_3 > 0
    which = BoxFilter(video, vru_type="cyclist", import_id=result.import_id, frames=(2, 3))
    assert delete_annotations(db, which) == cyclists_on_2_3
    assert delete_annotations(db, BoxFilter(video, source="manual")) == 0
    assert delete_annotations(db, BoxFilter(video, source="import:mot")) == len(rows) - cyclists_on_2_3
    assert boxes_per_video(db) == {}
    assert parse_frame_range("7") == (7, 7) and parse_frame_range(" 0 - 99 ") == (0, 99)
    with pytest.raises(ValidationError, match="ends before it starts"):
        parse_frame_range("9-3")
    with pytest.raises(NotFoundError, match="Import 42"):
        delete_annotations(db, BoxFilter(video, import_id=42))


def test_cli_imports_remove_import_and_delete_annotations(
    data_dir: Path, make_video, tmp_path: Path, capsys
) -> None:
    clip = make_video("walk.mp4", frames=5, size=(64, 48))
    cli = ["--data-dir", str(data_dir)]
    assert main([*cli, "import", str(clip)]) == 0
    gt = tmp_path / "walk" / "gt" / "gt.txt"
    gt.parent.mkdir(parents=True)
    gt.write_text("1,1,1,1,5,5,1,1,1\n3,2,2,1,5,5,1,1,1\n4,3,2,2,5,5,1,1,1\n")
    assert main([*cli, "import-annotations", "--format", "mot", str(gt)]) == 0
    capsys.readouterr()
    assert main([*cli, "import-annotations", "--format", "mot", str(gt.parent.parent)]) == 1
    assert "already holds 3 of these 3 boxes, from import 1" in capsys.readouterr().err
    assert main([*cli, "import-annotations", "--format", "mot", str(gt), "--append", "--replace"]) == 2
    assert main([*cli, "import-annotations", "--format", "mot", str(gt), "--append", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["import_id"] == 2
    assert main([*cli, "imports", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["id"], r["mode"], r["boxes"], r["videos"][0]["boxes_now"]) for r in listed] == [
        (1, "new", 3, 3),
        (2, "append", 3, 3),
    ]
    assert main([*cli, "delete-annotations", "--video", "1", "--source", "2", "--frames", "2-3"]) == 0
    assert "deleted 2 annotation rows" in capsys.readouterr().out
    assert main([*cli, "imports"]) == 0
    assert "walk.mp4 (video 1) 1/3" in capsys.readouterr().out
    assert main([*cli, "remove-import", "2"]) == 0
    assert "1 annotation rows deleted" in capsys.readouterr().out
    assert main([*cli, "delete-annotations", "--video", "1", "--frames", "x"]) == 1
    assert "Frame range 'x'" in capsys.readouterr().err
    assert main([*cli, "delete-annotations", "--video", "1", "--class", "pedestrian"]) == 0
    assert "deleted 3 annotation rows" in capsys.readouterr().out


def test_boxes_imported_before_imports_were_recorded_count_too(db: Database, mot17) -> None:
    from sqlalchemy import delete, update

    from vru_desktop.store.models import AnnotationImport

    train, ids = mot17
    sequence = train / "MOT17-02-FRCNN"
    import_annotations(db, "mot", sequence)
    with db.transaction() as session:  # a library from before this release: boxes without a record
        session.execute(update(Annotation).values(import_id=None))
        session.execute(delete(AnnotationImport))
    with pytest.raises(DuplicateError, match="from an import made before imports were recorded"):
        import_annotations(db, "mot", sequence)
    result = import_annotations(db, "mot", sequence, ImportOptions(on_duplicate="replace"))
    assert result.replaced == [] and boxes_per_video(db) == {ids["MOT17-02-FRCNN"]: MOT17_02_BOXES}
    with db.session() as session:
        assert set(session.scalars(select(Annotation.import_id))) == {result.import_id}


def test_undo_after_the_import_was_removed_brings_the_box_back_on_its_own(
    db: Database, make_video, tmp_path: Path
) -> None:
    from vru_desktop.annotations.editor import AnnotationEditor

    [outcome] = import_paths(db, [make_video("walk.mp4", frames=3, size=(64, 48))])
    gt = tmp_path / "walk" / "gt" / "gt.txt"
    gt.parent.mkdir(parents=True)
    gt.write_text("1,-1,1,1,5,5,1,1,1\n")
    result = import_annotations(db, "mot", gt, ImportOptions(video_id=outcome.video_id))
    editor = AnnotationEditor(db, outcome.video_id)
    [box] = editor.frame_annotations(0)
    editor.move_box(box.id, (2, 2, 8, 8))
    remove_import(db, result.import_id)
    # Removing the import deleted the box after the editor moved it: undo asks first.
    with pytest.raises(ConflictError, match=f"Box {box.id} on frame 0 was deleted") as caught:
        editor.undo()
    editor.take_theirs(caught.value, write_over=True)
    assert editor.undo()
    with db.session() as session:
        [row] = session.scalars(select(Annotation))
    assert row.bounding_box == (1, 1, 6, 6) and row.import_id is None


def test_the_same_content_twice_in_one_dataset_is_refused(db: Database, mot17, tmp_path: Path) -> None:
    train, ids = mot17
    folder = tmp_path / "two"
    for name in ("MOT17-02-FRCNN", "MOT17-02-FRCNN-copy"):
        gt = folder / name / "gt" / "gt.txt"
        gt.parent.mkdir(parents=True)
        gt.write_bytes((train / "MOT17-02-FRCNN" / "gt" / "gt.txt").read_bytes())
    with pytest.raises(DuplicateError, match="'MOT17-02-FRCNN' and 'MOT17-02-FRCNN-copy' hold the same"):
        import_annotations(db, "mot", folder, ImportOptions(video_id=ids["MOT17-02-FRCNN"]))
    assert boxes_per_video(db) == {}
