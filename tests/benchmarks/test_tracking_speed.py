"""Tracking metrics speed: HOTA + CLEAR + IDF1 on a synthetic 100 000-frame run (~1 000 000 boxes per
side) against TrackEval on the same MOTChallenge files, in one process, with identical numbers.

Run: ``.venv/bin/python -m pytest tests/benchmarks/test_tracking_speed.py -s``
(``VRU_BENCH_TRACK_FRAMES=20000`` for a smaller run). Both sides go from the two text files to the
numbers; the stages are printed too. Target ratio ≥ 3.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from pathlib import Path

import numpy as np
import pytest

from vru_desktop.evaluation.mot_files import evaluate_mot_files, read_mot_text

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


def trackeval_stages(
    gt_file: Path, tr_file: Path, frames: int, folder: Path
) -> tuple[dict[str, float], dict]:
    import shutil

    import trackeval

    seq = "SYN-01"
    (folder / "gt" / seq / "gt").mkdir(parents=True)
    shutil.copy(gt_file, folder / "gt" / seq / "gt" / "gt.txt")
    (folder / "gt" / seq / "seqinfo.ini").write_text(f"[Sequence]\nname={seq}\nseqLength={frames}\n")
    (folder / "seqmap.txt").write_text(f"name\n{seq}\n")
    (folder / "trackers" / "T" / "data").mkdir(parents=True)
    shutil.copy(tr_file, folder / "trackers" / "T" / "data" / f"{seq}.txt")
    config = {
        "GT_FOLDER": str(folder / "gt"),
        "TRACKERS_FOLDER": str(folder / "trackers"),
        "BENCHMARK": "MOT17",
        "SEQMAP_FILE": str(folder / "seqmap.txt"),
        "SKIP_SPLIT_FOL": True,
        "TRACKERS_TO_EVAL": ["T"],
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
        raw = dataset.get_raw_seq_data("T", seq)
        times["read files + IoU"] = time.perf_counter() - start
        start = time.perf_counter()
        data = dataset.get_preprocessed_seq_data(raw, "pedestrian")
        times["distractor preprocessing"] = time.perf_counter() - start
        start = time.perf_counter()
        results = {m.get_name(): m.eval_sequence(data) for m in metrics}
        times["HOTA + CLEAR + Identity"] = time.perf_counter() - start
    return times, results


def test_tracking_metrics_vs_trackeval(tmp_path: Path) -> None:
    gt_file, tr_file = synthetic_files(tmp_path, FRAMES)
    start = time.perf_counter()
    n_gt = len(read_mot_text(gt_file, min_columns=8))
    n_tr = len(read_mot_text(tr_file, min_columns=7))
    ours_read = time.perf_counter() - start
    start = time.perf_counter()
    ours = evaluate_mot_files(gt_file, tr_file)
    ours_total = time.perf_counter() - start
    theirs_times, theirs = trackeval_stages(gt_file, tr_file, FRAMES, tmp_path / "trackeval")
    theirs_total = sum(theirs_times.values())

    m = ours.metrics
    for name, value in m.clear.items():
        assert value == pytest.approx(float(theirs["CLEAR"][name]), abs=1e-6), name
    for name, value in m.identity.items():
        assert value == pytest.approx(float(theirs["Identity"][name]), abs=1e-6), name
    for name, values in m.hota_alpha.items():
        np.testing.assert_allclose(values, theirs["HOTA"][name], atol=1e-6, rtol=0, err_msg=name)
    assert m.clear["IDSW"] > 0 and m.clear["Frag"] > 0

    print(
        f"\n{FRAMES} frames, {n_gt} ground-truth and {n_tr} tracker boxes; "
        f"HOTA {m.hota['HOTA']:.4f}, MOTA {m.clear['MOTA']:.4f}, IDF1 {m.identity['IDF1']:.4f}, "
        f"IDSW {m.clear['IDSW']}"
    )
    print(f"  vru_desktop: {ours_total:.2f} s (of which reading the two files {ours_read:.2f} s)")
    print(
        f"  TrackEval:   {theirs_total:.2f} s ("
        + ", ".join(f"{k} {v:.2f} s" for k, v in theirs_times.items())
        + ")"
    )
    print(f"  ratio TrackEval / vru_desktop: {theirs_total / ours_total:.2f}x")
    compute = ours_total - ours_read
    their_compute = theirs_times["distractor preprocessing"] + theirs_times["HOTA + CLEAR + Identity"]
    print(
        f"  after reading: {compute:.2f} s vs {their_compute:.2f} s (TrackEval's IoU is in its reading stage)"
    )
    assert theirs_total / ours_total >= 3.0
