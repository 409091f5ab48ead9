"""Malformed values, encodings, file kinds and sizes in annotation and device-event files get a
one-line error naming the file, the place and the value; nothing is written and memory stays small."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from vru_desktop.cli import main
from vru_desktop.datasets.importer import ImportOptions, import_annotations
from vru_desktop.errors import FormatError, NotFoundError, ValidationError
from vru_desktop.evaluation.coco import load_coco
from vru_desktop.evaluation.events import evaluate_events, import_device_events
from vru_desktop.library.importer import import_paths
from vru_desktop.store.db import Database
from vru_desktop.store.models import Annotation, DeviceEvent, ReviewedFrame, Video

FRAMES = 6
Files = dict[str, str | bytes]


def written(db: Database) -> tuple[int, int, int, int]:
    with db.session() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Annotation, ReviewedFrame, DeviceEvent, Video)
        )


@pytest.fixture
def video(db: Database, make_video) -> int:
    [outcome] = import_paths(db, [make_video("clip.mp4", frames=FRAMES, size=(64, 48))])
    return outcome.video_id


def make_files(root: Path, files: Files) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


# -- the generated sweep ---------------------------------------------------------------------------
# Each case: a format, its files (the first one is what the import is pointed at, YOLO: the folder),
# and the error expected (a regex, searched after the file name) or None where the input is valid.
JSON_BAD = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", '"abc"', "null", "true", "[1]"]
TEXT_BAD = ["nan", "inf", "-inf", "1e400", "-1e400", "abc"]


def coco(bbox: str = "[1, 1, 5, 5]", image: str = '"width": 64, "height": 48', **extra: str) -> Files:
    images = extra.get("images", f'[{{"id": 1, "file_name": "clip_000002.jpg", {image}}}]')
    attributes = extra.get("attributes", "{}")
    return {
        "a.json": f'{{"images": {images}, "categories": [{{"id": 1, "name": "person"}}], "annotations": '
        f'[{{"id": 1, "image_id": 1, "category_id": 1, "bbox": {bbox}, "attributes": {attributes}}}]}}'
    }


def yolo(
    line: str = "0 0.5 0.5 0.2 0.2", label: str = "labels/a/f_000001.txt", **names: str | bytes
) -> Files:
    return {label: line + "\n", **(names or {"obj.names": "person\n"})}


def mot(row: str = "1,1,1,1,5,5,1,1,1", **extra: str | bytes) -> Files:
    return {"gt/gt.txt": row + "\n", **extra}


def cvat(box: str = "frame='1' xtl='1' ytl='1' xbr='5' ybr='5'", meta: str = "") -> Files:
    return {
        "a.xml": f"<annotations><meta><task>{meta}</task></meta><track id='3' label='person'>"
        f"<box {box} outside='0' keyframe='1'/></track></annotations>"
    }


def label_studio(value: str = '"x": 10, "y": 10, "width": 5, "height": 5', result: str = "") -> Files:
    result = result or (f'{{"type": "rectanglelabels", "value": {{{value}, "rectanglelabels": ["person"]}}}}')
    return {
        "ls.json": f'[{{"id": 9, "data": {{"image": "/data/clip_000002.jpg"}}, '
        f'"annotations": [{{"id": 1, "result": [{result}]}}]}}]'
    }


def ls_video(sequence: str, frames_count: int = FRAMES) -> Files:
    value = f'"sequence": [{sequence}], "labels": ["person"], "framesCount": {frames_count}'
    return {
        "ls.json": f'[{{"id": 9, "data": {{"video": "/data/clip.mp4"}}, "annotations": [{{"id": 1, '
        f'"result": [{{"type": "videorectangle", "value": {{{value}}}}}]}}]}}]'
    }


def key(frame: object) -> str:
    return f'{{"frame": {frame}, "enabled": true, "x": 1, "y": 1, "width": 5, "height": 5}}'


UTF16_YAML = "names: [person]\n".encode("utf-16")
LATIN1 = "caf\xe9\n".encode("latin-1")

CASES: list[tuple[str, str, Files, str | None]] = [
    ("coco-valid", "coco", coco(), None),
    *[
        (f"coco-bbox-{v}", "coco", coco(f"[{v}, 1, 5, 5]"), r"annotations\[0\]: bbox\[0\] .*number")
        for v in JSON_BAD
    ],
    *[
        (f"coco-width-{v}", "coco", coco(image=f'"width": {v}, "height": 48'), r"images\[0\]: width")
        for v in [*JSON_BAD, "0", "-64"]
    ],
    ("coco-images-number", "coco", coco(images="5"), r"'images' must be a list, not 5"),
    ("coco-images-text", "coco", coco(images='"x"'), r"'images' must be a list"),
    (
        "coco-attributes-list",
        "coco",
        coco(attributes="[1, 2]"),
        r"'attributes' must be an object, not \[1, 2\]",
    ),
    (
        "coco-id-text",
        "coco",
        coco(images='[{"id": "one", "file_name": "a_1.jpg"}]'),
        r"images\[0\]: id 'one'",
    ),
    ("coco-json-nested", "coco", {"a.json": "[" * 100_000}, r"nested too deeply"),
    ("coco-utf16", "coco", {"a.json": coco()["a.json"].encode("utf-16")}, None),
    (
        "coco-latin1",
        "coco",
        {"a.json": b'{"images": [], "annotations": [], "x": "caf\xe9"}'},
        r"not UTF-8 text",
    ),
    ("yolo-valid", "yolo", yolo(), None),
    *[(f"yolo-cx-{v}", "yolo", yolo(f"0 {v} 0.5 0.2 0.2"), rf"f_000001\.txt:1: cx '{v}'") for v in TEXT_BAD],
    *[(f"yolo-class-{v}", "yolo", yolo(f"{v} 0.5 0.5 0.2 0.2"), r"f_000001\.txt:1: class") for v in TEXT_BAD],
    (
        "yolo-cx-huge",
        "yolo",
        yolo("0 1e307 0.5 0.2 0.2"),
        r"ds: a box of 'f / a' on frame 1 lies more than 1e\+09 pixels",
    ),
    (
        "coco-bbox-overflow",
        "coco",
        coco("[1e308, 1, 1e308, 5]"),
        r"a\.json: a box .* on frame 2 lies more than",
    ),
    ("yolo-yaml-utf16", "yolo", yolo(**{"data.yaml": UTF16_YAML}), None),
    ("yolo-yaml-latin1", "yolo", yolo(**{"data.yaml": b"names: [caf\xe9]\n"}), r"data\.yaml: not UTF-8 text"),
    ("yolo-yaml-utf16-no-bom", "yolo", yolo(**{"data.yaml": "names: [a]\n".encode("utf-16-le")}), r"NUL"),
    (
        "yolo-yaml-key-null",
        "yolo",
        yolo(**{"data.yaml": "names: {null: a}\n"}),
        r"names: class number None is not",
    ),
    (
        "yolo-yaml-key-half",
        "yolo",
        yolo(**{"data.yaml": "names: {0.5: a}\n"}),
        r"class number 0\.5 is not a whole",
    ),
    ("yolo-yaml-nested-name", "yolo", yolo(**{"data.yaml": "names: [[a, b]]\n"}), r"class name \['a', 'b'\]"),
    (
        "yolo-objdata-utf16",
        "yolo",
        yolo(**{"obj.data": "names = obj.names\n".encode("utf-16"), "obj.names": "person\n"}),
        None,
    ),
    ("yolo-objdata-latin1", "yolo", yolo(**{"obj.data": b"names = caf\xe9\n"}), r"obj\.data: not UTF-8"),
    ("yolo-frame-far", "yolo", yolo(label="labels/a/f_20000000.txt"), r"past the end .* frame 20000000"),
    ("mot-valid", "mot", mot(), None),
    *[(f"mot-x-{v}", "mot", mot(f"1,1,{v},1,5,5,1,1,1"), rf"gt\.txt:1: x '{v}'") for v in TEXT_BAD],
    *[(f"mot-frame-{v}", "mot", mot(f"{v},1,1,1,5,5,1,1,1"), r"gt\.txt:1: frame") for v in TEXT_BAD],
    ("mot-frame-far", "mot", mot("20000000,1,1,1,5,5,1,1,1"), r"past the end .* frame 19999999"),
    ("mot-seqinfo-utf16", "mot", mot(**{"seqinfo.ini": "[Sequence]\nseqLength=6\n".encode("utf-16")}), None),
    (
        "mot-seqinfo-latin1",
        "mot",
        mot(**{"seqinfo.ini": b"[Sequence]\nname=caf\xe9\n"}),
        r"seqinfo\.ini: not UTF-8",
    ),
    (
        "mot-seqinfo-no-header",
        "mot",
        mot(**{"seqinfo.ini": "seqLength=6\n"}),
        r"seqinfo\.ini: not a valid INI .* line 1",
    ),
    (
        "mot-seqinfo-width-0",
        "mot",
        mot(**{"seqinfo.ini": "[Sequence]\nimWidth=0\nimHeight=48\n"}),
        r"imWidth '0' must be",
    ),
    (
        "mot-seqinfo-length-text",
        "mot",
        mot(**{"seqinfo.ini": "[Sequence]\nseqLength=six\n"}),
        r"seqLength 'six'",
    ),
    ("mot-seqinfo-length-huge", "mot", mot(**{"seqinfo.ini": "[Sequence]\nseqLength=200000000\n"}), None),
    ("mot-labels-utf16", "mot", mot(**{"gt/labels.txt": "walker\n".encode("utf-16")}), None),
    ("mot-labels-latin1", "mot", mot(**{"gt/labels.txt": LATIN1}), r"labels\.txt: not UTF-8"),
    ("cvat-valid", "cvat", cvat(), None),
    *[
        (f"cvat-xtl-{v}", "cvat", cvat(f"frame='1' xtl='{v}' ytl='1' xbr='5' ybr='5'"), rf"xtl '{v}'")
        for v in TEXT_BAD
    ],
    *[
        (f"cvat-frame-{v}", "cvat", cvat(f"frame='{v}' xtl='1' ytl='1' xbr='5' ybr='5'"), r"#1: frame")
        for v in TEXT_BAD
    ],
    (
        "cvat-frame-negative",
        "cvat",
        cvat("frame='-1' xtl='1' ytl='1' xbr='5' ybr='5'"),
        r"frame -1 is below 0",
    ),
    (
        "cvat-start-negative",
        "cvat",
        cvat(meta="<start_frame>-4</start_frame>"),
        r"<start_frame> -4 is below 0",
    ),
    (
        "cvat-width-text",
        "cvat",
        cvat(meta="<original_size><width>w</width></original_size>"),
        r"<original_size/width> 'w'",
    ),
    ("label-studio-valid", "label-studio", label_studio(), None),
    *[
        (
            f"ls-x-{v}",
            "label-studio",
            label_studio(f'"x": {v}, "y": 10, "width": 5, "height": 5'),
            r"result\[0\]: x ",
        )
        for v in JSON_BAD
    ],
    (
        "ls-rotation-text",
        "label-studio",
        label_studio('"x": 1, "y": 1, "width": 5, "height": 5, "rotation": "r"'),
        r"rotation 'r'",
    ),
    (
        "ls-original-width-text",
        "label-studio",
        label_studio(
            result='{"type": "rectanglelabels", "original_width": "w", "original_height": 48, '
            '"value": {"x": 1, "y": 1, "width": 5, "height": 5, "rectanglelabels": ["person"]}}'
        ),
        r"original_width 'w'",
    ),
    (
        "ls-annotations-number",
        "label-studio",
        {"ls.json": '[{"id": 1, "data": {}, "annotations": 5}]'},
        r"'annotations' must be a list",
    ),
    ("ls-video-frame-inf", "label-studio", ls_video(key("1e400")), r"sequence\[0\]: frame inf"),
    ("ls-video-frames-count-huge", "label-studio", ls_video(key(1), frames_count=10**9), None),
]


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, int]]:
    """One database with one video for the whole sweep (each case checks what it wrote itself)."""
    from conftest import write_video

    from vru_desktop.library.projects import ensure_default_project
    from vru_desktop.store.db import open_database

    folder = tmp_path_factory.mktemp("sweep")
    database = open_database(folder / "vru.sqlite3")
    ensure_default_project(database)
    [outcome] = import_paths(database, [write_video(folder / "clip.mp4", FRAMES, size=(64, 48))])
    yield database, outcome.video_id
    database.close()


@pytest.mark.parametrize(("fmt", "files", "error"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_importer_refuses_bad_values_on_one_line_and_writes_nothing(
    library: tuple[Database, int], tmp_path: Path, fmt: str, files: Files, error: str | None
) -> None:
    db, video = library
    root = tmp_path / "ds"
    make_files(root, files)
    target = root if fmt == "yolo" else root / next(iter(files))
    before = written(db)
    if error is None:
        # The library is shared by the cases: a valid file may repeat boxes an earlier case imported.
        options = ImportOptions(video_id=video, unmapped="ignore", on_duplicate="append")
        result = import_annotations(db, fmt, target, options)
        assert [v.video_id for v in result.videos] == [video] and result.boxes > 0
        return
    with pytest.raises(FormatError) as caught:
        import_annotations(db, fmt, target, ImportOptions(video_id=video, unmapped="ignore"))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(root)), message  # the file (or the dataset folder) at fault
    assert re.search(error, message), message
    assert written(db) == before


# -- tiny files that would expand beyond any memory ------------------------------------------------
REPO = Path(__file__).resolve().parents[2]
CHILD = textwrap.dedent(
    """
    import json, os, resource, sys
    from vru_desktop.datasets.importer import ImportOptions, import_annotations
    from vru_desktop.errors import VruError
    from vru_desktop.store.db import open_database

    db = open_database(sys.argv[1])
    size = int(open("/proc/self/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (size + 300 * 2**20, resource.RLIM_INFINITY))
    for fmt, path in json.loads(sys.argv[2]):
        try:
            result = import_annotations(db, fmt, path, ImportOptions(video_id=1, unmapped="ignore"))
            print(json.dumps({"boxes": result.boxes, "reviewed": result.videos[0].reviewed_frames}))
        except VruError as exc:
            print(json.dumps({"error": str(exc)}))
        except MemoryError:
            print(json.dumps({"error": "MemoryError"}))
    """
)


#: Under 400 bytes; ``names`` would be 9**9 strings once aliases are expanded.
ALIAS_BOMB = (
    "a: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "names: *i\n"
)


def test_tiny_files_that_would_expand_past_the_video_are_bounded_in_small_memory(
    db: Database, video: int, tmp_path: Path
) -> None:
    box = "xtl='1' ytl='1' xbr='5' ybr='5' outside='0' keyframe='1'"
    cases: dict[str, tuple[str, Files]] = {
        "cvat-far-keyframes": (
            "cvat",
            {
                "a.xml": f"<annotations><track id='0' label='person'><box frame='0' {box}/>"
                f"<box frame='20000000' {box}/></track></annotations>"
            },
        ),
        "cvat-stop-frame": (
            "cvat",
            {
                "a.xml": "<annotations><meta><task><stop_frame>200000000</stop_frame></task></meta>"
                f"<track id='0' label='person'><box frame='1' {box}/></track></annotations>"
            },
        ),
        "ls-far-keyframes": ("label-studio", ls_video(f"{key(1)}, {key(2_000_000)}", frames_count=3_000_000)),
        "yaml-aliases": ("yolo", yolo(**{"data.yaml": ALIAS_BOMB})),
    }
    targets = []
    for name, (fmt, files) in cases.items():
        make_files(tmp_path / name, files)
        targets.append((fmt, str(tmp_path / name / (next(iter(files)) if fmt != "yolo" else ""))))
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(db.path), json.dumps(targets)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=True,
    )
    results = dict(zip(cases, map(json.loads, child.stdout.splitlines()), strict=True))
    assert (
        "past the end of video 1 'clip.mp4' (6 frames), the first on frame 20000000"
        in (results["cvat-far-keyframes"]["error"])
    )
    assert results["cvat-stop-frame"] == {"boxes": FRAMES - 1, "reviewed": FRAMES}
    assert "the first on frame 1999999" in results["ls-far-keyframes"]["error"]
    assert "data.yaml: line 2: YAML aliases (*name) are not accepted" in results["yaml-aliases"]["error"]
    with db.session() as session:  # only the valid task was stored
        assert session.scalar(select(func.count()).select_from(Annotation)) == FRAMES - 1


# -- links, file kinds, names ----------------------------------------------------------------------
def test_links_out_of_the_dataset_are_refused_without_showing_their_content(
    db: Database, video: int, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("0 0.5 SECRET-CONTENT 0.2 0.2\n[Sequence]\nSECRET=1\n")
    root = tmp_path / "yolo"
    make_files(root, yolo())
    (root / "labels" / "a" / "f_000002.txt").symlink_to(secret)
    coco_root = tmp_path / "coco"
    make_files(coco_root, coco())
    (coco_root / "b.json").symlink_to(secret)
    mot_root = tmp_path / "mot"
    make_files(mot_root, mot())
    (mot_root / "seqinfo.ini").symlink_to(secret)
    for fmt, path, link in (
        ("yolo", root, root / "labels" / "a" / "f_000002.txt"),
        ("coco", coco_root, coco_root / "b.json"),
        ("mot", mot_root, mot_root / "seqinfo.ini"),
    ):
        with pytest.raises(FormatError, match="a link to a file outside the dataset folder") as caught:
            import_annotations(db, fmt, path, ImportOptions(video_id=video))
        assert str(caught.value).startswith(str(link)) and "SECRET" not in str(caught.value)
    assert written(db) == (0, 0, 0, 1)


@pytest.fixture
def odd_files(tmp_path: Path) -> dict[str, Path]:
    """Paths that are no regular file, and what each is."""
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    return {
        "a device, not a regular file": Path("/dev/zero"),
        "a pipe (FIFO), not a regular file": fifo,
        "a loop of symbolic links": loop,
        "file not found": tmp_path / "nowhere.json",
    }


def test_files_that_are_no_regular_file_get_their_true_reason(
    db: Database, video: int, odd_files: dict[str, Path]
) -> None:
    for reason, path in odd_files.items():
        with pytest.raises(FormatError, match=re.escape(f"{path}: {reason}")):
            import_annotations(db, "coco", path, ImportOptions(video_id=video))
        with pytest.raises(NotFoundError, match=re.escape(f"{path}: {reason}")):
            import_device_events(db, video, path)
        with pytest.raises(NotFoundError, match=re.escape(f"{path}: {reason}")):
            load_coco(path, [])
        [outcome] = import_paths(db, [path])
        assert outcome.status == "refused" and f"{path}: {reason}" in outcome.message
    assert written(db) == (0, 0, 0, 1)


def test_a_newline_in_a_file_name_stays_on_one_line(
    data_dir: Path, tmp_path: Path, make_video, capsys
) -> None:
    assert main(["--data-dir", str(data_dir), "import", str(make_video("clip.mp4", frames=FRAMES))]) == 0
    make_files(tmp_path / "walk\nseq", mot())
    argv = ["--data-dir", str(data_dir), "import-annotations", "--format", "mot", "--video", "1"]
    capsys.readouterr()
    assert main([*argv, str(tmp_path / "walk\nseq")]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 2 and "walk\\nseq" in out, out
    bad = tmp_path / "bad\nname.json"
    bad.write_text("{")
    assert main(["--data-dir", str(data_dir), "import-annotations", "--format", "coco", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad\\nname.json: invalid JSON at line 1" in err
    assert main(["--data-dir", str(data_dir), "import", str(bad), str(tmp_path / "x\ny.mp4")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and all(line.startswith("refused") for line in out), out


def test_database_failures_are_one_line_without_sql(
    db: Database, video: int, data_dir: Path, make_video, tmp_path: Path, capsys
) -> None:
    with db.engine.begin() as connection:
        for table in ("annotations", "videos"):
            connection.execute(
                text(
                    f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'the disk said no'); END"
                )
            )
    make_files(tmp_path / "ds", mot())
    argv = ["--data-dir", str(data_dir), "import-annotations", "--format", "mot", str(tmp_path / "ds")]
    assert main([*argv, "--video", str(video)]) == 1
    err = capsys.readouterr().err
    assert err == "error: The database failed: the disk said no.\n"
    [outcome] = import_paths(db, [make_video("other.mp4", frames=3)])
    assert (
        outcome.status == "refused" and outcome.message == "other.mp4: The database failed: the disk said no."
    )


# -- device events and command-line numbers --------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"time,type\r\n1.5,pedestrian\r\n\xff", r"not UTF-8 text \(byte 27 is 0xff\)"),
        (b"time,type\n0.5,cyclist\nnan,pedestrian\n", r"row 3: time .*'nan' is not a finite number"),
        (b"time,type\n1e400,pedestrian\n", r"row 2: time .*'1e400' is not a finite number"),
        (b"time,type\n1:inf,pedestrian\n", r"row 2: time .*'inf' is not a finite number"),
        (b"time,type\n1e308:0,pedestrian\n", r"row 2: time '1e308:0' is too large"),
        (b"time,type,score\n1,pedestrian,NaN\n", r"row 2: confidence 'NaN' is not a finite number"),
        (b'[{"time": 1e400}]', r"item 1: time .*inf is not a finite number"),
        (b'[{"time": 1, "confidence": [0.5]}]', r"item 1: confidence \[0.5\] is not a number"),
        (b'time,type\n1,"' + b"x" * 200_000 + b'"\n', r"line 2: not valid CSV"),
        ("time,type\n1,pi\xe9ton\n".encode("latin-1"), r"not UTF-8 text"),
    ],
)
def test_bad_device_event_logs_are_refused_on_one_line(
    db: Database, video: int, tmp_path: Path, content: bytes, error: str
) -> None:
    path = tmp_path / ("events.json" if content.startswith(b"[") else "events.csv")
    path.write_bytes(content)
    with pytest.raises(FormatError) as caught:
        import_device_events(db, video, path)
    assert "\n" not in str(caught.value) and path.name in str(caught.value)
    assert re.search(error, str(caught.value)), str(caught.value)
    assert written(db) == (0, 0, 0, 1)


def test_utf16_device_event_log_is_read(db: Database, video: int, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_bytes("time;type\r\n0.5;piéton\r\n1.25;cyclist\r\n".encode("utf-16"))
    assert import_device_events(db, video, path) == 2


@pytest.mark.parametrize(
    "argv",
    [
        ["evaluate-events", "1", "--tolerance", "nan"],
        ["import-device-events", "1", "events.csv", "--offset", "inf"],
        ["detect", "1", "--conf", "NaN"],
        ["campaign", "create", "C", "--videos", "1", "--iou", "nan"],
        ["evaluate", "1", "--iou=-inf"],
        ["import", "clip.mp4", "--fps", "1e400"],
    ],
)
def test_non_finite_numbers_on_the_command_line_are_a_usage_error(
    data_dir: Path, argv: list[str], capsys
) -> None:
    assert main(["--data-dir", str(data_dir), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a finite number" in err, err


def test_core_refuses_a_non_finite_tolerance_or_offset(db: Database, video: int, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="tolerance nan"):
        evaluate_events(db, video, tolerance=float("nan"))
    with pytest.raises(ValidationError, match="offset inf"):
        import_device_events(db, video, tmp_path / "e.csv", offset=float("inf"))


def test_ignore_region_files_are_read_as_other_text_files(data_dir: Path, tmp_path: Path, capsys) -> None:
    regions = tmp_path / "regions.json"
    regions.write_bytes("[[[0, 0], [10, 0], [10, 10]]]".encode("utf-16"))
    assert main(["--data-dir", str(data_dir), "ignore-regions", "Default", "--set", str(regions)]) == 0
    assert json.loads(capsys.readouterr().out) == [[[0, 0], [10, 0], [10, 10]]]
    assert main(["--data-dir", str(data_dir), "ignore-regions", "Default", "--set", "/dev/zero"]) == 2
    assert capsys.readouterr().err == "error: /dev/zero: a device, not a regular file.\n"
    regions.write_text("[" * 100_000)
    assert main(["--data-dir", str(data_dir), "ignore-regions", "Default", "--set", str(regions)]) == 1
    assert capsys.readouterr().err == "error: Ignore regions are nested too deeply to be polygons.\n"
