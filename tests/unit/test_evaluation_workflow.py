"""Session statistics, the link repair, device events, the report and the CLI on a real database."""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import select
from test_evaluation_metrics import build_scene

from vru_desktop.cli import main
from vru_desktop.errors import FormatError, NotFoundError, ValidationError
from vru_desktop.evaluation.events import evaluate_events, import_device_events, parse_event_log
from vru_desktop.evaluation.report import write_report
from vru_desktop.evaluation.run import evaluate_run
from vru_desktop.evaluation.statistics import (
    compute_statistics,
    get_statistics,
    link_detection_events,
    mark_stale,
)
from vru_desktop.store.db import Database
from vru_desktop.store.models import Annotation, DetectionEvent, SessionStatistics, TestSession

pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture
def run_id(db: Database, tmp_path: Path) -> int:
    return build_scene(db, tmp_path)


def _video_id(db: Database, run_id: int) -> int:
    with db.session() as s:
        return s.get(TestSession, run_id).video_id


def test_statistics_computed_cached_and_recomputed_when_stale(db: Database, run_id: int) -> None:
    stats = compute_statistics(db, run_id)
    assert stats.total_detections == 20
    assert stats.detections_by_type == {"cyclist": 6, "pedestrian": 14}
    assert stats.total_annotations == 21
    assert stats.annotations_by_type == {"cyclist": 10, "pedestrian": 11}
    assert stats.detection_accuracy == pytest.approx(26 / 37)  # F1 at 0.25: TP 13, FP 4, FN 7
    assert stats.extra["precision"] == pytest.approx(13 / 17) and not stats.stale

    # A new ground-truth box: the editor marks the statistics stale; reading them recomputes.
    with db.transaction() as s:
        s.add(
            Annotation(
                video_id=_video_id(db, run_id),
                frame_number=8,
                vru_type="pedestrian",
                validated=True,
                x1=700,
                y1=300,
                x2=740,
                y2=380,
            )
        )
    assert get_statistics(db, run_id).total_annotations == 21  # still cached: nobody said stale
    assert mark_stale(db, _video_id(db, run_id)) == 1
    with db.session() as s:
        assert s.get(SessionStatistics, run_id).stale
    fresh = get_statistics(db, run_id)
    assert fresh.total_annotations == 22 and not fresh.stale
    assert fresh.detection_accuracy == pytest.approx(26 / 38)


def test_link_repair_links_matching_unlinked_annotations(db: Database, run_id: int) -> None:
    result = link_detection_events(db, run_id)
    with db.session() as s:
        links = dict(
            s.execute(
                select(Annotation.id, Annotation.detection_event_id).where(
                    Annotation.detection_event_id.is_not(None)
                )
            ).all()
        )
        events = {e.id: e for e in s.scalars(select(DetectionEvent))}
        anns = {a.id: a for a in s.scalars(select(Annotation).where(Annotation.id.in_(links)))}
    # A on frames 2–9 and frame 50, B on frames 0 and 5–9, the in-region box, the crowd detection
    # inside the crowd box is too small (IoU 0.32) to link.
    assert result.linked == len(links) == 9 + 6 + 1
    assert len(set(links.values())) == len(links)  # one to one
    for ann_id, event_id in links.items():
        assert anns[ann_id].frame_number == events[event_id].frame_number
    # The duplicate on frame 4 did not take A's link from the better detection.
    frame4 = next(a for a in anns.values() if a.frame_number == 4)
    assert events[links[frame4.id]].confidence == 0.9
    again = link_detection_events(db, run_id)
    assert again.linked == 0


