"""The bootstrap's matrix path against the plain definition: a resample scored by pooling each video as
many times as it was drawn (the default evaluation, and a named protocol's miss rate)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import CAMPAIGN_CONF as CONF

from vru_desktop.campaigns.bootstrap import BootstrapInput, resample_weights, values
from vru_desktop.campaigns.definition import create_campaign, launch_campaign
from vru_desktop.campaigns.scoring import load_suite, pool
from vru_desktop.detection.pipeline import RunConfig
from vru_desktop.evaluation.ground_truth import EvaluationInput
from vru_desktop.evaluation.protocols import Protocol, available
from vru_desktop.evaluation.run import RunEvaluation

ALL = {"all": (0.0, 1e9)}


def _evaluation(inputs: list[EvaluationInput], protocols: tuple[Protocol, ...] = ()) -> RunEvaluation:
    return RunEvaluation(pool(inputs, conf=CONF).data, 0.5, CONF, ALL, protocols=protocols)


def _straightforward(
    inputs: list[EvaluationInput], weights: np.ndarray, protocols: tuple[Protocol, ...]
) -> dict[str, float | None]:
    """One resample scored the long way: its videos pooled as many times as drawn."""
    drawn = [d for d, n in zip(inputs, weights, strict=True) for _ in range(int(n))]
    result = _evaluation(drawn, protocols)
    overall, stats = result.metrics().overall, result.coco.stats_dict()
    return {
        "recall": overall.recall,
        "precision": overall.precision,
        "f1": overall.f1,
        "ap": stats["AP"],
        "ap50": stats["AP50"],
        "mr": result.protocol_results[0].log_average_miss_rate if protocols else result.miss_rates()["all"],
    }


@pytest.fixture
def suite_inputs(db: Any, campaign_suite: dict[str, Any]) -> list[EvaluationInput]:
    create_campaign(
        db, "A", campaign_suite["model_id"], RunConfig(conf=CONF), projects=campaign_suite["projects"]
    )
    launch_campaign(db, "A")
    return load_suite(db, "A").inputs


@pytest.mark.parametrize("protocol", [None, "citypersons-all"])
def test_every_resample_equals_pooling_its_drawn_videos(
    suite_inputs: list[EvaluationInput], protocol: str | None
) -> None:
    protocols = () if protocol is None else (available()[protocol],)
    pooled = pool(suite_inputs, conf=CONF)
    result = RunEvaluation(pooled.data, 0.5, CONF, ALL, protocols=protocols)
    boot = BootstrapInput.of(result, pooled)
    weights = np.vstack([resample_weights(len(suite_inputs), 12, seed=3), [[0, 3, 0], [1, 0, 2]]])
    fast = values(boot, weights)
    for i, w in enumerate(weights):
        slow = _straightforward(suite_inputs, w, protocols)
        for name, expected in slow.items():
            assert fast[name][i] == pytest.approx(expected, abs=1e-12), (name, w)
    if protocol:  # the protocol's own miss rate, not the default one
        unit = values(boot, np.ones((1, len(suite_inputs))))["mr"][0]
        assert unit == pytest.approx(result.protocol_results[0].log_average_miss_rate, abs=1e-12)
        assert unit != pytest.approx(_evaluation(suite_inputs).miss_rates()["all"])


def test_sums_too_large_for_single_precision_take_the_double_path(
    suite_inputs: list[EvaluationInput],
) -> None:
    pooled = pool(suite_inputs, conf=CONF)
    boot = BootstrapInput.of(_evaluation(suite_inputs), pooled)
    unit = values(boot, np.ones((1, len(suite_inputs))))
    # every video 2**22 times: the weighted counts pass 2**24, and every rate is the same
    scaled = values(boot, np.full((1, len(suite_inputs)), 2.0**22))
    for name in ("recall", "precision", "f1", "ap", "ap50", "mr"):
        assert scaled[name][0] == pytest.approx(unit[name][0], abs=1e-9), name
