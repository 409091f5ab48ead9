"""Comparing campaigns beyond pooled metrics: ground-truth tracks one run finds and the other
misses, false positives the new run adds, device-event metrics pooled over the suite and gated,
the comparison report, and refusals of bad input. Every expected value is built by hand."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from conftest import campaign_event

from vru_desktop.campaigns import compare as compare_module
from vru_desktop.campaigns.compare import compare_campaigns, gate_campaign
from vru_desktop.campaigns.definition import create_campaign, launch_campaign
from vru_desktop.campaigns.report import COMPARISON_SCHEMA_FILE
from vru_desktop.campaigns.scoring import primary, score_campaign
from vru_desktop.cli import main
from vru_desktop.detection.models import file_sha256
from vru_desktop.detection.pipeline import RunConfig
from vru_desktop.errors import NotFoundError, ValidationError
from vru_desktop.library.importer import import_paths
from vru_desktop.store.models import Annotation, DetectorModel, ReviewedFrame, TestSession, Video

BASE_CONF, NEW_CONF = 0.3, 0.4
Box = tuple[float, float, float, float]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], data_dir: Path) -> Any:
    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--data-dir", str(data_dir), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def model_id(db: Any, tmp_path: Path) -> int:
    path = tmp_path / "detector.onnx"
    path.write_bytes(b"a detector model, for tests only")
    with db.transaction() as s:
        model = DetectorModel(name="detector.onnx", path=str(path), sha256=file_sha256(path), format="onnx")
        s.add(model)
        s.flush()
        return model.id


def _video(db: Any, make_video: Any, name: str, frames: int, fps: float = 25.0) -> int:
    (outcome,) = import_paths(db, [make_video(name, frames=frames, fps=fps, size=(320, 240))])
    return outcome.video_id


def _ground_truth(
    db: Any, video_id: int, frames: range, boxes: list[tuple[int, str, int | None, Box]]
) -> None:
    """Review ``frames``; ``boxes``: ``(frame, type, track id, (x, y, w, h))``."""
    with db.transaction() as s:
        s.add_all(ReviewedFrame(video_id=video_id, frame_number=f) for f in frames)
        for frame, kind, track, (x, y, w, h) in boxes:
            s.add(
                Annotation(
                    video_id=video_id,
                    frame_number=frame,
                    vru_type=kind,
                    validated=True,
                    track_id=track,
                    x1=x,
                    y1=y,
                    x2=x + w,
                    y2=y + h,
                )
            )


def _run(
    db: Any, video_id: int, model_id: int, conf: float, detections: list[tuple[int, str, float, Box]]
) -> int:
    """A completed run of ``model_id`` at ``conf``; ``detections``: ``(frame, type, score, box)``."""
    with db.transaction() as s:
        sha = s.get(DetectorModel, model_id).sha256
        run = TestSession(
            video_id=video_id,
            model_id=model_id,
            config=RunConfig(conf=conf).to_dict(),
            provenance={"model_sha256": sha},
            status="completed",
            progress=1.0,
        )
        s.add(run)
        s.flush()
        s.add_all(campaign_event(run, video_id, f, kind, score, *box) for f, kind, score, box in detections)
        return run.id


def _campaign(db: Any, name: str, model_id: int, conf: float, videos: list[int], **kwargs: Any) -> None:
    create_campaign(db, name, model_id, RunConfig(conf=conf), video_ids=videos, **kwargs)
    assert launch_campaign(db, name) == []  # every run is the hand-made one, reused


T1, T2, T3 = (10.0, 10.0, 40.0, 80.0), (200.0, 50.0, 50.0, 90.0), (120.0, 100.0, 30.0, 70.0)
FAR = (250.0, 200.0, 30.0, 30.0)


@pytest.fixture
def pair(db: Any, make_video: Any, model_id: int) -> dict[str, Any]:
    """Campaign ``base`` (conf 0.3) on videos a, b, c and ``new`` (conf 0.4) on a and c.

    Video a: track 1 (frames 0-3) found by base only, track 2 (frames 2-5) found by new only (base's
    one match scores below its threshold), track 3 found by both, one box without a track that
    only base finds. False positives: base one at frame 1; new one near it (not added), one far from
    it in the same frame (added), one at frame 3 (added), one under its threshold (not counted).
    Video c: its only track is found by both. Video b is base's alone, its missed track not compared.
    """
    a, b, c = (_video(db, make_video, f"{n}.mp4", frames) for n, frames in (("a", 6), ("b", 7), ("c", 8)))
    _ground_truth(
        db,
        a,
        range(6),
        [(f, "pedestrian", 1, T1) for f in range(4)]
        + [(f, "cyclist", 2, T2) for f in range(2, 6)]
        + [(f, "pedestrian", 3, T3) for f in range(6)]
        + [(5, "pedestrian", None, (10.0, 150.0, 20.0, 50.0))],
    )
    _ground_truth(db, b, range(7), [(f, "pedestrian", 7, T1) for f in range(7)])
    _ground_truth(db, c, range(8), [(f, "cyclist", 4, T2) for f in range(8)])
    _run(
        db,
        a,
        model_id,
        BASE_CONF,
        [
            (2, "pedestrian", 0.9, T1),
            (4, "cyclist", 0.2, T2),
            (0, "pedestrian", 0.8, T3),
            (5, "pedestrian", 0.7, (10.0, 150.0, 20.0, 50.0)),
            (1, "cyclist", 0.8, (150.0, 180.0, 40.0, 40.0)),
        ],
    )
    _run(
        db,
        a,
        model_id,
        NEW_CONF,
        [
            (4, "cyclist", 0.5, T2),
            (1, "pedestrian", 0.6, T3),
            (1, "pedestrian", 0.7, (152.0, 182.0, 40.0, 40.0)),
            (1, "cyclist", 0.95, FAR),
            (3, "pedestrian", 0.6, (100.0, 10.0, 50.0, 50.0)),
            (4, "pedestrian", 0.35, FAR),
        ],
    )
    _run(db, b, model_id, BASE_CONF, [])
    _run(db, c, model_id, BASE_CONF, [(0, "cyclist", 0.9, T2)])
    _run(db, c, model_id, NEW_CONF, [(3, "cyclist", 0.9, T2)])
    _campaign(db, "base", model_id, BASE_CONF, [a, b, c])
    _campaign(db, "new", model_id, NEW_CONF, [a, c])
    with db.session() as s:
        fingerprints = {v: s.get(Video, v).fingerprint for v in (a, b, c)}
    return {"a": a, "b": b, "c": c, "fingerprints": fingerprints}


def _track(video: dict[str, Any], track_id: int, kind: str, first: int, frames: int) -> dict[str, Any]:
    return video | {"track_id": track_id, "class": kind, "first_frame": first, "frames": frames}


def test_tracks_missed_and_false_positives_added_are_the_hand_made_ones(
    db: Any, pair: dict[str, Any]
) -> None:
    a = pair["a"]
    video = {"fingerprint": pair["fingerprints"][a], "filename": "a.mp4", "video_id": a}
    result = compare_campaigns(db, "base", "new", resamples=20)
    assert result["tracks"] == {
        "missed_by_new": [_track(video, 1, "pedestrian", 0, 4)],
        "missed_by_base": [_track(video, 2, "cyclist", 2, 4)],
    }
    assert result["false_positives_added"] == {
        "count": 2,
        "items": [
            video | {"frame": 1, "box": list(FAR), "score": 0.95, "class": "cyclist"},
            video | {"frame": 3, "box": [100.0, 10.0, 50.0, 50.0], "score": 0.6, "class": "pedestrian"},
        ],
    }
    swapped = compare_campaigns(db, "new", "base", resamples=20)
    assert swapped["tracks"]["missed_by_new"] == result["tracks"]["missed_by_base"]
    assert swapped["tracks"]["missed_by_base"] == result["tracks"]["missed_by_new"]
    # base's one false positive has new's right beside it: base adds none
    assert swapped["false_positives_added"] == {"count": 0, "items": []}
    assert result["only_in_base"] == [pair["fingerprints"][pair["b"]]] and not result["paired"]


def test_added_false_positives_are_capped_best_first_and_counted_whole(
    db: Any, pair: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compare_module, "ADDED_FALSE_POSITIVES_LISTED", 1)
    added = compare_campaigns(db, "base", "new", resamples=0)["false_positives_added"]
    assert added["count"] == 2 and [i["score"] for i in added["items"]] == [0.95]


def test_campaigns_without_a_video_in_common_compare_unpaired(
    db: Any, make_video: Any, model_id: int, cli: Any
) -> None:
    first, second = _video(db, make_video, "x.mp4", 5), _video(db, make_video, "y.mp4", 6)
    for video in (first, second):
        _ground_truth(db, video, range(5), [(f, "pedestrian", 1, T1) for f in range(5)])
    _run(db, first, model_id, BASE_CONF, [(0, "pedestrian", 0.9, T1)])
    _run(db, second, model_id, NEW_CONF, [(0, "cyclist", 0.9, FAR)])
    _campaign(db, "x", model_id, BASE_CONF, [first])
    _campaign(db, "y", model_id, NEW_CONF, [second])
    code, out, _ = cli("campaign", "compare", "x", "y", "--resamples", "20")
    assert code == 0 and "unpaired" in out and "no video in common" in out
    result = json.loads(cli("campaign", "compare", "x", "y", "--resamples", "20", "--json")[1])
    assert result["tracks"] == {"missed_by_new": [], "missed_by_base": []}
    assert result["false_positives_added"] == {"count": 0, "items": []}
    assert result["metrics"]["recall"]["delta"] == pytest.approx(0 / 5 - 1 / 5)  # x finds 1 of 5 boxes


def test_compare_and_gate_refuse_unknown_and_unscored_campaigns(
    db: Any, pair: dict[str, Any], model_id: int, cli: Any
) -> None:
    create_campaign(db, "never run", model_id, RunConfig(conf=0.5), video_ids=[pair["a"]])
    with pytest.raises(ValidationError, match=r"'never run' has no video to score \(a.mp4: no run yet"):
        compare_campaigns(db, "base", "never run", resamples=0)
    with pytest.raises(NotFoundError):
        compare_campaigns(db, "nope", "base", resamples=0)
    for args in (("compare", "base", "nope"), ("compare", "never run", "base"), ("gate", "never run")):
        code, out, err = cli("campaign", *args)
        assert code == 1 and out == "" and "Traceback" not in err
        assert ("nope" in err) if "nope" in args else ("no video to score" in err and "campaign run" in err)
    assert cli("campaign", "compare", "base")[0] == 2
    code, _, err = cli("campaign", "compare", "base", "new", "--report", "out.txt")
    assert code == 1 and "should end in .html" in err


def _events(folder: Path, name: str, times: list[float]) -> Path:
    path = folder / name
    path.write_text("timestamp,type\n" + "".join(f"{t},pedestrian\n" for t in times))
    return path


def test_device_events_pool_over_the_suite_and_gate(
    db: Any, make_video: Any, model_id: int, tmp_path: Path, cli: Any
) -> None:
    """Two videos with device events, 60 reviewed frames at 10 fps each (12 s together), one video
    without: the pooled false alarms per hour and latency percentile are the two videos' together."""
    from vru_desktop.evaluation.events import import_device_events

    first, second, third = (_video(db, make_video, f"e{i}.mp4", 60 + i, fps=10.0) for i in range(3))
    _ground_truth(
        db,
        first,
        range(60),
        [(f, "pedestrian", 1, T1) for f in range(10)] + [(f, "pedestrian", 2, T3) for f in range(40, 50)],
    )
    _ground_truth(db, second, range(60), [(f, "cyclist", 5, T2) for f in range(10, 20)])
    _ground_truth(db, third, range(60), [(f, "cyclist", 5, T2) for f in range(60)])
    for video in (first, second, third):
        _run(db, video, model_id, BASE_CONF, [])
    # latency 0.3 s for track 1; a false alarm at 2.5 s (more than 1 s from any presence); 0.6 s
    # for track 2; 0.1 s for the second video's track
    import_device_events(db, first, _events(tmp_path, "first.csv", [0.3, 2.5, 4.6]))
    import_device_events(db, second, _events(tmp_path, "second.csv", [1.1]))
    _campaign(
        db,
        "device",
        model_id,
        BASE_CONF,
        [first, second, third],
        requirements=["false_alarms_per_hour<=1", "ttfd_p95<=0.6", "event_hit_rate>=1"],
    )
    scores = primary(score_campaign(db, "device", resamples=0))
    metrics = scores["metrics"]
    assert metrics["false_alarms_per_hour"] == pytest.approx(1 / (12 / 3600))
    assert metrics["ttfd_p95"] == pytest.approx(np.percentile([0.3, 0.6, 0.1], 95))
    assert metrics["ttfd_p95"] == pytest.approx(0.57)
    assert metrics["event_hit_rate"] == 1.0
    pooled = scores["device_events"]
    assert (pooled["videos"], pooled["episodes"], pooled["hits"], pooled["false_alarms"]) == (2, 3, 3, 1)
    per_video = {v["video_id"]: v for v in scores["per_video"]}
    assert per_video[first]["false_alarms_per_hour"] == pytest.approx(1 / (6 / 3600))
    assert per_video[second]["ttfd_p95"] == pytest.approx(0.1)
    assert per_video[third]["false_alarms_per_hour"] is None
    code, out, _ = cli("campaign", "gate", "device")
    assert code == 1
    assert "FAILED false_alarms_per_hour<=1: 300.000" in out
    assert "ok     ttfd_p95<=0.6" in out and "ok     event_hit_rate>=1" in out
    code, _, _ = cli(
        "campaign", "report", "device", "--out", str(tmp_path / "device.html"), "--resamples", "0"
    )
    html = (tmp_path / "device.html").read_text(encoding="utf-8")
    assert code == 0 and "Device events" in html and "<td>false alarms per hour</td><td>300.0</td>" in html
    checks = {c["requirement"]: c["passed"] for c in gate_campaign(db, "device")["checks"]}
    assert checks == {"false_alarms_per_hour<=1": False, "ttfd_p95<=0.6": True, "event_hit_rate>=1": True}


