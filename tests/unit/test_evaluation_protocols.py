"""Pedestrian protocols: the reference's miss rates on CityPersons, and the rules one by one."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from vru_desktop.cli import main
from vru_desktop.errors import FormatError, ValidationError
from vru_desktop.evaluation.coco import load_coco
from vru_desktop.evaluation.matching import DetectionBoxes, GroundTruthBoxes
from vru_desktop.evaluation.protocols import (
    BUILT_IN,
    BoxConditions,
    Protocol,
    available,
    built_in,
    choose,
    evaluate_protocol,
    load_protocol_file,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "citypersons"

# mean_s * 100 printed by eval_MR_multisetup.py (cvgroup-njust/CityPersons 839c22fb) on val_gt.json
# and synthetic_dt.json, run once in a scratch folder; how: tests/data/citypersons/SOURCES.txt.
REFERENCE_MR = {
    "citypersons-reasonable": 72.7224228346049,
    "citypersons-small": 61.55356363720716,
    "citypersons-heavy": 78.92986510581949,
    "citypersons-all": 83.62510461184452,
    "citypersons-all-50": 79.44007078123393,
    "citypersons-no-occlusion": 57.1007267603789,
    "citypersons-partial": 72.7224228346049,
    "citypersons-partial-0.9": 68.00637860927485,
    "citypersons-bare": 65.1944473633187,
}


@pytest.fixture(scope="module")
def citypersons():
    return load_coco(DATA / "val_gt.json", DATA / "synthetic_dt.json")


@pytest.mark.parametrize("quirks", [True, False])
@pytest.mark.parametrize("name", list(REFERENCE_MR))
def test_reference_miss_rates_reproduced(citypersons, name: str, quirks: bool) -> None:
    data = citypersons
    protocol = dataclasses.replace(built_in()[name], reference_quirks=quirks)
    result = evaluate_protocol(
        protocol, data.gt, data.dt, data.category_names, len(data.image_ids), data.gt_conditions
    )
    assert result.images == 500
    assert result.log_average_miss_rate is not None
    assert abs(100 * result.log_average_miss_rate - REFERENCE_MR[name]) < 1e-4


def _tiled(data, copies: int):
    """The data set ``copies`` times over, each copy on its own images (as new image ids)."""
    n = len(data.image_ids)

    def tile(boxes, cls):
        columns = {f.name: getattr(boxes, f.name) for f in dataclasses.fields(boxes)}
        out = {k: np.concatenate([v] * copies) for k, v in columns.items()}
        out["image"] = np.concatenate([boxes.image + c * n for c in range(copies)])
        return cls(**out)

    conditions = data.gt_conditions
    tiled_conditions = BoxConditions(
        *(np.concatenate([getattr(conditions, f.name)] * copies) for f in dataclasses.fields(conditions))
    )
    return tile(data.gt, GroundTruthBoxes), tile(data.dt, DetectionBoxes), n * copies, tiled_conditions


def test_rounded_fppi_points_of_the_reference_matter_on_5000_images(citypersons) -> None:
    # eval_MR_multisetup.py on CityPersons val ten times over (as tests/benchmarks/
    # test_protocol_speed.py builds it, image ids shifted by 500 per copy), printed by that benchmark.
    gt, dt, n_images, conditions = _tiled(citypersons, 10)
    reasonable = built_in()["citypersons-reasonable"]
    quirky = dataclasses.replace(reasonable, reference_quirks=True)
    classes = citypersons.category_names
    reference = evaluate_protocol(quirky, gt, dt, classes, n_images, conditions)
    assert abs(100 * reference.log_average_miss_rate - 72.7103036105275) < 1e-4
    # With FPPI steps of 1 / 5000, 10^-1.75 and its rounding 0.0178 fall on different curve points.
    exact = evaluate_protocol(reasonable, gt, dt, classes, n_images, conditions)
    assert abs(100 * exact.log_average_miss_rate - 72.7103036105275) > 5e-4


def _gt(boxes, image=None, ignore=None, visibility=None, crowd=None):
    xywh = np.array(boxes, dtype=np.float64).reshape(-1, 4)
    n = len(xywh)
    gt = GroundTruthBoxes(
        image=np.zeros(n, dtype=np.int64) if image is None else np.array(image),
        category=np.zeros(n, dtype=np.int64),
        xywh=xywh,
        size=xywh[:, 2] * xywh[:, 3],
        crowd=np.zeros(n, dtype=bool) if crowd is None else np.array(crowd),
    )
    conditions = BoxConditions.unknown(n)
    if ignore is not None:
        conditions = dataclasses.replace(conditions, ignore=np.array(ignore))
    if visibility is not None:
        conditions = dataclasses.replace(conditions, visibility=np.array(visibility, dtype=np.float64))
    return gt, conditions


def _dt(boxes, scores, image=None):
    xywh = np.array(boxes, dtype=np.float64).reshape(-1, 4)
    n = len(xywh)
    return DetectionBoxes(
        image=np.zeros(n, dtype=np.int64) if image is None else np.array(image),
        category=np.zeros(n, dtype=np.int64),
        xywh=xywh,
        size=xywh[:, 2] * xywh[:, 3],
        score=np.array(scores, dtype=np.float64),
    )


PLAIN = Protocol(name="plain", height=(50, math.inf))


def _run(protocol, gt, dt, n_images=1, conditions=None, frame_size=None):
    return evaluate_protocol(protocol, gt, dt, ["pedestrian"], n_images, conditions, frame_size)


def test_an_ignore_box_absorbs_several_detections_by_intersection_over_detection_area() -> None:
    # A wide ignore box (a group); two detections inside it overlap it by far less than IoU 0.5.
    gt, cond = _gt([[0, 0, 400, 100], [500, 0, 40, 100]], ignore=[True, False])
    dt = _dt([[10, 0, 40, 100], [100, 0, 40, 100], [500, 0, 40, 100]], [0.9, 0.8, 0.7])
    result = _run(PLAIN, gt, dt, conditions=cond)
    assert result.positives == 1 and result.ignored == 1
    # Both absorbed (no false positive), the person found: miss rate 0 everywhere (floored).
    assert result.log_average_miss_rate == pytest.approx(1e-10)
    # As a plain counted box, the group would make two false positives ahead of the hit.
    plain_gt, plain_cond = _gt([[0, 0, 400, 100], [500, 0, 40, 100]])
    plain = _run(PLAIN, plain_gt, dt, conditions=plain_cond)
    assert plain.positives == 2 and plain.log_average_miss_rate > 0.4


def test_coco_crowd_boxes_are_ignore_boxes_under_a_protocol() -> None:
    gt, cond = _gt([[0, 0, 400, 100]], crowd=[True])
    dt = _dt([[10, 0, 40, 100], [100, 0, 40, 100]], [0.9, 0.8])
    result = _run(PLAIN, gt, dt, conditions=cond)
    assert result.positives == 0 and result.ignored == 1 and result.log_average_miss_rate is None


def test_out_of_range_boxes_become_ignore_and_detections_outside_the_expanded_range_are_dropped() -> None:
    # A 40 px person under a >= 50 px protocol is ignored; its detection is neither TP nor FP.
    gt, cond = _gt([[0, 0, 16, 40], [100, 0, 40, 100]])
    reasonable = _run(PLAIN, gt, _dt([[0, 0, 16, 40], [100, 0, 40, 100]], [0.9, 0.8]), conditions=cond)
    assert reasonable.positives == 1 and reasonable.ignored == 1
    assert reasonable.log_average_miss_rate == pytest.approx(1e-10)
    # Unmatched detections: 39 px is below 50 / 1.25 and dropped; 45 px is kept and a false positive.
    dropped = _run(PLAIN, gt, _dt([[300, 0, 16, 39], [100, 0, 40, 100]], [0.9, 0.8]), conditions=cond)
    kept = _run(PLAIN, gt, _dt([[300, 0, 16, 45], [100, 0, 40, 100]], [0.9, 0.8]), conditions=cond)
    assert dropped.detections == 1 and kept.detections == 2
    assert dropped.log_average_miss_rate == pytest.approx(1e-10)
    assert kept.log_average_miss_rate > dropped.log_average_miss_rate


def test_visibility_range_decides_which_boxes_count() -> None:
    gt, cond = _gt([[0, 0, 40, 100], [100, 0, 40, 100], [200, 0, 40, 100]], visibility=[1.0, 0.5, np.nan])
    dt = _dt(np.zeros((0, 4)), [])
    heavy = _run(dataclasses.replace(PLAIN, visibility=(0.2, 0.65)), gt, dt, conditions=cond)
    assert heavy.positives == 1 and heavy.ignored == 2
    # Unknown visibility counts as fully visible.
    bare = _run(dataclasses.replace(PLAIN, visibility=(0.9, math.inf)), gt, dt, conditions=cond)
    assert bare.positives == 2
    occluded = _run(dataclasses.replace(PLAIN, occlusion=("partial", "heavy")), gt, dt, conditions=cond)
    assert occluded.positives == 1


def test_clipping_to_the_frame_lets_a_detector_find_a_person_cut_off_at_the_bottom() -> None:
    # Ground truth runs 60 % past the bottom of a 200 px frame; the detector sees the visible part.
    gt, cond = _gt([[50, 100, 40, 250]])
    dt = _dt([[50, 100, 40, 100]], [0.9])
    frame = np.array([[300.0, 200.0]])
    unclipped = _run(PLAIN, gt, dt, conditions=cond, frame_size=frame)
    clipped = _run(dataclasses.replace(PLAIN, clip_to_frame=True), gt, dt, conditions=cond, frame_size=frame)
    assert unclipped.log_average_miss_rate == pytest.approx(1.0)
    assert clipped.log_average_miss_rate == pytest.approx(1e-10)
    # A file that does not give the image size: nothing to clip to, the box is kept as it is.
    inside, inside_cond = _gt([[50, 100, 40, 100]])
    unknown = np.array([[np.nan, np.nan]])
    clip = dataclasses.replace(PLAIN, clip_to_frame=True)
    kept = _run(clip, inside, dt, conditions=inside_cond, frame_size=unknown)
    assert kept.positives == 1 and kept.log_average_miss_rate == pytest.approx(1e-10)


def test_reference_quirks_switch() -> None:
    # 10 images; the best detection is a false positive (FPPI 0.1 at once), then the hit.
    gt, cond = _gt([[0, 0, 40, 100]])
    dt = _dt([[200, 0, 40, 100], [0, 0, 40, 100]], [0.9, 0.8])
    default = _run(PLAIN, gt, dt, n_images=10, conditions=cond)
    quirky = _run(dataclasses.replace(PLAIN, reference_quirks=True), gt, dt, n_images=10, conditions=cond)
    # dbEval: before the curve starts the miss rate is 1 (4 of the 9 points), then 0 floored at 1e-10.
    assert default.miss_rates.tolist() == [1.0] * 4 + [0.0] * 5
    assert default.log_average_miss_rate == pytest.approx(math.exp(5 * math.log(1e-10) / 9))
    # eval_MR_multisetup.py reads recall[-1] there (the curve's end) and takes log(0): MR 0.
    assert quirky.miss_rates.tolist() == [0.0] * 9
    assert quirky.log_average_miss_rate == 0.0
    assert quirky.fppi_points[1] == 0.0178


def test_protocol_json_round_trip_and_refusals(tmp_path: Path) -> None:
    for protocol in BUILT_IN:
        document = json.loads(json.dumps(protocol.to_dict()))
        assert Protocol.from_dict(document) == protocol
    mine = {"name": "tall", "height": [100, None], "visibility": [0.5, None], "clip_to_frame": True}
    path = tmp_path / "mine.json"
    path.write_text(json.dumps([mine]))
    [tall] = load_protocol_file(path)
    assert tall.height == (100.0, math.inf) and tall.clip_to_frame
    assert "tall" in available(files=[path]) and "caltech-reasonable" in available(files=[path])
    with pytest.raises(FormatError, match="unknown protocol fields \\['heigth'\\]"):
        Protocol.from_dict({"name": "x", "heigth": [1, 2]})
    with pytest.raises(FormatError, match="height range \\[80, 30\\] is empty"):
        Protocol.from_dict({"name": "x", "height": [80, 30]})
    with pytest.raises(ValidationError, match="no protocol 'nope'"):
        choose(["nope"], built_in())


def _cli(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--data-dir", str(tmp_path / "data"), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_evaluate_coco_with_protocols_side_by_side(capsys, tmp_path: Path) -> None:
    gt, dt = str(DATA / "val_gt.json"), str(DATA / "synthetic_dt.json")
    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps({"name": "reasonable-iou-0.4", "iou": 0.4, "visibility": [0.65, None]}))
    code, out, _ = _cli(
        capsys,
        tmp_path,
        "evaluate-coco",
        gt,
        dt,
        "--protocol",
        "citypersons-reasonable",
        "--protocol",
        "reasonable-iou-0.4",
        "--protocol-file",
        str(mine),
        "--json",
    )
    assert code == 0
    rows = json.loads(out)["protocols"]
    assert [r["protocol"] for r in rows] == ["citypersons-reasonable", "reasonable-iou-0.4"]
    assert abs(100 * rows[0]["log_average_miss_rate"] - REFERENCE_MR["citypersons-reasonable"]) < 1e-4
    assert rows[1]["log_average_miss_rate"] < rows[0]["log_average_miss_rate"]

    code, out, _ = _cli(capsys, tmp_path, "evaluate-coco", gt, dt, "--protocol", "citypersons-small")
    assert code == 0 and "citypersons-small" in out and "61.55" in out

    code, _, err = _cli(capsys, tmp_path, "evaluate-coco", gt, dt, "--protocol", "nope")
    assert code == 2 and "no protocol 'nope'" in err and "caltech-reasonable" in err


def test_other_vru_types_are_ignore_boxes_and_their_detections_are_not_scored() -> None:
    classes = ["pedestrian", "cyclist", "wheelchair_user", "car"]
    gt = GroundTruthBoxes(
        image=np.zeros(4, dtype=np.int64),
        category=np.array([0, 1, 2, 3]),
        xywh=np.array([[0, 0, 40, 100], [100, 0, 40, 100], [200, 0, 40, 100], [300, 0, 40, 100]], float),
        size=np.zeros(4),
        crowd=np.zeros(4, dtype=bool),
    )
    # A pedestrian detection on the wheelchair user is absorbed; one on the car is a false positive;
    # a cyclist detection is not scored at all.
    dt = DetectionBoxes(
        image=np.zeros(4, dtype=np.int64),
        category=np.array([0, 0, 0, 1]),
        xywh=np.array([[0, 0, 40, 100], [200, 0, 40, 100], [300, 0, 40, 100], [100, 0, 40, 100]], float),
        size=np.zeros(4),
        score=np.array([0.5, 0.9, 0.4, 0.95]),
    )
    result = evaluate_protocol(built_in()["citypersons-reasonable"], gt, dt, classes, 1)
    assert (result.positives, result.ignored, result.detections) == (1, 2, 3)
    # The true positive comes before the only false positive: nothing missed at any FPPI point.
    assert result.log_average_miss_rate == pytest.approx(1e-10)


def test_caltech_aspect_ratio_standardises_both_sides_about_their_centre() -> None:
    # A wide box and a narrow detection on the same centre: IoU 1/3 as drawn, 1 at width 0.41 x height.
    gt, cond = _gt([[0, 0, 60, 100]])
    dt = _dt([[20, 0, 20, 100]], [0.9])
    assert _run(PLAIN, gt, dt, conditions=cond).log_average_miss_rate == pytest.approx(1.0)
    caltech = built_in()["caltech-reasonable"]
    assert caltech.aspect_ratio == 0.41
    assert _run(caltech, gt, dt, conditions=cond).log_average_miss_rate == pytest.approx(1e-10)
