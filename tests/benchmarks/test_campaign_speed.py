"""Campaign suite scoring at size: pooled COCO statistics side by side with pycocotools, the bootstrap,
peak memory.

Run: ``.venv/bin/python -m pytest tests/benchmarks/test_campaign_speed.py -s``

The suite is 100 videos x 10 000 reviewed frames with 1 000 000 detections (one a frame on average,
about as many ground-truth boxes; detection scores higher for found boxes than for background, as a
detector gives them). It is built as the per-video inputs :func:`~vru_desktop.campaigns.scoring.load_suite`
returns, and the timed path is what ``campaign evaluate`` runs on them: ``pool`` and the pooled
:class:`~vru_desktop.evaluation.run.RunEvaluation` (COCO statistics), then
:class:`~vru_desktop.campaigns.bootstrap.BootstrapInput` and ``intervals`` with 1 000 resamples.
pycocotools at this size needs about 10 minutes and 10 GB, so it scores the first
``VRU_BENCH_REFERENCE_VIDEOS`` videos (10 by default: 100 000 images) pooled the same way, and ours is
timed on the same subset; the numbers must agree to 1e-12.
"""

from __future__ import annotations

import contextlib
import io
import os
import resource
import time
import tracemalloc
from typing import Any

import numpy as np
import pytest

from vru_desktop.campaigns.bootstrap import BootstrapInput, intervals
from vru_desktop.campaigns.scoring import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, pool
from vru_desktop.evaluation.ground_truth import EvaluationInput
from vru_desktop.evaluation.matching import DetectionBoxes, GroundTruthBoxes
from vru_desktop.evaluation.protocols import BoxConditions
from vru_desktop.evaluation.run import RunEvaluation

pytestmark = pytest.mark.benchmark

VIDEOS, FRAMES = 100, 10_000
CONF = 0.3
CLASSES = ["pedestrian", "cyclist"]
ALL_HEIGHTS = {"all": (0.0, 1e9)}


def synthetic_video(frames: int, seed: int) -> EvaluationInput:
    """One reviewed video: ~0.9 boxes a frame, 80 % found (a little off, 5 % as the other class), and
    background detections up to ``frames`` detections in all."""
    rng = np.random.default_rng(seed)
    image = np.repeat(np.arange(frames), rng.poisson(0.9, frames))
    n = len(image)
    xy = rng.uniform(0, 1800, (n, 2))
    wh = rng.uniform(10, 200, (n, 2)) * [0.5, 1.2]
    category = rng.integers(0, 2, n)
    found = rng.random(n) < 0.8
    jitter = rng.normal(0, 0.1, (n, 4)) * np.column_stack([wh, wh])
    background = rng.integers(0, frames, frames - int(found.sum()))
    dt_image = np.concatenate([image[found], background])
    dt_xywh = np.concatenate(
        [
            (np.column_stack([xy, wh]) + jitter)[found],
            np.column_stack(
                [rng.uniform(0, 1800, (len(background), 2)), rng.uniform(10, 200, (len(background), 2))]
            ),
        ]
    )
    swapped = rng.random(int(found.sum())) < 0.05
    dt_category = np.concatenate(
        [np.where(swapped, 1 - category[found], category[found]), rng.integers(0, 2, len(background))]
    )
    score = np.concatenate([rng.beta(4, 2, int(found.sum())), rng.beta(1.5, 4, len(background))])
    order = np.argsort(dt_image, kind="stable")
    dt_image, dt_xywh, dt_category, score = dt_image[order], dt_xywh[order], dt_category[order], score[order]
    m = len(dt_image)
    return EvaluationInput(
        session_id=seed + 1,
        video_id=seed + 1,
        classes=CLASSES,
        reviewed_frames=np.arange(frames),
        frame_times=np.zeros(0),
        gt=GroundTruthBoxes(
            image, category, np.column_stack([xy, wh]), wh[:, 0] * wh[:, 1], rng.random(n) < 0.02
        ),
        gt_ids=np.arange(n),
        gt_xyxy=np.column_stack([xy, xy + wh]),
        gt_track=np.full(n, -1),
        dt=DetectionBoxes(dt_image, dt_category, dt_xywh, dt_xywh[:, 2] * dt_xywh[:, 3], np.round(score, 4)),
        dt_ids=np.arange(m),
        dt_xyxy=np.column_stack([dt_xywh[:, :2], dt_xywh[:, :2] + dt_xywh[:, 2:]]),
        dt_track=np.full(m, -1),
        total_detections=m,
        gt_in_ignore_regions=0,
        dt_in_ignore_regions=0,
        video={"filename": f"video{seed}.mp4", "fps": 25.0, "width": 1920, "height": 1080},
        run={"config": {"conf": CONF}},
        gt_conditions=BoxConditions.unknown(n),
    )


