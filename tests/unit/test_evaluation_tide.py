"""TIDE error breakdown equals the ``tidecv`` package (test oracle only) on the public COCO subset and
on generated scenes that produce every kind of error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vru_desktop.cli import main
from vru_desktop.evaluation.coco import load_coco
from vru_desktop.evaluation.matching import DetectionBoxes, GroundTruthBoxes
from vru_desktop.evaluation.tide import ERRORS, TideResult, tide


def tidecv_numbers(run: Any) -> dict[str, Any]:
    from tidecv import TIDE

    main_errors = run.fix_main_errors()
    special = run.fix_special_errors()
    return {
        "ap": run.ap,
        "delta": {e.short_name: v for e, v in main_errors.items()},
        "special": {e.short_name: v for e, v in special.items()},
        "counts": {e.short_name: len(run.error_dict[e]) for e in TIDE._error_types},
    }


def assert_same(mine: TideResult, ref: dict[str, Any]) -> None:
    assert mine.ap == pytest.approx(ref["ap"], abs=1e-6)
    for name, short in ERRORS.items():
        assert mine.delta_ap[name] == pytest.approx(ref["delta"][short], abs=1e-6), name
        assert mine.counts[name] == ref["counts"][short], name
    assert mine.false_positive_delta_ap == pytest.approx(ref["special"]["FalsePos"], abs=1e-6)
    assert mine.false_negative_delta_ap == pytest.approx(ref["special"]["FalseNeg"], abs=1e-6)


def test_public_coco_subset_equals_tidecv(shared_data: Path) -> None:
    from tidecv import TIDE, datasets

    folder = shared_data / "coco_val2014_100_fakebbox"
    gt_file, dt_file = (
        folder / "instances_val2014_100.json",
        folder / "instances_val2014_fakebbox100_results.json",
    )
    ref = tidecv_numbers(TIDE().evaluate(datasets.COCO(str(gt_file)), datasets.COCOResult(str(dt_file))))
    data = load_coco(gt_file, dt_file)
    mine = tide(data.gt, data.dt, data.image_order)
    assert_same(mine, ref)
    assert mine.counts["classification"] > 0 and mine.counts["missed"] > 0 and mine.counts["duplicate"] > 0


def scene(seed: int) -> tuple[GroundTruthBoxes, DetectionBoxes]:
    """Images with boxes of 3 classes, crowd boxes, empty images, and detections that are good, badly
    placed, of the wrong class, duplicated, in crowds or on background; scores repeat (ties)."""
    rng = np.random.default_rng(seed)
    g_img, g_cls, g_box, g_crowd, d_img, d_cls, d_box, d_score = [], [], [], [], [], [], [], []
    for image in range(40):
        for _ in range(int(rng.integers(0, 5)) if image % 7 else 0):
            box = np.array([*rng.uniform(0, 300, 2), *rng.uniform(20, 80, 2)])
            cls = int(rng.integers(0, 3))
            crowd = rng.random() < 0.1
            g_img.append(image), g_cls.append(cls), g_box.append(box), g_crowd.append(crowd)
            for _ in range(int(rng.integers(0, 3))):
                kind = rng.random()
                shift = rng.normal(0, 0.05 if kind < 0.5 else 0.4, 4) * np.tile(box[2:], 2)
                wrong = kind > 0.8
                d_img.append(image)
                d_cls.append((cls + 1) % 3 if wrong else cls)
                d_box.append(box + shift)
                d_score.append(float(np.round(rng.random(), 1)))
        for _ in range(int(rng.integers(0, 3))):  # background
            d_img.append(image), d_cls.append(int(rng.integers(0, 3)))
            d_box.append(np.array([*rng.uniform(0, 300, 2), 30, 30]))
            d_score.append(float(np.round(rng.random(), 1)))
    gb = np.array(g_box).reshape(-1, 4)
    db = np.array(d_box).reshape(-1, 4)
    gt = GroundTruthBoxes(
        np.array(g_img), np.array(g_cls), gb, gb[:, 2] * gb[:, 3], np.array(g_crowd, dtype=bool)
    )
    dt = DetectionBoxes(np.array(d_img), np.array(d_cls), db, db[:, 2] * db[:, 3], np.array(d_score))
    return gt, dt


def tidecv_on(gt: GroundTruthBoxes, dt: DetectionBoxes) -> dict[str, Any]:
    from tidecv import TIDE, Data

    gt_data, dt_data = Data("gt"), Data("dt")
    for image in range(int(max(gt.image.max(), dt.image.max())) + 1):
        gt_data.add_image(image, str(image))
    for image, cls, box, crowd in zip(gt.image, gt.category, gt.xywh, gt.crowd, strict=True):
        if crowd:
            gt_data.add_ignore_region(int(image), int(cls), box.tolist())
        else:
            gt_data.add_ground_truth(int(image), int(cls), box.tolist())
    for image, cls, box, score in zip(dt.image, dt.category, dt.xywh, dt.score, strict=True):
        dt_data.add_detection(int(image), int(cls), float(score), box.tolist())
    return tidecv_numbers(TIDE().evaluate(gt_data, dt_data))


def test_generated_scenes_equal_tidecv() -> None:
    seen: dict[str, int] = dict.fromkeys(ERRORS, 0)
    for seed in range(6):
        gt, dt = scene(seed)
        mine = tide(gt, dt)
        assert_same(mine, tidecv_on(gt, dt))
        seen = {k: v + mine.counts[k] for k, v in seen.items()}
    assert min(seen.values()) > 0, seen  # every kind of error was exercised


def test_cli_evaluate_coco_with_tide(
    shared_data: Path, capsys: pytest.CaptureFixture[str], data_dir: Path
) -> None:
    folder = shared_data / "coco_val2014_100_fakebbox"
    files = [
        str(folder / "instances_val2014_100.json"),
        str(folder / "instances_val2014_fakebbox100_results.json"),
    ]
    assert main(["--data-dir", str(data_dir), "evaluate-coco", *files, "--tide"]) == 0
    assert "TIDE (AP50 64.20): ΔAP Cls 22.25  Loc 0.23" in capsys.readouterr().out
    assert main(["--data-dir", str(data_dir), "evaluate-coco", *files, "--tide", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["tide"]["counts"]["missed"] == 97 and "AP50" in document["stats"]


def test_a_run_in_the_library_equals_tidecv(
    db: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from test_evaluation_metrics import build_scene

    from vru_desktop.evaluation.run import evaluate_run, format_text

    result = evaluate_run(db, build_scene(db, tmp_path))
    assert_same(result.tide, tidecv_on(result.data.gt, result.data.dt))
    # Frame 0: a pedestrian detection on the cyclist; frame 1: the cyclist badly placed; frame 4: a
    # duplicate; frames 3 (inside the crowd box) and 6: background; A on 0–1 and B on 2–4 missed.
    assert result.tide.counts == {
        "classification": 1,
        "localisation": 1,
        "both": 0,
        "duplicate": 1,
        "background": 2,
        "missed": 5,
    }
    assert result.with_conf(0.9).tide is result.tide  # threshold-free, computed once
    assert any(line.startswith("TIDE (AP50") for line in format_text(result))
    assert result.to_dict()["tide"]["counts"]["missed"] == 5