def test_device_events_loose_fields_and_validation(db: Database, run_id: int, tmp_path: Path) -> None:
    video_id = _video_id(db, run_id)
    csv_path = tmp_path / "device.csv"
    csv_path.write_text(
        "Event-ID;Time_ms;VRU Type;Score;videoId\n"
        f"e1;150;Pedestrian;0.9;{video_id}\n"  # hits both tracks (0.0–0.9 s) at 0.15 s
        f"e2;5000;cyclist;0.8;{video_id}\n"  # 5 s: far from reviewed frames, not judged
        f"e3;400;cyclist;0.7;{video_id + 1}\n"  # another video: skipped
        f"e4;950;scooter;0.6;{video_id}\n"  # 0.95 s: within tolerance 0.1 of the tracks' end (0.9 s)
    )
    assert import_device_events(db, video_id, csv_path) == 3
    assert import_device_events(db, video_id, csv_path) == 3  # replaced, not doubled
    result = evaluate_events(db, video_id, tolerance=0.1)
    document = result.to_dict()
    # Two tracks, and the untracked boxes on frames 3 (crowd) and 7 (in the ignore region).
    assert document["episodes"] == 4
    assert document["hits"] == 2 and document["latency_s"]["max"] == pytest.approx(0.15)
    assert (document["events_judged"], document["events_not_judged"], document["false_alarms"]) == (2, 1, 0)
    typed = evaluate_events(db, video_id, tolerance=0.1, match_type=True)
    assert typed.false_alarms == 1 and typed.false_alarms_per_hour == pytest.approx(3600.0)

    json_path = tmp_path / "device.json"
    json_path.write_text(json.dumps({"events": [{"ts": "00:00.5", "class": "bicycle rider", "id": 7}]}))
    (event,) = parse_event_log(json_path)
    assert (event.timestamp, event.vru_type, event.external_id) == (0.5, "bicycle_rider", "7")
    bad = tmp_path / "bad.csv"
    bad.write_text("when,type\n1,pedestrian\n")
    with pytest.raises(FormatError, match="no time field"):
        import_device_events(db, video_id, bad)
    bad.write_text("time,type\n1,pedestrian\nsoon,cyclist\n")
    with pytest.raises(FormatError, match="row 3"):
        import_device_events(db, video_id, bad)
    with pytest.raises(ValidationError, match="negative"):
        evaluate_events(db, video_id, tolerance=-1)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href") and value and not value.startswith(("#", "data:")):
                self.external.append(value)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_report_is_one_self_contained_file(db: Database, run_id: int, tmp_path: Path) -> None:
    with db.transaction() as s:
        s.get(TestSession, run_id).provenance = {
            "model_sha256": "ab" * 32,
            "libraries": {"ultralytics": "8.4"},
        }
    out = write_report(evaluate_run(db, run_id), tmp_path / "report.html")
    parser = _Collector()
    parser.feed(out.read_text(encoding="utf-8"))
    text = " ".join(parser.text)
    assert parser.tags.count("svg") == 3 and "polyline" in parser.tags
    assert not parser.external
    assert "ab" * 32 in text and "scene-fingerprint" in text and "ultralytics" in text
    assert "log-average miss rate" in text
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")] == []
    with pytest.raises(ValidationError, match=r"\.html"):
        write_report(evaluate_run(db, run_id), tmp_path / "report.txt")