def pooled_coco(inputs: list[EvaluationInput]) -> tuple[Any, RunEvaluation]:
    """What ``campaign evaluate`` does for the pooled COCO statistics (``scoring._evaluate``)."""
    pooled = pool(inputs, conf=CONF)
    result = RunEvaluation(pooled.data, 0.5, CONF, ALL_HEIGHTS)
    _ = result.coco.stats
    return pooled, result


def pycocotools_stats(data: EvaluationInput) -> tuple[float, np.ndarray]:
    """Seconds and statistics of pycocotools on the pooled input, from the in-memory dataset (no JSON
    parsing on either side)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt, dt = data.gt, data.dt
    dataset = {
        "images": [{"id": int(f) + 1, "width": 1920, "height": 1080} for f in data.reviewed_frames],
        "categories": [{"id": k + 1, "name": c} for k, c in enumerate(data.classes)],
        "annotations": [
            {
                "id": i + 1,
                "image_id": int(gt.image[i]) + 1,
                "category_id": int(gt.category[i]) + 1,
                "bbox": gt.xywh[i].tolist(),
                "area": float(gt.size[i]),
                "iscrowd": int(gt.crowd[i]),
            }
            for i in range(len(gt))
        ],
    }
    results = [
        {
            "image_id": int(dt.image[i]) + 1,
            "category_id": int(dt.category[i]) + 1,
            "bbox": dt.xywh[i].tolist(),
            "score": float(dt.score[i]),
        }
        for i in range(len(dt))
    ]
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = dataset
        coco_gt.createIndex()
        evaluator = COCOeval(coco_gt, coco_gt.loadRes(results), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return time.perf_counter() - start, evaluator.stats


def _load() -> str:
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def test_suite_of_a_million_detections() -> None:
    inputs = [synthetic_video(FRAMES, seed) for seed in range(VIDEOS)]
    n_dets = sum(len(d.dt) for d in inputs)
    assert n_dets == VIDEOS * FRAMES

    start = time.perf_counter()
    pooled, result = pooled_coco(inputs)
    t_pooled = time.perf_counter() - start
    start = time.perf_counter()
    found = intervals(BootstrapInput.of(result, pooled), resamples=BOOTSTRAP_RESAMPLES, seed=BOOTSTRAP_SEED)
    t_boot = time.perf_counter() - start
    # peak memory in a second, untimed pass (tracing allocations slows them)
    tracemalloc.start()
    pooled, result = pooled_coco(inputs)
    _, peak_pooled = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    intervals(BootstrapInput.of(result, pooled), resamples=BOOTSTRAP_RESAMPLES, seed=BOOTSTRAP_SEED)
    _, peak_boot = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\n{VIDEOS} videos x {FRAMES} frames, {n_dets} detections, {len(result.data.gt)} boxes: "
        f"pooled COCO statistics {t_pooled:.1f} s (peak {peak_pooled / 2**20:.0f} MiB allocated); "
        f"bootstrap {BOOTSTRAP_RESAMPLES} resamples {t_boot:.1f} s "
        f"(peak {peak_boot / 2**20:.0f} MiB allocated, the pooled evaluation held included); "
        f"process peak RSS {rss:.0f} MiB ({_load()})"
    )
    for name in ("ap", "mr", "recall"):
        low, high = found[name]["low"], found[name]["high"]
        print(f"  {name}: 95 % interval [{low:.4f}, {high:.4f}]")
        assert low <= high

    subset = inputs[: int(os.environ.get("VRU_BENCH_REFERENCE_VIDEOS", "10"))]
    start = time.perf_counter()
    _, ours = pooled_coco(subset)
    t_ours = time.perf_counter() - start
    t_ref, ref_stats = pycocotools_stats(ours.data)
    diff = float(np.abs(ours.coco.stats - ref_stats).max())
    print(
        f"{len(subset)} videos ({len(ours.data.reviewed_frames)} images, {len(ours.data.dt)} detections) "
        f"pooled: pycocotools {t_ref:.1f} s, vru_desktop {t_ours:.1f} s -> {t_ref / t_ours:.1f}x faster; "
        f"max |diff| of the 12 statistics {diff:.1e} ({_load()})"
    )
    assert diff < 1e-12
    assert t_ours < t_ref
