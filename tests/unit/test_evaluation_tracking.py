"""Tracking metrics (CLEAR MOT, IDF1, HOTA) equal TrackEval's on public MOT17 data and on perturbed
ground truth with ID switches, fragmentations, misses, duplicates and distractors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vru_desktop.cli import main
from vru_desktop.errors import FormatError, NotFoundError
from vru_desktop.evaluation.mot_files import evaluate_mot_files
from vru_desktop.evaluation.tracking import TrackingMetrics

RESULTS = Path(__file__).resolve().parent.parent / "data" / "mot17_bytetrack"
SEQUENCES = sorted(p.stem for p in RESULTS.glob("MOT17-*.txt"))


def assert_same(mine: TrackingMetrics, ref: dict[str, dict[str, Any]]) -> None:
    for name, value in mine.clear.items():
        assert value == pytest.approx(float(ref["CLEAR"][name]), abs=1e-6), name
    for name, value in mine.identity.items():
        assert value == pytest.approx(float(ref["Identity"][name]), abs=1e-6), name
    for name, values in mine.hota_alpha.items():
        np.testing.assert_allclose(values, ref["HOTA"][name], atol=1e-6, rtol=0, err_msg=name)
    for name in ("HOTA", "DetA", "AssA", "LocA", "DetRe", "DetPr", "AssRe", "AssPr"):
        assert mine.hota[name] == pytest.approx(float(np.mean(ref["HOTA"][name])), abs=1e-6), name


@pytest.mark.parametrize("sequence", SEQUENCES)
def test_bytetrack_on_public_mot17_equals_trackeval(
    sequence: str, shared_data: Path, trackeval_oracle: Callable[..., dict[str, Any]]
) -> None:
    gt = shared_data / "mot17_mini" / "train" / sequence / "gt" / "gt.txt"
    results = RESULTS / f"{sequence}.txt"
    ref = trackeval_oracle(gt, results)
    mine = evaluate_mot_files(gt, results)
    assert mine.benchmark == "MOT17"
    assert_same(mine.metrics, ref)
    if sequence == "MOT17-10-FRCNN":
        assert mine.metrics.clear["IDSW"] == 3 and mine.tracker_boxes_removed > 0


def perturbed(seed: int, folder: Path, *, area: float, layout: str = "MOT17") -> tuple[Path, Path]:
    """Ground truth of moving boxes and a tracker result made from it: jittered boxes, misses,
    ID switches (a new id mid-track, or two tracks swapping ids), duplicates and false positives.
    MOT17 ground truth also has distractor classes and ``consider = 0`` rows."""
    rng = np.random.default_rng(seed)
    frames = 50
    gt_rows, tr_rows = [], []
    next_id = 1000
    tracks = []
    for obj in range(1, 16):
        start = int(rng.integers(1, frames // 2))
        end = int(rng.integers(start + 5, frames + 1))
        xy = rng.uniform(0, area, 2) * [1, 0.5]
        v = rng.normal(0, [4, 2])
        wh = rng.uniform([20, 50], [80, 200])
        tracks.append((obj, start, end, xy, v, wh))
    ids = {obj: (next_id := next_id + 1) for obj, *_ in tracks}
    for f in range(1, frames + 1):
        if rng.random() < 0.15:  # two tracks swap their ids
            a, b = rng.choice(list(ids), 2, replace=False)
            ids[a], ids[b] = ids[b], ids[a]
        for obj, start, end, xy, v, wh in tracks:
            if not start <= f < end:
                continue
            box = np.concatenate([xy + v * (f - start), wh])
            cls = 1 if rng.random() > 0.08 else int(rng.choice([2, 3, 7, 8, 12]))
            consider = 0 if rng.random() < 0.04 else 1
            if layout == "MOT15":
                gt_rows.append([f, obj, *box, consider, -1, -1, -1])
            else:
                gt_rows.append([f, obj, *box, consider, cls, 1.0])
            if rng.random() < 0.1:
                continue
            if rng.random() < 0.04:
                ids[obj] = next_id = next_id + 1
            jitter = rng.normal(0, 0.12, 4) * np.tile(wh, 2)
            tr_rows.append([f, ids[obj], *(box + jitter), rng.random(), -1, -1, -1])
            if rng.random() < 0.05:  # a duplicate box
                next_id += 1
                tr_rows.append([f, next_id, *(box + jitter * 0.5), 0.2, -1, -1, -1])
    for _ in range(frames):
        next_id += 1
        box = [*rng.uniform(0, area, 2) * [1, 0.5], 40, 100]
        tr_rows.append([int(rng.integers(1, frames + 1)), next_id, *box, 0.3, -1, -1, -1])
    gt, tr = folder / f"gt{seed}.txt", folder / f"tr{seed}.txt"
    for path, rows in ((gt, gt_rows), (tr, tr_rows)):
        path.write_text("".join(",".join(f"{v:.6g}" for v in row) + "\n" for row in rows))
    return gt, tr


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("area", [150.0, 800.0])
def test_perturbed_ground_truth_equals_trackeval(
    seed: int, area: float, tmp_path: Path, trackeval_oracle: Callable[..., dict[str, Any]]
) -> None:
    gt, tr = perturbed(seed, tmp_path, area=area)
    ref = trackeval_oracle(gt, tr)
    mine = evaluate_mot_files(gt, tr)
    assert_same(mine.metrics, ref)
    assert mine.metrics.clear["IDSW"] > 0 and mine.metrics.clear["Frag"] > 0


@pytest.mark.parametrize("seed", range(2))
def test_mot15_layout_equals_trackeval(
    seed: int, tmp_path: Path, trackeval_oracle: Callable[..., dict[str, Any]]
) -> None:
    gt, tr = perturbed(seed, tmp_path, area=300.0, layout="MOT15")
    ref = trackeval_oracle(gt, tr, "MOT15")
    mine = evaluate_mot_files(gt, tr)
    assert mine.benchmark == "MOT15" and mine.tracker_boxes_removed == 0
    assert_same(mine.metrics, ref)


def test_empty_results_and_perfect_results(tmp_path: Path) -> None:
    gt, _ = perturbed(0, tmp_path, area=800.0)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    nothing = evaluate_mot_files(gt, empty).metrics
    assert nothing.clear["MOTA"] == 0 and nothing.clear["CLR_TP"] == 0 and nothing.hota["HOTA"] == 0
    assert nothing.clear["ML"] == nothing.clear["MT"] + nothing.clear["PT"] + nothing.clear["ML"] > 0
    rows = [r.split(",") for r in gt.read_text().splitlines()]
    perfect = tmp_path / "perfect.txt"
    perfect.write_text(
        "".join(",".join([*r[:6], "1", "-1", "-1", "-1"]) + "\n" for r in rows if r[6] != "0" and r[7] == "1")
    )
    best = evaluate_mot_files(gt, perfect).metrics
    assert best.clear["MOTA"] == 1 and best.identity["IDF1"] == 1 and best.hota["HOTA"] == pytest.approx(1)


def test_bad_files_are_refused_with_the_place(tmp_path: Path) -> None:
    gt, tr = perturbed(1, tmp_path, area=800.0)
    with pytest.raises(NotFoundError):
        evaluate_mot_files(tmp_path / "missing.txt", tr)
    broken = tmp_path / "broken.txt"
    broken.write_text("1,2,3,4,5,6,1,-1,-1,-1\n2,x,3,4,5,6,1,-1,-1,-1\n")
    with pytest.raises(FormatError, match="line 2"):
        evaluate_mot_files(gt, broken)
    short = tmp_path / "short.txt"
    short.write_text("1,2,3,4,5\n")
    with pytest.raises(FormatError, match="5 columns"):
        evaluate_mot_files(gt, short)
    twice = tmp_path / "twice.txt"
    twice.write_text("3,7,1,1,5,5,1,-1,-1,-1\n3,7,9,9,5,5,1,-1,-1,-1\n")
    with pytest.raises(FormatError, match="track id 7 twice in frame 3"):
        evaluate_mot_files(gt, twice)


def test_cli_evaluate_tracks(shared_data: Path, capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    gt = shared_data / "mot17_mini" / "train" / "MOT17-10-FRCNN" / "gt" / "gt.txt"
    results = RESULTS / "MOT17-10-FRCNN.txt"
    assert main(["--data-dir", str(data_dir), "evaluate-tracks", str(gt), str(results)]) == 0
    text = capsys.readouterr().out
    assert "ID switches 3" in text and "HOTA 0.667" in text
    assert main(["--data-dir", str(data_dir), "evaluate-tracks", str(gt), str(results), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["clear"]["IDSW"] == 3 and len(document["hota_by_alpha"]["HOTA"]) == 19
    assert main(["--data-dir", str(data_dir), "evaluate-tracks", str(gt), str(gt.parent / "none.txt")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_a_tracked_run_in_the_library_equals_trackeval(
    db: Any,
    mot17_tracked_run: tuple[int, Path, list[list[float]], float],
    data_dir: Path,
    trackeval_oracle: Callable[..., dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """ByteTrack's ids on MOT17-10 stored as a run: ``evaluate`` scores them against the imported
    ground truth (pedestrians, static persons and riders as one class; crowd boxes remove the
    tracker boxes they match), which is TrackEval's MOT17 protocol on the same boxes."""
    from vru_desktop.evaluation.run import evaluate_run

    run_id, gt_file, rows, conf = mot17_tracked_run

    # The same protocol in MOTChallenge terms: the classes the importer maps are pedestrians,
    # those it marks crowd (consider = 0) are distractors, the rest is not there.
    oracle_gt, oracle_results = tmp_path / "gt.txt", tmp_path / "results.txt"
    lines = []
    for line in gt_file.read_text().splitlines():
        f, i, x, y, w, h, consider, cls, vis = line.split(",")
        if int(cls) in (1, 2, 7):
            lines.append(",".join([f, i, x, y, w, h, "1", "1" if consider == "1" else "8", vis]))
    oracle_gt.write_text("\n".join(lines) + "\n")
    oracle_results.write_text("".join(",".join(f"{v:g}" for v in r) + "\n" for r in rows if r[6] >= conf))
    ref = trackeval_oracle(oracle_gt, oracle_results)

    result = evaluate_run(db, run_id)
    assert result.tracking is not None
    assert_same(result.tracking, ref)
    assert result.with_conf(0.9).tracking.clear["CLR_TP"] < result.tracking.clear["CLR_TP"]
    assert main(["--data-dir", str(data_dir), "evaluate", str(run_id)]) == 0
    assert "ID switches" in capsys.readouterr().out
    report = tmp_path / "report.html"
    assert main(["--data-dir", str(data_dir), "report", str(run_id), "--out", str(report)]) == 0
    html = report.read_text()
    assert "<h2>Tracking</h2>" in html and f"<td>{result.tracking.clear['IDSW']}</td>" in html
    assert "Stable detection: 3 of the last 5" in html
