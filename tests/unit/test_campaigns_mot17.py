"""A campaign end to end on real data: two MOT17 clips with their ground truth and the shared
OpenVINO detector, through the command line (create, run, evaluate, gate, a second campaign that
reuses every run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vru_desktop.cli import main
from vru_desktop.datasets.importer import ImportOptions, import_annotations
from vru_desktop.library.importer import import_paths
from vru_desktop.store.models import TestSession

pytestmark = pytest.mark.slow

SEQUENCES = {"MOT17-05-FRCNN": 6, "MOT17-09-FRCNN": 4}


def test_campaign_on_mot17_with_the_openvino_model(
    db: Any,
    data_dir: Path,
    shared_data: Path,
    shared_models: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("YOLO_OFFLINE", "1")
    root = shared_data / "mot17_mini"
    videos = []
    for sequence, frames in SEQUENCES.items():
        (outcome,) = import_paths(db, [root / "videos" / f"{sequence}_first{frames}.mp4"])
        import_annotations(
            db, "mot", root / "train" / sequence, ImportOptions(video_id=outcome.video_id, unmapped="ignore")
        )
        videos.append(str(outcome.video_id))
    model = str(shared_models / "yolo11n_int8_openvino_model")

    def cli(*args: str) -> tuple[int, str]:
        capsys.readouterr()
        code = main(["--data-dir", str(data_dir), *args])
        return code, capsys.readouterr().out

    config = ["--model", model, "--stride", "2", "--imgsz", "320", "--conf", "0.25"]
    assert cli("campaign", "create", "mot", "--videos", *videos, *config, "--require", "recall>=0.05")[0] == 0
    code, out = cli("campaign", "run", "mot", "--json")
    run = json.loads(out)
    assert code == 0 and run["status"] == "completed" and len(run["runs"]) == 2
    assert not any(v["reused"] for v in run["videos"])
    code, out = cli("campaign", "evaluate", "mot", "--json", "--resamples", "200")
    scores = json.loads(out)["protocols"]["default"]
    assert scores["videos_scored"] == 2 and scores["excluded"] == []
    # stride 2: frames 0, 2, 4 of the 6-frame clip and 0, 2 of the 4-frame one
    assert scores["reviewed_frames"] == 5
    assert 0 < scores["metrics"]["recall"] <= 1 and scores["metrics"]["ap50"] > 0
    assert (
        scores["intervals"]["recall"]["low"]
        <= scores["metrics"]["recall"]
        <= scores["intervals"]["recall"]["high"]
    )
    assert cli("campaign", "gate", "mot")[0] == 0

    with db.session() as s:
        runs_before = s.query(TestSession).count()
    assert cli("campaign", "create", "mot again", "--videos", *videos, *config)[0] == 0
    code, out = cli("campaign", "run", "mot again", "--json")
    again = json.loads(out)
    assert code == 0 and again["runs"] == [] and all(v["reused"] for v in again["videos"])
    with db.session() as s:
        assert s.query(TestSession).count() == runs_before
    code, out = cli("campaign", "evaluate", "mot again", "--json", "--resamples", "200")
    assert json.loads(out)["protocols"]["default"]["metrics"] == scores["metrics"]

    # The same model at a higher confidence: its detections are the ones above 0.6, and greedy
    # matching never lets a lower-scored detection change a higher one's match, so it cannot find a
    # track the 0.25 campaign misses nor add a false positive; the other way round it can.
    strict = [*config[:-1], "0.6"]
    assert cli("campaign", "create", "strict", "--videos", *videos, *strict)[0] == 0
    assert cli("campaign", "run", "strict", "--json")[0] == 0
    code, out = cli("campaign", "compare", "mot", "strict", "--json", "--resamples", "50")
    forward = json.loads(out)
    assert code == 0 and forward["paired"]
    assert forward["tracks"]["missed_by_base"] == [] and forward["false_positives_added"]["count"] == 0
    backward = json.loads(cli("campaign", "compare", "strict", "mot", "--json", "--resamples", "50")[1])
    assert backward["tracks"] == {
        "missed_by_new": [],
        "missed_by_base": forward["tracks"]["missed_by_new"],
    }
    added = backward["false_positives_added"]
    fp = backward["metrics"]["fp"]
    assert added["count"] <= fp["new"] - fp["base"] and len(added["items"]) == added["count"]
    assert all(item["score"] < 0.6 for item in added["items"])
    assert [i["score"] for i in added["items"]] == sorted((i["score"] for i in added["items"]), reverse=True)