def test_campaign_without_device_events_has_no_event_metrics(db: Any, pair: dict[str, Any]) -> None:
    scores = primary(score_campaign(db, "new", resamples=0))
    assert scores["device_events"] is None
    assert {
        k: scores["metrics"][k] for k in ("false_alarms_per_hour", "ttfd_p95", "event_hit_rate")
    } == dict.fromkeys(("false_alarms_per_hour", "ttfd_p95", "event_hit_rate"))


def test_comparison_report_is_self_contained_valid_and_equals_the_comparison(
    db: Any, pair: dict[str, Any], cli: Any, tmp_path: Path
) -> None:
    out = tmp_path / "cmp.html"
    code, printed, _ = cli(
        "campaign", "compare", "base", "new", "--resamples", "30", "--seed", "3", "--report", str(out)
    )
    assert code == 0 and str(out) in printed
    html = out.read_text(encoding="utf-8")
    assert not re.search(r"https?://", html) and not re.search(r"\b(src|href)\s*=", html)
    assert "<svg" in html and "a.mp4" in html
    document = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    schema = json.loads(COMPARISON_SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.validate(document, schema)
    expected = json.loads(json.dumps(compare_campaigns(db, "base", "new", resamples=30, seed=3)))
    assert document["comparison"] == expected
    provenance = document["provenance"]
    assert provenance["bootstrap"] == {"resamples": 30, "seed": 3, "level": 0.95}
    base, new = provenance["campaigns"]["base"], provenance["campaigns"]["new"]
    with db.session() as s:
        sha = s.get(DetectorModel, base["model"]["id"]).sha256
    assert base["model"]["sha256"] == new["model"]["sha256"] == sha
    assert base["config"]["conf"] == BASE_CONF and new["config"]["conf"] == NEW_CONF
    assert [v["filename"] for v in base["videos"]] == ["a.mp4", "b.mp4", "c.mp4"]
    assert all(len(v["fingerprint"]) > 8 for v in base["videos"] + new["videos"])
    assert base["protocols"][0]["name"] == "default"
    assert provenance["versions"]["vru_desktop"]
    # the recall delta and its interval are written as numbers in the page
    recall = expected["metrics"]["recall"]
    assert f"{recall['delta']:+.3f}" in html
    # a report file that cannot be written is refused, the comparison is not printed half
    code, _, err = cli("campaign", "compare", "base", "new", "--report", str(tmp_path / "missing" / "r.html"))
    assert code == 1 and "does not exist" in err
