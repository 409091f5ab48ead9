"""The pooled precision–recall curve of a campaign comes from the pooled matching scoring uses."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import CAMPAIGN_CONF

from vru_desktop.campaigns.curves import pooled_pr_curve
from vru_desktop.campaigns.definition import create_campaign, launch_campaign
from vru_desktop.campaigns.scoring import load_suite, score_protocol
from vru_desktop.detection.pipeline import RunConfig


def test_curve_ends_at_the_pooled_recall_and_precision_at_the_lowest_confidence(
    db: Any, campaign_suite: dict[str, Any]
) -> None:
    projects = campaign_suite["projects"]
    create_campaign(db, "A", campaign_suite["model_id"], RunConfig(conf=CAMPAIGN_CONF), projects=projects)
    launch_campaign(db, "A")
    curve = pooled_pr_curve(db, "A")
    scores = np.array(curve["score"])
    assert len(scores) > 10 and np.all(np.diff(scores) <= 0)
    assert np.all(np.diff(curve["recall"]) >= 0)
    suite = load_suite(db, "A")
    lowest = score_protocol(db, suite, "default", iou=0.5, conf=float(scores[-1]), resamples=0)["metrics"]
    assert curve["recall"][-1] == pytest.approx(lowest["recall"])
    assert curve["precision"][-1] == pytest.approx(lowest["precision"])
    # and at the campaign's own threshold the curve passes through the scored point
    at_conf = score_protocol(db, suite, "default", iou=0.5, conf=0.6, resamples=0)["metrics"]
    n = int(np.count_nonzero(scores >= 0.6))
    assert (curve["recall"][n - 1], curve["precision"][n - 1]) == pytest.approx(
        (at_conf["recall"], at_conf["precision"])
    )


def test_a_campaign_without_scored_videos_has_an_empty_curve(db: Any, campaign_suite: dict[str, Any]) -> None:
    create_campaign(
        db, "unrun", campaign_suite["model_id"], RunConfig(conf=0.7), video_ids=campaign_suite["videos"][:1]
    )
    assert pooled_pr_curve(db, "unrun") == {"score": [], "recall": [], "precision": []}
