"""COCO-exact evaluation: the published pycocotools numbers on the shared fixture, and the rules."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from vru_desktop.errors import FormatError, NotFoundError
from vru_desktop.evaluation.coco import CocoData, evaluate, load_coco
from vru_desktop.evaluation.matching import DetectionBoxes, GroundTruthBoxes, greedy_match

# EXPECTED_METRICS.md of the fixture: the values faster_coco_eval asserts to 10 places.
PUBLISHED = [
    0.5045806987249628,
    0.6969727247299577,
    0.5729816669904824,
    0.5856257209410443,
    0.5193996948036719,
    0.5013978986347466,
    0.38681277964578054,
    0.5936795762842003,
    0.595352982877607,
    0.6398109626113442,
    0.5664205978994309,
    0.5642905982905982,
]
PER_CLASS = {  # computed locally with pycocotools (regression reference, 6 places)
    "person": (0.532606, 0.788342, 0.595910),
    "bicycle": (0.440099, 0.690594, 0.690594),
    "car": (0.519907, 0.718812, 0.598680),
    "motorcycle": (0.499010, 0.663366, 0.663366),
    "bus": (0.388119, 0.554455, 0.554455),
    "truck": (0.357030, 0.712871, 0.255446),
}


@pytest.fixture
def fixture_dir(shared_data: Path) -> Path:
    folder = shared_data / "coco_val2014_100_fakebbox"
    if not folder.exists():
        pytest.skip(f"{folder} not found")
    return folder


@pytest.fixture
def coco_fixture(fixture_dir: Path) -> CocoData:
    return load_coco(
        fixture_dir / "instances_val2014_100.json", fixture_dir / "instances_val2014_fakebbox100_results.json"
    )


def test_published_statistics_reproduced_without_pycocotools(
    fixture_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Any import of pycocotools during this test fails.
    for name in ("pycocotools", "pycocotools.coco", "pycocotools.cocoeval", "pycocotools.mask"):
        monkeypatch.setitem(sys.modules, name, None)
    data = load_coco(
        fixture_dir / "instances_val2014_100.json", fixture_dir / "instances_val2014_fakebbox100_results.json"
    )
    result = evaluate(data)
    assert np.abs(result.stats - np.array(PUBLISHED)).max() < 1e-9
    assert result.stats_dict()["AP50"] == pytest.approx(PUBLISHED[1], abs=1e-12)


def test_per_class_values(coco_fixture: CocoData) -> None:
    per_class = evaluate(coco_fixture).per_category()
    for name, (ap, ap50, ap75) in PER_CLASS.items():
        assert per_class[name]["AP"] == pytest.approx(ap, abs=1e-6)
        assert per_class[name]["AP50"] == pytest.approx(ap50, abs=1e-6)
        assert per_class[name]["AP75"] == pytest.approx(ap75, abs=1e-6)


def test_area_ranges_use_the_area_field(tmp_path: Path) -> None:
    """A 50x50 box whose segmentation area is 500 is a small object (COCO rule), not a medium one."""
    gt = {
        "images": [{"id": 7}],
        "categories": [{"id": 1, "name": "person"}],
        "annotations": [{"id": 1, "image_id": 7, "category_id": 1, "bbox": [10, 10, 50, 50], "area": 500}],
    }
    results = [{"image_id": 7, "category_id": 1, "bbox": [10, 10, 50, 50], "score": 0.9}]
    stats = evaluate(load_coco(_write(tmp_path / "gt.json", gt), results)).stats_dict()
    assert stats["AP_small"] == pytest.approx(1.0)
    assert stats["AP_medium"] == -1
    assert stats["AR_small"] == pytest.approx(1.0)


def _gt(boxes: list[list[float]], crowd: list[bool] | None = None, cats: list[int] | None = None):
    xywh = np.array(boxes, dtype=float).reshape(-1, 4)
    n = len(xywh)
    return GroundTruthBoxes(
        image=np.zeros(n, dtype=np.int64),
        category=np.array(cats or [0] * n, dtype=np.int64),
        xywh=xywh,
        size=xywh[:, 2] * xywh[:, 3],
        crowd=np.array(crowd or [False] * n),
    )


def _dt(boxes: list[list[float]], scores: list[float], cats: list[int] | None = None):
    xywh = np.array(boxes, dtype=float).reshape(-1, 4)
    n = len(xywh)
    return DetectionBoxes(
        image=np.zeros(n, dtype=np.int64),
        category=np.array(cats or [0] * n, dtype=np.int64),
        xywh=xywh,
        size=xywh[:, 2] * xywh[:, 3],
        score=np.array(scores, dtype=float),
    )


def test_crowd_matches_are_ignored_and_crowd_iou_uses_detection_area() -> None:
    gt = _gt([[0, 0, 10, 10], [100, 100, 200, 200]], crowd=[False, True])
    # det 0 on the regular box; dets 1 and 2 inside the crowd box (IoU with crowd = 1.0 each).
    dt = _dt([[0, 0, 10, 10], [110, 110, 20, 20], [150, 150, 20, 20]], [0.9, 0.8, 0.7])
    m = greedy_match(gt, dt, [0.5])
    assert m.dt_gt[0, 0].tolist() == [0, 1, 1]
    assert m.true_positive[0, 0].tolist() == [True, False, False]
    assert m.false_positive[0, 0].tolist() == [False, False, False]
    assert m.gt_ignored[0].tolist() == [False, True]


def test_duplicate_is_false_positive_and_best_iou_wins() -> None:
    gt = _gt([[0, 0, 10, 10], [4, 0, 10, 10]])
    dt = _dt([[0, 0, 10, 10], [1, 0, 10, 10], [0, 0, 10, 10]], [0.9, 0.8, 0.7])
    m = greedy_match(gt, dt, [0.5])
    # det 0 takes gt 0 (IoU 1); det 1 takes gt 1 (IoU 7/13 once gt 0 is taken); det 2 is left.
    assert m.dt_gt[0, 0].tolist() == [0, 1, -1]
    assert m.gt_dt[0, 0].tolist() == [0, 1]
    # At IoU .75 det 1 cannot take gt 1 (IoU 7/13), so it is a false positive.
    strict = greedy_match(gt, dt, [0.75])
    assert strict.dt_gt[0, 0].tolist() == [0, -1, -1]


def test_categories_without_ground_truth_are_undefined() -> None:
    gt = _gt([[0, 0, 10, 10]], cats=[0])
    dt = _dt([[0, 0, 10, 10], [50, 50, 10, 10]], [0.9, 0.8], cats=[0, 1])
    data = CocoData(gt, dt, [1], [1, 2], ["a", "b"])
    result = evaluate(data)
    assert result.stats[0] == pytest.approx(1.0)  # category "b" has no gt: left out of the mean
    assert (result.precision[:, :, 1] == -1).all()
    assert result.stats[5] == -1  # no large boxes at all


def test_empty_evaluation_gives_minus_one() -> None:
    data = CocoData(GroundTruthBoxes.empty(), DetectionBoxes.empty(), [], [1], ["a"])
    assert evaluate(data).stats.tolist() == [-1.0] * 12


def test_bad_files_give_clear_errors(tmp_path: Path, fixture_dir: Path) -> None:
    gt_path = fixture_dir / "instances_val2014_100.json"
    with pytest.raises(NotFoundError, match="not found"):
        load_coco(tmp_path / "missing.json", gt_path)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"image_id": 123456789, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}]))
    with pytest.raises(FormatError, match="not in the ground truth"):
        load_coco(gt_path, bad)
    bad.write_text("{not json")
    with pytest.raises(FormatError, match="not a readable JSON"):
        load_coco(gt_path, bad)
    with pytest.raises(FormatError, match="not a COCO instances file"):
        load_coco(_write(tmp_path / "list.json", []), gt_path)


def _write(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document))
    return path


def _reference_match(gt, dt, thresholds, ranges, max_dets):  # type: ignore[no-untyped-def]
    """pycocotools' ``evaluateImg`` loop, transcribed literally (one image/category at a time)."""
    from vru_desktop.evaluation.matching import box_iou

    n_r, n_t = len(ranges), len(thresholds)
    dt_gt = np.full((n_r, n_t, len(dt)), -1)
    dt_ig = np.zeros((n_r, n_t, len(dt)), dtype=bool)
    keys = {(int(i), int(c)) for i, c in zip(gt.image, gt.category, strict=True)}
    keys |= {(int(i), int(c)) for i, c in zip(dt.image, dt.category, strict=True)}
    for image, cat in sorted(keys):
        g = np.flatnonzero((gt.image == image) & (gt.category == cat))
        d = np.flatnonzero((dt.image == image) & (dt.category == cat))
        d = d[np.argsort(-dt.score[d], kind="mergesort")][:max_dets]
        for a, (lo, hi) in enumerate(ranges):
            g_ig = gt.crowd[g] | (gt.size[g] < lo) | (gt.size[g] > hi)
            order = np.argsort(g_ig, kind="mergesort")
            gs, gig, crowd = g[order], g_ig[order], gt.crowd[g][order]
            ious = box_iou(dt.xywh[d], gt.xywh[gs], crowd) if len(gs) else np.zeros((len(d), 0))
            for t, thr in enumerate(thresholds):
                taken = np.zeros(len(gs), dtype=bool)
                for di, det in enumerate(d):
                    iou, m = min(thr, 1 - 1e-10), -1
                    for gi in range(len(gs)):
                        if taken[gi] and not crowd[gi]:
                            continue
                        if m > -1 and not gig[m] and gig[gi]:
                            break
                        if ious[di, gi] < iou:
                            continue
                        iou, m = ious[di, gi], gi
                    if m == -1:
                        out = dt.size[det] < lo or dt.size[det] > hi
                        dt_ig[a, t, det] = out
                        continue
                    dt_gt[a, t, det] = gs[m]
                    dt_ig[a, t, det] = gig[m]
                    taken[m] = True
    return dt_gt, dt_ig


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vectorised_matching_equals_the_literal_loop(seed: int) -> None:
    """Random crowded scenes with tied scores, crowd boxes, duplicates and size ranges."""
    rng = np.random.default_rng(seed)
    n_gt, n_dt = 150, 260
    g_xy = rng.integers(0, 60, (n_gt, 2)).astype(float)
    g_wh = rng.integers(4, 40, (n_gt, 2)).astype(float)
    gt = GroundTruthBoxes(
        image=rng.integers(0, 6, n_gt),
        category=rng.integers(0, 3, n_gt),
        xywh=np.column_stack([g_xy, g_wh]),
        size=g_wh[:, 0] * g_wh[:, 1] * rng.uniform(0.5, 1.2, n_gt),
        crowd=rng.random(n_gt) < 0.08,
    )
    source = rng.integers(0, n_gt, n_dt)
    d_xywh = gt.xywh[source] + rng.integers(-4, 5, (n_dt, 4))
    d_xywh[:, 2:] = np.maximum(d_xywh[:, 2:], 1)
    dt = DetectionBoxes(
        image=gt.image[source],
        category=np.where(rng.random(n_dt) < 0.85, gt.category[source], rng.integers(0, 3, n_dt)),
        xywh=d_xywh,
        size=d_xywh[:, 2] * d_xywh[:, 3],
        score=rng.integers(1, 8, n_dt) / 8,  # many ties
    )
    thresholds = [0.5, 0.6, 0.75, 0.9]
    ranges = [(0, 1e10), (0, 200), (200, 600), (600, 1e10)]
    fast = greedy_match(gt, dt, thresholds, ranges, max_dets=20)
    ref_gt, ref_ig = _reference_match(gt, dt, thresholds, ranges, 20)
    kept = fast.kept
    assert (~kept).any()  # some image/category pairs exceed max_dets
    assert np.array_equal(fast.dt_gt[:, :, kept], ref_gt[:, :, kept])
    assert np.array_equal(fast.dt_ignored[:, :, kept], ref_ig[:, :, kept])