def test_report_opens_in_a_browser(db: Database, run_id: int, tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no Chromium to render the report with (the HTML parser test still checks it)")
    out = write_report(evaluate_run(db, run_id), tmp_path / "report.html")
    dom = subprocess.run(
        [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--dump-dom", out.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert dom.count("<svg") == 3 and "Validation report: run" in dom and "scene.mp4" in dom


def test_cli(
    db: Database, data_dir: Path, run_id: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--data-dir", str(data_dir)]
    assert main([*base, "evaluate", str(run_id), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["thresholds"]["overall"] == {
        "tp": 13,
        "fp": 4,
        "fn": 7,
        "precision": 13 / 17,
        "recall": 13 / 20,
        "f1": 26 / 37,
    }
    assert main([*base, "evaluate", str(run_id), "--conf", "0.5", "--iou", "0.3"]) == 0
    assert "overall" in capsys.readouterr().out
    assert main([*base, "evaluate", "999"]) == 1
    assert "no detection run 999" in capsys.readouterr().err
    assert main([*base, "evaluate", str(run_id), "--iou", "2"]) == 2
    capsys.readouterr()

    out = tmp_path / "r.html"
    assert main([*base, "report", str(run_id), "--out", str(out)]) == 0 and out.stat().st_size > 2000
    assert main([*base, "statistics", str(run_id), "--recalculate"]) == 0
    assert "linked 16 annotations" in capsys.readouterr().out
    events = tmp_path / "events.json"
    events.write_text(json.dumps([{"timestamp": 0.3, "type": "pedestrian"}]))
    video_id = str(_video_id(db, run_id))
    assert main([*base, "import-device-events", video_id, str(events)]) == 0
    assert main([*base, "evaluate-events", video_id, "--json"]) == 0
    assert json.loads(capsys.readouterr().out.split("\n", 1)[1])["hits"] == 4
    assert main([*base, "report", str(run_id), "--out", str(out), "--tolerance", "0.5"]) == 0
    assert "Device events (event-level validation)" in out.read_text(encoding="utf-8")
    assert main([*base, "import-device-events", "999", str(events)]) == 1


def test_cli_evaluate_coco(shared_data: Path, capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    folder = shared_data / "coco_val2014_100_fakebbox"
    gt, results = folder / "instances_val2014_100.json", folder / "instances_val2014_fakebbox100_results.json"
    assert main(["--data-dir", str(data_dir), "evaluate-coco", str(gt), str(results)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("= 0.505") and lines[1].endswith("= 0.697") and len(lines) == 12
    assert main(["--data-dir", str(data_dir), "evaluate-coco", str(gt), str(results), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["stats"]["AR100"] == pytest.approx(
        0.595352982877607, abs=1e-12
    )
    assert main(["--data-dir", str(data_dir), "evaluate-coco", str(results), str(gt)]) == 1
    assert "not a COCO instances file" in capsys.readouterr().err


def test_missing_run_statistics(db: Database) -> None:
    with pytest.raises(NotFoundError, match="no detection run 42"):
        get_statistics(db, 42)
    with pytest.raises(NotFoundError, match="no detection run 42"):
        link_detection_events(db, 42)


def test_compare_two_runs(
    db: Database, run_id: int, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from test_evaluation_metrics import A

    from vru_desktop.evaluation.compare import compare_runs

    video_id = _video_id(db, run_id)
    with db.transaction() as s:
        new = TestSession(video_id=video_id, config={"conf": 0.25}, status="completed")
        s.add(new)
        s.flush()
        boxes = [(f, A, 0.9) for f in range(10)] + [(6, (100, 300, 140, 380), 0.5)]
        for frame, box, conf in boxes:
            s.add(
                DetectionEvent(
                    session_id=new.id,
                    video_id=video_id,
                    frame_number=frame,
                    timestamp=frame / 10,
                    vru_type="pedestrian",
                    confidence=conf,
                    x1=box[0],
                    y1=box[1],
                    x2=box[2],
                    y2=box[3],
                )
            )
        new_id = new.id
    result = compare_runs(evaluate_run(db, run_id), evaluate_run(db, new_id))
    assert main(["--data-dir", str(data_dir), "compare-runs", str(run_id), str(new_id), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"] == result.to_dict()["counts"]
    counts = result.to_dict()["counts"]
    assert counts == {
        "missed by new": 5,  # cyclist B on frames 5–9
        "found by new": 2,  # pedestrian A on frames 0 and 1
        "new false positive": 1,
        "false positive removed": 4,
    }
    assert (result.base_tp, result.new_tp, result.base_fp, result.new_fp) == (13, 10, 4, 1)
    first = result.differences[0]
    assert (first.kind, first.frame, first.vru_type) == ("found by new", 0, "pedestrian")
    with pytest.raises(ValidationError, match="same IoU"):
        compare_runs(evaluate_run(db, run_id), evaluate_run(db, new_id, iou=0.3))
