"""Bad input gets an error naming the file and the place, and nothing is written; the CLI and mapping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from vru_desktop.cli import main
from vru_desktop.datasets.importer import ImportOptions, import_annotations
from vru_desktop.datasets.mapping import ClassMapping, parse_map_options
from vru_desktop.errors import FormatError, NotFoundError, UsageError, ValidationError
from vru_desktop.library.importer import import_paths
from vru_desktop.store.db import Database
from vru_desktop.store.models import Annotation, ReviewedFrame


def counts(db: Database) -> tuple[int, int]:
    with db.session() as session:
        return (
            session.scalar(select(func.count()).select_from(Annotation)) or 0,
            session.scalar(select(func.count()).select_from(ReviewedFrame)) or 0,
        )


@pytest.fixture
def video(db: Database, make_video) -> int:
    [outcome] = import_paths(db, [make_video("clip.mp4", frames=6, size=(64, 48))])
    return outcome.video_id


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("fmt", "name", "content", "message"),
    [
        ("mot", "gt/gt.txt", "1,1,1,1,5,5,1,1,1\n2,1,x,1,5,5,1,1,1\n", r"gt\.txt:2: .*not a number"),
        (
            "mot",
            "gt/gt.txt",
            "1,1,1,1,5,5,1,1,1\n0,1,1,1,5,5,1,1,1\n",
            r"gt\.txt:2: frame 0; MOT frames start at 1",
        ),
        ("yolo", "labels/a/f_000001.txt", "0 0.5 0.5 0.2\n", r"f_000001\.txt:1: expected 'class cx cy w h'"),
        (
            "yolo",
            "labels/a/f_000001.txt",
            "0 0.5 0.5 0.2 0.2\n7 0.5 0.5 0.2 0.2\n",
            r"\.txt:2: class 7 is not",
        ),
        (
            "coco",
            "ann.json",
            '{"images": [], "annotations": [\n  {"id": 1,}\n]}',
            r"ann\.json: invalid JSON at line 2",
        ),
        (
            "cvat",
            "a.xml",
            "<annotations><track id='0' label='person'><box frame='1'></track>",
            r"a\.xml: invalid XML",
        ),
        (
            "cvat",
            "a.xml",
            "<annotations><track id='3' label='person'><box frame='1' xtl='1' ytl='1' xbr='q' ybr='4'/>"
            "</track></annotations>",
            r"<track id=\"3\"> <box> #1: xbr 'q' is not a number",
        ),
        ("label-studio", "ls.json", '[{"id": 4}]', r"ls\.json: task #1: not a Label Studio task"),
    ],
)
def test_malformed_files_name_the_place_and_write_nothing(
    db: Database, video: int, tmp_path: Path, fmt: str, name: str, content: str, message: str
) -> None:
    root = tmp_path / "ds"
    path = write(root / name, content)
    if fmt == "yolo":
        write(root / "obj.names", "person\n")
    # a valid part before the bad line must not be stored either
    with pytest.raises(FormatError, match=message):
        import_annotations(db, fmt, path if fmt != "yolo" else root, ImportOptions(video_id=video))
    assert counts(db) == (0, 0)


def test_paths_escaping_the_dataset_are_refused(db: Database, video: int, tmp_path: Path) -> None:
    coco = {
        "images": [{"id": 1, "file_name": "../../etc/frame_000001.jpg", "width": 64, "height": 48}],
        "annotations": [],
        "categories": [{"id": 1, "name": "person"}],
    }
    path = write(tmp_path / "c" / "a.json", json.dumps(coco))
    with pytest.raises(FormatError, match="points outside the dataset folder"):
        import_annotations(db, "coco", path, ImportOptions(video_id=video))
    coco["images"][0]["file_name"] = "/abs/frame_000001.jpg"
    path.write_text(json.dumps(coco))
    with pytest.raises(FormatError, match="outside the dataset folder"):
        import_annotations(db, "coco", path, ImportOptions(video_id=video))
    root = tmp_path / "darknet"
    write(root / "obj.names", "person\n")
    write(root / "obj.data", "classes = 1\ntrain = data/train.txt\nnames = data/obj.names\n")
    write(root / "train.txt", "data/obj_train_data/000001.jpg\n../../secret/000002.jpg\n")
    write(root / "obj_train_data" / "000001.txt", "0 0.5 0.5 0.2 0.2\n")
    with pytest.raises(FormatError, match=r"train\.txt:2: .*outside the dataset folder"):
        import_annotations(db, "yolo", root, ImportOptions(video_id=video))
    write(
        tmp_path / "x.xml", "<annotations><image id='0' name='../0.jpg' width='4' height='4'/></annotations>"
    )
    with pytest.raises(FormatError, match=r"<image> #1: file name '\.\./0\.jpg' points outside"):
        import_annotations(db, "cvat", tmp_path / "x.xml", ImportOptions(video_id=video))
    assert counts(db) == (0, 0)


def test_unmapped_classes_are_listed_or_ignored_and_mapping_is_remembered(
    db: Database, video: int, tmp_path: Path
) -> None:
    root = tmp_path / "y"
    write(root / "classes.txt", "person\nkangaroo\nwombat\ncar\n")
    write(root / "labels" / "f_000002.txt", "0 .5 .5 .2 .2\n1 .5 .5 .2 .2\n2 .5 .5 .2 .2\n3 .5 .5 .2 .2\n")
    with pytest.raises(ValidationError, match="'kangaroo', 'wombat'"):
        import_annotations(db, "yolo", root, ImportOptions(video_id=video))
    assert counts(db) == (0, 0)
    result = import_annotations(db, "yolo", root, ImportOptions(video_id=video, unmapped="ignore"))
    assert result.boxes == 1  # person → pedestrian; car is left out by default
    assert result.mapping == {"person": "pedestrian", "kangaroo": None, "wombat": None, "car": None}
    again = ImportOptions(
        video_id=video, mapping={"kangaroo": "cyclist"}, unmapped="ignore", on_duplicate="replace"
    )
    assert import_annotations(db, "yolo", root, again).replaced == [result.import_id]
    remembered = ClassMapping.for_source(db, "yolo", root)
    assert remembered.target("kangaroo") == "cyclist" and remembered.unmapped(["kangaroo", "wombat"]) == [
        "wombat"
    ]


def test_proposals_are_unvalidated_and_mark_nothing_reviewed(
    db: Database, video: int, tmp_path: Path
) -> None:
    path = write(tmp_path / "m" / "gt" / "gt.txt", "1,1,1,1,5,5,1,1,1\n2,1,2,1,5,5,1,1,1\n")
    result = import_annotations(db, "mot", path, ImportOptions(video_id=video, ground_truth=False))
    assert result.boxes == 2
    with db.session() as session:
        assert not any(a.validated for a in session.scalars(select(Annotation)))
    assert counts(db) == (2, 0)


def test_pairing_by_name_needs_a_video(db: Database, video: int, tmp_path: Path) -> None:
    path = write(tmp_path / "other" / "gt" / "gt.txt", "1,1,1,1,5,5,1,1,1\n")
    with pytest.raises(NotFoundError, match="No library video for: other"):
        import_annotations(db, "mot", path)


def test_map_options() -> None:
    assert parse_map_options(["Person=pedestrian", "car=ignore", "a=b=cyclist"]) == {
        "Person": "pedestrian",
        "car": None,
        "a=b": "cyclist",
    }
    with pytest.raises(UsageError, match="'spaceship' is not a VRU type"):
        parse_map_options(["x=spaceship"])


def test_cli_export_and_import(data_dir: Path, make_video, tmp_path: Path, capsys) -> None:
    clip = make_video("walk.mp4", frames=5, size=(64, 48))
    assert main(["--data-dir", str(data_dir), "import", str(clip)]) == 0
    gt = write(tmp_path / "walk" / "gt" / "gt.txt", "1,1,1,1,5,5,1,1,1\n3,2,2,1,5,5,1,2,1\n")
    write(tmp_path / "walk" / "gt" / "labels.txt", "walker\nrider\n")
    capsys.readouterr()
    assert (
        main(
            [
                "--data-dir",
                str(data_dir),
                "import-annotations",
                "--format",
                "mot",
                str(gt),
                "--json",
                "--map",
                "rider=cyclist",
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["boxes"] == 2 and summary["mapping"] == {"walker": "pedestrian", "rider": "cyclist"}
    out = tmp_path / "coco_out"
    assert (
        main(
            [
                "--data-dir",
                str(data_dir),
                "export",
                "--format",
                "coco",
                "--out",
                str(out),
                "--video",
                "1",
                "--json",
            ]
        )
        == 0
    )
    exported = json.loads(capsys.readouterr().out)
    assert exported["annotations"] == 2 and exported["images"] == 5
    # exit codes: 1 for a refused export, 2 for a usage error
    assert (
        main(["--data-dir", str(data_dir), "export", "--format", "coco", "--out", str(out), "--video", "1"])
        == 1
    )
    assert "already holds files" in capsys.readouterr().err
    assert main(["--data-dir", str(data_dir), "export", "--format", "pascal", "--out", str(out)]) == 2
    assert (
        main(
            ["--data-dir", str(data_dir), "import-annotations", "--format", "mot", str(gt), "--map", "rider"]
        )
        == 2
    )


def test_a_failed_import_with_its_videos_leaves_no_video_behind(
    db: Database, make_video, tmp_path: Path
) -> None:
    from vru_desktop.store.models import Video

    clip = make_video("MOT17-02-FRCNN.mp4", 5)
    gt = write(tmp_path / "ds" / "gt" / "gt.txt", "1,1,1,1,5,5,1,1,1\n2,1,x,1,5,5,1,1,1\n")
    with pytest.raises(FormatError, match=r"gt\.txt:2: .*not a number"):
        import_annotations(db, "mot", gt, ImportOptions(media=[str(clip)]))
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Video)) == 0
    assert counts(db) == (0, 0)

    # a video that was already in the library stays there
    (outcome,) = import_paths(db, [clip])
    with pytest.raises(FormatError):
        import_annotations(db, "mot", gt, ImportOptions(media=[str(clip)]))
    with db.session() as session:
        assert list(session.scalars(select(Video.id))) == [outcome.video_id]
