"""Tracking metrics speed: HOTA + CLEAR + IDF1 on a synthetic 100 000-frame run (~1 000 000 boxes per
side) against TrackEval on the same MOTChallenge files, in one process, with identical numbers.

Run: ``.venv/bin/python -m pytest tests/benchmarks/test_tracking_speed.py -s``
(``VRU_BENCH_TRACK_FRAMES=20000`` for a smaller run). Both sides start from the rows of the two
files (TrackEval's own reader is quadratic in the number of frames) and compute IoU, MOT17's
distractor preprocessing and the three metrics; the stages are printed too. Target ratio ≥ 3.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vru_desktop.evaluation.mot_files import evaluate_mot_tables, read_mot_text

pytestmark = pytest.mark.benchmark

FRAMES = int(os.environ.get("VRU_BENCH_TRACK_FRAMES", "100000"))


def synthetic_files(folder: Path, frames: int, seed: int = 0) -> tuple[Path, Path]:
    """About 10 pedestrians per frame, tracks of 200–1800 frames moving across a 1080p view; the
    tracker misses 10 % of boxes, jitters the rest, switches ids now and then (0.2 % per frame),
    and adds short false tracks."""
    rng = np.random.default_rng(seed)
    n_tracks = max(frames * 10 // 1000, 1)
    length = rng.integers(200, 1800, n_tracks).clip(max=frames)
    start = (rng.random(n_tracks) * (frames - length + 1)).astype(np.int64)
    track = np.repeat(np.arange(n_tracks), length)
    t = np.arange(int(length.sum())) - np.repeat(np.cumsum(length) - length, length)
    frame = np.repeat(start, length) + t + 1
    wh = rng.uniform([20, 50], [90, 250], (n_tracks, 2))[track]
    xy0 = rng.uniform([0, 0], [1800, 900], (n_tracks, 2))[track]
    v = rng.normal(0, [0.8, 0.3], (n_tracks, 2))[track]
    xy = xy0 + v * t[:, None] + 5 * np.sin(t / 30)[:, None]
    gt = np.column_stack(
        [frame, track + 1, xy, wh, np.ones(len(frame)), np.ones(len(frame)), np.ones(len(frame))]
    )

    switch = rng.random(len(frame)) < 0.002
    segment = np.cumsum(switch | (t == 0))  # a new tracker id for every track and after every switch
    keep = rng.random(len(frame)) > 0.1
    jitter = rng.normal(0, 0.08, (len(frame), 4)) * np.tile(wh, 2)
    tr = np.column_stack(
        [
            frame,
            1_000_000 + segment,
            xy + jitter[:, :2],
            wh + jitter[:, 2:],
            rng.random(len(frame)),
        ]
    )[keep]
    n_false = max(frames // 50, 1)
    f_start = rng.integers(1, max(frames - 50, 2), n_false)
    f_frame = (f_start[:, None] + np.arange(50)[None, :]).ravel()
    f_id = np.repeat(np.arange(n_false) + 10_000_000, 50)
    f_xy = np.repeat(rng.uniform([0, 0], [1800, 900], (n_false, 2)), 50, axis=0)
    false = np.column_stack(
        [f_frame, f_id, f_xy, np.full((len(f_frame), 2), [40.0, 100.0]), np.full(len(f_frame), 0.3)]
    )
    tr = np.concatenate([tr, false[f_frame <= frames]])
    tr = np.column_stack([tr, -np.ones((len(tr), 3))])
    gt_file, tr_file = folder / "gt.txt", folder / "tracker.txt"
    np.savetxt(
        gt_file, gt, fmt=["%d", "%d", "%.2f", "%.2f", "%.2f", "%.2f", "%d", "%d", "%.1f"], delimiter=","
    )
    np.savetxt(
        tr_file, tr, fmt=["%d", "%d", "%.2f", "%.2f", "%.2f", "%.2f", "%.3f", "%d", "%d", "%d"], delimiter=","
    )
    return gt_file, tr_file


def trackeval_raw(gt: np.ndarray, tr: np.ndarray, frames: int) -> dict[str, Any]:
    """The per-frame data TrackEval's MOTChallenge reader makes from the two files. Built here
    because that reader compares every frame key with a list of all frames (quadratic in the
    sequence length: hours at 100 000 frames), which is no part of the metrics."""
    raw: dict[str, Any] = {"num_timesteps": frames, "seq": "SYN-01"}
    for prefix, table in (("gt", gt), ("tracker", tr)):
        order = np.argsort(table[:, 0], kind="stable")
        bounds = np.searchsorted(table[order, 0], np.arange(1, frames + 2))
        parts = [table[order[a:b]] for a, b in itertools.pairwise(bounds)]
        raw[f"{prefix}_ids"] = [p[:, 1].astype(int) for p in parts]
        raw[f"{prefix}_dets"] = [np.atleast_2d(p[:, 2:6]) for p in parts]
        raw[f"{prefix}_classes"] = [p[:, 7].astype(int) for p in parts]
        if prefix == "gt":
            raw["gt_extras"] = [{"zero_marked": p[:, 6].astype(int)} for p in parts]
            raw["gt_crowd_ignore_regions"] = [np.empty((0, 4)) for _ in parts]
        else:
            raw["tracker_confidences"] = [p[:, 6] for p in parts]
    return raw


def trackeval_stages(raw: dict[str, Any], folder: Path) -> tuple[dict[str, float], dict[str, Any]]:
    import trackeval

    seq = raw["seq"]
    (folder / "gt" / seq / "gt").mkdir(parents=True)  # the dataset object wants its folders
    (folder / "gt" / seq / "gt" / "gt.txt").write_text("")
    (folder / "gt" / seq / "seqinfo.ini").write_text(
        f"[Sequence]\nname={seq}\nseqLength={raw['num_timesteps']}\n"
    )
    (folder / "trackers").mkdir()
    (folder / "seqmap.txt").write_text(f"name\n{seq}\n")
    config = {
        "GT_FOLDER": str(folder / "gt"),
        "TRACKERS_FOLDER": str(folder / "trackers"),
        "BENCHMARK": "MOT17",
        "SEQMAP_FILE": str(folder / "seqmap.txt"),
        "SKIP_SPLIT_FOL": True,
        "TRACKERS_TO_EVAL": [],
        "GT_LOC_FORMAT": "{gt_folder}/{seq}/gt/gt.txt",
        "PRINT_CONFIG": False,
    }
    times: dict[str, float] = {}
    with contextlib.redirect_stdout(io.StringIO()):
        dataset = trackeval.datasets.MotChallenge2DBox(config)
        metrics = [
            trackeval.metrics.HOTA(),
            trackeval.metrics.CLEAR({"PRINT_CONFIG": False}),
            trackeval.metrics.Identity({"PRINT_CONFIG": False}),
        ]
        start = time.perf_counter()
        raw["similarity_scores"] = [
            dataset._calculate_similarities(g, t)
            for g, t in zip(raw["gt_dets"], raw["tracker_dets"], strict=True)
        ]
        times["IoU"] = time.perf_counter() - start
        start = time.perf_counter()
        data = dataset.get_preprocessed_seq_data(raw, "pedestrian")
        times["distractor preprocessing"] = time.perf_counter() - start
        start = time.perf_counter()
        results = {m.get_name(): m.eval_sequence(data) for m in metrics}
        times["HOTA + CLEAR + Identity"] = time.perf_counter() - start
    return times, results


@pytest.mark.timeout(7200)
def test_tracking_metrics_vs_trackeval(tmp_path: Path) -> None:
    gt_file, tr_file = synthetic_files(tmp_path, FRAMES)
    start = time.perf_counter()
    gt, tr = read_mot_text(gt_file, min_columns=8), read_mot_text(tr_file, min_columns=7)
    ours_read = time.perf_counter() - start
    start = time.perf_counter()
    ours = evaluate_mot_tables(gt, tr)
    ours_time = time.perf_counter() - start
    theirs_times, theirs = trackeval_stages(trackeval_raw(gt, tr, FRAMES), tmp_path / "trackeval")
    theirs_time = sum(theirs_times.values())

    m = ours.metrics
    for name, value in m.clear.items():
        assert value == pytest.approx(float(theirs["CLEAR"][name]), abs=1e-6), name
    for name, value in m.identity.items():
        assert value == pytest.approx(float(theirs["Identity"][name]), abs=1e-6), name
    for name, values in m.hota_alpha.items():
        np.testing.assert_allclose(values, theirs["HOTA"][name], atol=1e-6, rtol=0, err_msg=name)
    assert m.clear["IDSW"] > 0 and m.clear["Frag"] > 0

    print(
        f"\n{FRAMES} frames, {len(gt)} ground-truth and {len(tr)} tracker boxes; "
        f"HOTA {m.hota['HOTA']:.4f}, MOTA {m.clear['MOTA']:.4f}, IDF1 {m.identity['IDF1']:.4f}, "
        f"IDSW {m.clear['IDSW']}"
    )
    print(
        f"  vru_desktop: {ours_time:.2f} s from the rows (reading the two files took {ours_read:.2f} s more)"
    )
    print(
        f"  TrackEval:   {theirs_time:.2f} s ("
        + ", ".join(f"{k} {v:.2f} s" for k, v in theirs_times.items())
        + ")"
    )
    print(f"  ratio TrackEval / vru_desktop: {theirs_time / ours_time:.2f}x")
    assert theirs_time / ours_time >= 3.0
