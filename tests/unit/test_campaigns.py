"""Campaigns: creation and its refusals, launch with reuse, pooled scoring against pycocotools,
exclusion, bootstrap intervals, compare and gate (core and CLI)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import CAMPAIGN_CONF as CONF
from conftest import campaign_event as _event

from vru_desktop.campaigns.bootstrap import BootstrapInput, intervals, values
from vru_desktop.campaigns.definition import (
    create_campaign,
    delete_campaign,
    get_campaign,
    launch_campaign,
)
from vru_desktop.campaigns.report import render_campaign_report
from vru_desktop.campaigns.scoring import load_suite, pool, primary, score_campaign
from vru_desktop.cli import main
from vru_desktop.detection.pipeline import RunConfig
from vru_desktop.errors import DuplicateError, NotFoundError, ValidationError
from vru_desktop.evaluation.run import RunEvaluation, height_bins_setting, stable_setting
from vru_desktop.library.projects import ProjectFields, create_project
from vru_desktop.store.models import (
    Campaign,
    CampaignVideo,
    DetectionEvent,
    DetectorModel,
    ReviewedFrame,
    TestSession,
    Video,
)


@pytest.fixture
def suite(campaign_suite: dict[str, Any]) -> dict[str, Any]:
    return campaign_suite


def _campaign(db: Any, suite: dict[str, Any], name: str = "A", **kwargs: Any) -> None:
    create_campaign(db, name, suite["model_id"], RunConfig(conf=CONF), projects=suite["projects"], **kwargs)


def test_launch_reuses_matching_finished_runs_and_says_so(db: Any, suite: dict[str, Any]) -> None:
    _campaign(db, suite)
    assert launch_campaign(db, "A") == []
    info = get_campaign(db, "A")
    assert [v.reused for v in info.videos] == [True] * 4
    assert info.status == "completed"
    # another configuration cannot reuse them: new runs are queued through the run queue
    create_campaign(db, "B", suite["model_id"], RunConfig(conf=0.5), video_ids=suite["videos"][:2])
    queued = launch_campaign(db, "B")
    assert len(queued) == 2
    with db.session() as s:
        assert all(s.get(TestSession, r).status == "created" for r in queued)
    assert [v.reused for v in get_campaign(db, "B").videos] == [False, False]


def test_deleting_a_campaign_keeps_its_runs(db: Any, suite: dict[str, Any]) -> None:
    _campaign(db, suite)
    launch_campaign(db, "A")
    runs = [v.run_id for v in get_campaign(db, "A").videos]
    delete_campaign(db, "A")
    with db.session() as s:
        assert s.query(Campaign).count() == 0 and s.query(CampaignVideo).count() == 0
        assert all(s.get(TestSession, r) is not None for r in runs)


def test_bad_input_is_refused_and_nothing_is_created(db: Any, suite: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="unknown metric 'recal'"):
        _campaign(db, suite, requirements=["recal>=0.9"])
    with pytest.raises(ValidationError, match="Unknown protocol"):
        _campaign(db, suite, protocols=["caltech-reasonable-xyz"])
    create_project(
        db, ProjectFields(name="empty", camera_model="c", camera_view="front", signal_type="video")
    )
    with pytest.raises(ValidationError, match="no videos"):
        create_campaign(db, "E", suite["model_id"], RunConfig(), projects=["empty"])
    with pytest.raises(NotFoundError, match="no model 999"):
        create_campaign(db, "E", 999, RunConfig(), projects=suite["projects"])
    with db.session() as s:
        assert s.query(Campaign).count() == 0 and s.query(CampaignVideo).count() == 0
    _campaign(db, suite)
    with pytest.raises(DuplicateError):
        _campaign(db, suite)


def test_a_changed_or_missing_video_stops_the_launch(db: Any, suite: dict[str, Any]) -> None:
    create_campaign(db, "C", suite["model_id"], RunConfig(conf=0.6), video_ids=suite["videos"][:2])
    with db.session() as s:
        first_path, second_path = (Path(s.get(Video, v).file_path) for v in suite["videos"][:2])
    first_path.write_bytes(first_path.read_bytes()[:-100] + b"x" * 100)  # same place, other content
    with pytest.raises(ValidationError, match="changed content"):
        launch_campaign(db, "C")
    second_path.unlink()
    with pytest.raises(ValidationError, match="missing"):
        launch_campaign(db, "C")
    with db.session() as s:  # nothing was queued
        assert s.query(TestSession).filter(TestSession.status == "created").count() == 0
        assert all(v.session_id is None for v in s.query(CampaignVideo))


def _coco_files(db: Any, suite_input: Any, folder: Path) -> tuple[Path, Path]:
    """The pooled suite as a COCO instances file and result list (image ids unique across videos)."""
    classes: list[str] = []
    for d in suite_input.inputs:
        classes += [c for c in d.classes if c not in classes]
    images, anns, results = [], [], []
    for v, d in enumerate(suite_input.inputs):
        image_id = {int(f): v * 100_000 + int(f) for f in d.reviewed_frames}
        images += [{"id": i, "width": 640, "height": 640} for i in image_id.values()]
        for k in range(len(d.gt)):
            x, y, w, h = d.gt.xywh[k]
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": image_id[int(d.gt.image[k])],
                    "category_id": classes.index(d.classes[d.gt.category[k]]) + 1,
                    "bbox": [x, y, w, h],
                    "area": w * h,
                    "iscrowd": int(d.gt.crowd[k]),
                }
            )
        for k in range(len(d.dt)):
            results.append(
                {
                    "image_id": image_id[int(d.dt.image[k])],
                    "category_id": classes.index(d.classes[d.dt.category[k]]) + 1,
                    "bbox": [float(c) for c in d.dt.xywh[k]],
                    "score": float(d.dt.score[k]),
                }
            )
    gt = {
        "images": images,
        "annotations": anns,
        "categories": [{"id": i + 1, "name": c} for i, c in enumerate(classes)],
    }
    gt_path, dt_path = folder / "gt.json", folder / "dt.json"
    gt_path.write_text(json.dumps(gt))
    dt_path.write_text(json.dumps(results))
    return gt_path, dt_path


def test_pooled_scores_equal_pycocotools_over_the_union_of_videos(
    db: Any, suite: dict[str, Any], tmp_path: Path
) -> None:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    _campaign(db, suite)
    launch_campaign(db, "A")
    scores = primary(score_campaign(db, "A", resamples=50))
    suite_input = load_suite(db, "A")
    gt_path, dt_path = _coco_files(db, suite_input, tmp_path)
    coco_gt = COCO(str(gt_path))
    evaluator = COCOeval(coco_gt, coco_gt.loadRes(str(dt_path)), "bbox")
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    ours = list(scores["coco"].values())
    np.testing.assert_allclose(ours, evaluator.stats, atol=1e-12)
    assert scores["metrics"]["ap"] == pytest.approx(evaluator.stats[0])
    assert scores["reviewed_frames"] == len(coco_gt.getImgIds())
    # per-video and per-class TP/FP/FN add up to the pooled counts (frames of different videos never match)
    for key in ("tp", "fp", "fn"):
        assert sum(c[key] for c in scores["per_class"].values()) == scores["metrics"][key]
    for key in ("tp", "fp", "fn"):
        assert sum(v[key] for v in scores["per_video"]) == scores["metrics"][key]


def test_a_named_protocol_pools_as_evaluate_coco_scores_the_union(
    db: Any, suite: dict[str, Any], tmp_path: Path
) -> None:
    from vru_desktop.evaluation.coco import load_coco
    from vru_desktop.evaluation.protocols import available, evaluate_protocol

    _campaign(db, suite, protocols=["default", "citypersons-all"])
    launch_campaign(db, "A")
    scores = score_campaign(db, "A", resamples=20)
    named = scores["protocols"]["citypersons-all"]
    data = load_coco(*_coco_files(db, load_suite(db, "A"), tmp_path))
    reference = evaluate_protocol(
        available()["citypersons-all"],
        data.gt,
        data.dt,
        data.category_names,
        len(data.image_ids),
        data.gt_conditions,
        data.gt_frame_size,
    )
    assert reference.log_average_miss_rate is not None
    assert named["metrics"]["mr"] == pytest.approx(reference.log_average_miss_rate, abs=1e-12)
    assert named["metrics"]["mr"] != scores["protocols"]["default"]["metrics"]["mr"]
    # the protocol's miss rate has its own interval, resampled under its rules
    assert named["intervals"]["mr"] != scores["protocols"]["default"]["intervals"]["mr"]
    assert named["intervals"]["mr"]["low"] <= named["intervals"]["mr"]["high"]


def test_video_without_reviewed_frames_is_excluded_with_the_reason(db: Any, suite: dict[str, Any]) -> None:
    _campaign(db, suite)
    launch_campaign(db, "A")
    scores = primary(score_campaign(db, "A", resamples=10))
    assert scores["videos_scored"] == 3
    assert [e["video_id"] for e in scores["excluded"]] == [suite["videos"][3]]
    assert scores["excluded"][0]["reason"] == "no reviewed ground truth"
    assert suite["videos"][3] not in [v["video_id"] for v in scores["per_video"]]
    recalls = [v["recall"] for v in scores["per_video"]]
    assert recalls == sorted(recalls)  # worst first
    assert set(scores["slices"]["camera_view"]) == {"front", "rear"}


def test_bootstrap_with_unit_weights_is_the_pooled_result_and_is_reproducible(
    db: Any, suite: dict[str, Any]
) -> None:
    _campaign(db, suite)
    launch_campaign(db, "A")
    suite_input = load_suite(db, "A")
    pooled = pool(suite_input.inputs, conf=CONF)
    result = RunEvaluation(pooled.data, 0.5, CONF, {"all": (0.0, 1e9)})
    boot = BootstrapInput.of(result, pooled)
    unit = values(boot, np.ones((1, len(suite_input.inputs))))
    overall = result.metrics().overall
    assert unit["recall"][0] == pytest.approx(overall.recall)
    assert unit["precision"][0] == pytest.approx(overall.precision)
    assert unit["ap"][0] == pytest.approx(result.coco.stats_dict()["AP"], abs=1e-12)
    assert unit["ap50"][0] == pytest.approx(result.coco.stats_dict()["AP50"], abs=1e-12)
    assert unit["mr"][0] == pytest.approx(result.miss_rates()["all"], abs=1e-12)
    # a doubled video counts twice: the same as pooling it twice
    twice = pool([*suite_input.inputs, suite_input.inputs[0]], conf=CONF)
    doubled = RunEvaluation(twice.data, 0.5, CONF, {"all": (0.0, 1e9)})
    w = np.array([[2.0] + [1.0] * (len(suite_input.inputs) - 1)])
    assert values(boot, w)["recall"][0] == pytest.approx(doubled.metrics().overall.recall)
    assert values(boot, w)["mr"][0] == pytest.approx(doubled.miss_rates()["all"])
    first = primary(score_campaign(db, "A", resamples=200, seed=7))["intervals"]
    again = primary(score_campaign(db, "A", resamples=200, seed=7))["intervals"]
    other = primary(score_campaign(db, "A", resamples=200, seed=8))["intervals"]
    assert first == again and first != other
    for name in ("recall", "precision", "ap", "mr"):
        assert first[name]["low"] <= first[name]["high"]


def test_every_slice_has_the_bootstrap_intervals_of_its_own_videos(db: Any, suite: dict[str, Any]) -> None:
    _campaign(db, suite)
    launch_campaign(db, "A")
    scores = primary(score_campaign(db, "A", resamples=200, seed=7))
    slices = scores["slices"]["camera_view"]
    # front: two scored videos, resampled by hand with the same seed
    suite_input = load_suite(db, "A")
    front = [
        d
        for d, v in zip(suite_input.inputs, suite_input.videos, strict=True)
        if v["camera"]["camera_view"] == "front"
    ]
    assert slices["front"]["videos"] == len(front) == 2
    pooled = pool(front, conf=CONF)
    result = RunEvaluation(pooled.data, 0.5, CONF, height_bins_setting(db), stable_setting(db))
    boot = BootstrapInput.of(result, pooled)
    assert slices["front"]["intervals"] == intervals(boot, resamples=200, seed=7)
    unit = values(boot, np.ones((1, 2)))
    for name in ("recall", "precision", "f1", "ap", "ap50", "mr"):
        assert unit[name][0] == pytest.approx(slices["front"][name], abs=1e-12)
    assert slices["front"]["intervals"]["recall"]["low"] <= slices["front"]["intervals"]["recall"]["high"]
    # one video: no interval
    assert slices["rear"]["videos"] == 1 and slices["rear"]["intervals"] is None
    # a slice of every video is the pooled result
    (every,) = scores["slices"]["signal_type"].values()
    assert every["videos"] == 3 and every["intervals"] == scores["intervals"]
    # reproducible with the seed, and drawn again with another
    assert primary(score_campaign(db, "A", resamples=200, seed=7))["slices"] == scores["slices"]
    (other,) = primary(score_campaign(db, "A", resamples=200, seed=8))["slices"]["signal_type"].values()
    assert other["intervals"] != every["intervals"]
    # per class: the pooled input restricted to the class; all-ones weights give its metrics
    everything = pool(suite_input.inputs, conf=CONF)
    pooled_result = RunEvaluation(everything.data, 0.5, CONF, height_bins_setting(db), stable_setting(db))
    checked = 0
    for k, name in enumerate(everything.data.classes):
        row = scores["per_class"].get(name)
        if row is None or not row["tp"] + row["fn"]:
            continue
        mine = BootstrapInput.of(pooled_result, everything, k)
        assert row["intervals"] == intervals(mine, resamples=200, seed=7)
        unit = values(mine, np.ones((1, 3)))
        expected = {"recall": row["recall"], "precision": row["precision"], "f1": row["f1"]}
        expected |= {"ap": row["AP"], "ap50": row["AP50"], "mr": row["mr"]}
        for metric, value in expected.items():
            assert unit[metric][0] == pytest.approx(value, abs=1e-12), (name, metric)
        checked += 1
    assert checked >= 1
    # the report shows a slice's interval beside its value
    front_recall = slices["front"]["intervals"]["recall"]
    html = render_campaign_report(score_campaign(db, "A", resamples=200, seed=7))
    assert f"({front_recall['low']:.3f} – {front_recall['high']:.3f})" in html
    # no resampling of the slices when the pooled result has none
    unsampled = primary(score_campaign(db, "A", resamples=0))
    assert unsampled["intervals"] == {} and unsampled["slices"]["camera_view"]["front"]["intervals"] == {}


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], data_dir: Path) -> Any:
    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--data-dir", str(data_dir), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _copy_as_completed(db: Any, name: str, scale: float) -> None:
    """Give the campaign's queued runs the boxes of the same video's first run, scores scaled."""
    from sqlalchemy import select

    with db.transaction() as s:
        for row in s.scalars(select(CampaignVideo).join(Campaign).where(Campaign.name == name)):
            run = s.get(TestSession, row.session_id)
            source = s.scalar(
                select(TestSession.id).where(TestSession.video_id == row.video_id).order_by(TestSession.id)
            )
            for e in s.scalars(select(DetectionEvent).where(DetectionEvent.session_id == source)):
                s.add(
                    _event(
                        run,
                        e.video_id,
                        e.frame_number,
                        e.vru_type,
                        e.confidence * scale,
                        e.x1,
                        e.y1,
                        e.x2 - e.x1,
                        e.y2 - e.y1,
                    )
                )
            run.status, run.progress = "completed", 1.0


def test_gate_exit_codes_and_messages(db: Any, suite: dict[str, Any], cli: Any) -> None:
    _campaign(db, suite, "easy", requirements=["recall>=0", "mr<=1"])
    _campaign(db, suite, "hard", requirements=["recall>=0.999", "precision>=0"])
    _campaign(db, suite, "relative", requirements=["recall>=base-0.01"])
    for name in ("easy", "hard", "relative"):
        assert cli("campaign", "run", name)[0] == 0  # every run reused: nothing to compute
    code, out, _ = cli("campaign", "gate", "easy")
    assert code == 0 and "all requirements hold" in out
    code, out, _ = cli("campaign", "gate", "hard")
    assert code == 1 and "FAILED recall>=0.999" in out and "ok     precision>=0" in out
    code, _, err = cli("campaign", "gate", "relative")
    assert code == 1 and "relative to a base" in err and "--against BASE" in err
    code, out, _ = cli("campaign", "gate", "relative", "--against", "easy", "--json")
    gate = json.loads(out)
    assert (
        code == 0
        and gate["passed"]
        and gate["checks"][0]["threshold"] == pytest.approx(gate["checks"][0]["value"] - 0.01)
    )
    assert cli("campaign", "gate", "nope")[0] == 1
    assert cli("campaign", "gate")[0] == 2
    assert cli("campaign")[0] == 2


def test_cli_refuses_bad_input_and_creates_nothing(
    db: Any, suite: dict[str, Any], cli: Any, shared_models: Path
) -> None:
    model = str(shared_models / "yolo11n_int8_openvino_model")
    code, _, err = cli(
        "campaign", "create", "X", "--project", "front cams", "--model", model, "--require", "speed>=3"
    )
    assert code == 1 and "unknown metric 'speed'" in err
    code, _, err = cli("campaign", "create", "X", "--project", "front cams", "--model", "/no/such/model.onnx")
    assert code == 1 and "model file not found" in err
    create_project(
        db, ProjectFields(name="empty", camera_model="c", camera_view="front", signal_type="video")
    )
    code, _, err = cli("campaign", "create", "X", "--project", "empty", "--model", model)
    assert code == 1 and "no videos" in err
    assert json.loads(cli("campaign", "list", "--json")[1]) == []


def test_evaluate_compare_report_status_delete(
    db: Any, suite: dict[str, Any], cli: Any, tmp_path: Path
) -> None:
    _campaign(db, suite, "base")
    create_campaign(db, "lower", suite["model_id"], RunConfig(conf=0.31), projects=suite["projects"])
    cli("campaign", "run", "base")
    launch_campaign(db, "lower")
    _copy_as_completed(db, "lower", 0.7)
    code, out, _ = cli("campaign", "evaluate", "base", "--json", "--resamples", "100", "--sort", "mr")
    scores = primary(json.loads(out))
    assert code == 0 and scores["videos_scored"] == 3
    mrs = [v["mr"] for v in scores["per_video"]]
    assert mrs == sorted(mrs, reverse=True)  # worst (highest miss rate) first
    code, out, _ = cli("campaign", "compare", "base", "lower", "--json", "--resamples", "100")
    result = json.loads(out)
    assert code == 0 and result["paired"]
    recall = result["metrics"]["recall"]
    assert recall["delta"] == pytest.approx(recall["new"] - recall["base"]) and recall["delta"] < 0
    assert recall["delta_interval"]["low"] <= recall["delta"] <= recall["delta_interval"]["high"]
    assert len(result["videos_worse"]) + len(result["videos_better"]) + len(result["videos_unchanged"]) == 3
    assert result["videos_worse"]
    # the same campaign against itself: every delta 0, its interval [0, 0]
    same = json.loads(cli("campaign", "compare", "base", "base", "--json", "--resamples", "50")[1])
    assert same["metrics"]["ap"]["delta"] == 0 and same["metrics"]["ap"]["delta_interval"] == {
        "low": 0.0,
        "high": 0.0,
    }
    code, out, _ = cli(
        "campaign", "report", "base", "--out", str(tmp_path / "base.html"), "--resamples", "50"
    )
    html = (tmp_path / "base.html").read_text()
    assert code == 0 and "Pooled over all videos" in html and "no reviewed ground truth" in html
    assert json.loads((tmp_path / "base.json").read_text())["campaign"] == "base"
    status = json.loads(cli("campaign", "status", "base", "--json")[1])
    assert status["status"] == "completed" and all(v["reused"] for v in status["videos"])
    assert cli("campaign", "delete", "base")[0] == 0
    assert [c["name"] for c in json.loads(cli("campaign", "list", "--json")[1])] == ["lower"]


def test_launch_refuses_a_missing_or_changed_model(db: Any, suite: dict[str, Any]) -> None:
    create_campaign(db, "M", suite["model_id"], RunConfig(conf=0.6), video_ids=suite["videos"][:1])
    with db.session() as s:
        model_path = Path(s.get(DetectorModel, suite["model_id"]).path)
    model_path.write_bytes(b"another model")
    with pytest.raises(ValidationError, match=r"model file .* has changed"):
        launch_campaign(db, "M")
    model_path.unlink()
    with pytest.raises(NotFoundError, match=r"model file .* is missing"):
        launch_campaign(db, "M")
    with db.transaction() as s:
        s.delete(s.get(DetectorModel, suite["model_id"]))
    with pytest.raises(NotFoundError, match="no longer registered"):
        launch_campaign(db, "M")


def test_ground_truth_changes_and_removed_videos_are_reported(db: Any, suite: dict[str, Any]) -> None:
    from vru_desktop.library.importer import remove_videos

    _campaign(db, suite)
    launch_campaign(db, "A")
    with db.transaction() as s:
        s.query(ReviewedFrame).filter(
            ReviewedFrame.video_id == suite["videos"][0], ReviewedFrame.frame_number == 0
        ).delete()
    remove_videos(db, [suite["videos"][1]])
    scores = primary(score_campaign(db, "A", resamples=10))
    changed = {v["video_id"]: v["ground_truth_changed"] for v in scores["per_video"]}
    assert changed == {suite["videos"][0]: True, suite["videos"][2]: False}
    reasons = {e["filename"]: e["reason"] for e in scores["excluded"]}
    assert reasons["v1.mp4"] == "removed from the library"
    with db.transaction() as s:
        s.delete(s.get(TestSession, get_campaign(db, "A").videos[0].run_id))
    reasons = {e["filename"]: e["reason"] for e in primary(score_campaign(db, "A", resamples=0))["excluded"]}
    assert reasons["v0.mp4"] == "its run was removed; 'campaign run' makes a new one"
    with pytest.raises(ValidationError, match=r"video \(v1.mp4\) was removed from the library"):
        launch_campaign(db, "A")
    assert [v.video_id for v in get_campaign(db, "A").videos if v.filename == "v1.mp4"] == [None]


def test_tracking_pools_videos_as_separate_sequences(db: Any, mot17_tracked_run: Any) -> None:
    """Two copies of a tracked MOT17 run pooled: every count doubles, every ratio stays (as TrackEval
    combines sequences); frame and track ids of the copies never meet."""
    from vru_desktop.evaluation.ground_truth import load_run

    run_id, _, _, conf = mot17_tracked_run
    data = load_run(db, run_id)
    single = RunEvaluation(data, 0.5, conf, {"all": (0.0, 1e9)}).tracking
    pooled = pool([data, data], conf=conf)
    both = RunEvaluation(pooled.data, 0.5, conf, {"all": (0.0, 1e9)}).tracking
    assert single is not None and both is not None
    for key in ("CLR_TP", "CLR_FN", "CLR_FP", "IDSW", "MT"):
        assert both.clear[key] == 2 * single.clear[key]
    assert both.identity["IDTP"] == 2 * single.identity["IDTP"]
    for part, key in (("clear", "MOTA"), ("identity", "IDF1"), ("hota", "HOTA"), ("hota", "AssA")):
        assert getattr(both, part)[key] == pytest.approx(getattr(single, part)[key])
