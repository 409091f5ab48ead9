"""Protocol miss rate on a large synthetic set, side by side with the CityPersons reference code.

The reference (``eval_MR_multisetup.py`` and its ``coco.py``) is not part of this repository: point
``VRU_EVAL_MR_REFERENCE`` at a folder holding both (ported to Python 3 / numpy 2 as described in
``tests/data/citypersons/SOURCES.txt``). Without it only our time is printed.

Run: ``VRU_EVAL_MR_REFERENCE=/path .venv/bin/python -m pytest tests/benchmarks/test_protocol_speed.py -s``
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import io
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from vru_desktop.evaluation.coco import load_coco
from vru_desktop.evaluation.protocols import built_in, evaluate_protocol

pytestmark = pytest.mark.benchmark

DATA = Path(__file__).resolve().parents[1] / "data" / "citypersons"
COPIES = 10  # the 500 CityPersons val images, 10 times over: 5 000 images, ~58 000 boxes


def _large_set(folder: Path) -> tuple[Path, Path]:
    gt = json.loads((DATA / "val_gt.json").read_text())
    dt = json.loads((DATA / "synthetic_dt.json").read_text())
    n_images, n_anns = len(gt["images"]), len(gt["annotations"])
    images, anns, dets = [], [], []
    for c in range(COPIES):
        images += [{**img, "id": img["id"] + c * n_images} for img in gt["images"]]
        anns += [
            {**a, "id": a["id"] + c * n_anns, "image_id": a["image_id"] + c * n_images}
            for a in gt["annotations"]
        ]
        dets += [{**d, "image_id": d["image_id"] + c * n_images} for d in dt]
    gt_path, dt_path = folder / "gt.json", folder / "dt.json"
    gt_path.write_text(json.dumps({**gt, "images": images, "annotations": anns}))
    dt_path.write_text(json.dumps(dets))
    return gt_path, dt_path


def _reference(folder: str, gt_path: Path, dt_path: Path) -> float:
    sys.path.insert(0, folder)
    try:
        coco = importlib.import_module("coco")
        reference = importlib.import_module("eval_MR_multisetup")
        with contextlib.redirect_stdout(io.StringIO()):
            gt = coco.COCO(str(gt_path))
            dt = gt.loadRes(str(dt_path))
            e = reference.COCOeval(gt, dt, "bbox")
            e.params.imgIds = sorted(gt.getImgIds())
            e.evaluate(0)
            e.accumulate()
            e.summarize(0, io.StringIO())
        mrs = 1 - e.eval["TP"][0, :, 0, 0]
        return float(100 * np.exp(np.log(mrs).mean()))
    finally:
        sys.path.remove(folder)


def test_reasonable_miss_rate_speed(tmp_path: Path) -> None:
    gt_path, dt_path = _large_set(tmp_path)
    # The reference's rounded FPPI points matter at this size (steps of 1 / 5 000 FPPI).
    protocol = dataclasses.replace(built_in()["citypersons-reasonable"], reference_quirks=True)
    start = time.perf_counter()
    data = load_coco(gt_path, dt_path)
    loaded = time.perf_counter()
    ours = evaluate_protocol(
        protocol, data.gt, data.dt, data.category_names, len(data.image_ids), data.gt_conditions
    )
    done = time.perf_counter()
    t_ours = done - start
    assert ours.log_average_miss_rate is not None
    print(
        f"\n{len(data.image_ids)} images, {len(data.gt)} boxes, {len(data.dt)} detections: "
        f"ours {t_ours:.2f} s (load {loaded - start:.2f} s, evaluate {done - loaded:.2f} s), "
        f"MR {100 * ours.log_average_miss_rate:.4f} %"
    )
    folder = os.environ.get("VRU_EVAL_MR_REFERENCE")
    if not folder:
        pytest.skip("VRU_EVAL_MR_REFERENCE not set: reference timing skipped")
    start = time.perf_counter()
    reference = _reference(folder, gt_path, dt_path)
    t_ref = time.perf_counter() - start
    print(f"reference {t_ref:.2f} s, MR {reference!r} %: ours {t_ref / t_ours:.1f}x faster")
    assert abs(reference - 100 * ours.log_average_miss_rate) < 1e-4
