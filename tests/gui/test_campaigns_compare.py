"""The Campaigns tab beyond one campaign: comparing two (metrics with their delta intervals, charts,
better and worse videos, missed tracks and added false positives, each opening the viewer), the
charts of a scored campaign, the per-video table opening the run in the Evaluation tab, campaigns
made from the Library's selection and the Datasets filter, and the progress line with time left."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import CAMPAIGN_CONF, campaign_event
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QDialog, QInputDialog
from sqlalchemy import select

import vru_desktop.ui.campaigns.compare_view as compare_view
from vru_desktop.campaigns.compare import compare_campaigns
from vru_desktop.campaigns.definition import create_campaign, get_campaign, launch_campaign
from vru_desktop.detection.models import file_sha256
from vru_desktop.detection.pipeline import RunConfig
from vru_desktop.library.views import project_views
from vru_desktop.settings import resolve_locations
from vru_desktop.store.models import DetectionEvent, DetectorModel, TestSession
from vru_desktop.ui.app import build_window
from vru_desktop.ui.campaigns.compare_view import VERDICT_COLOURS, verdict
from vru_desktop.ui.campaigns.progress import LiveRun, progress_line
from vru_desktop.ui.campaigns.tables import cell_text
from vru_desktop.ui.datasets.workspace import dataset_manager
from vru_desktop.ui.main_window import MainWindow
from vru_desktop.ui.runs.config_dialog import RunConfigDialog


@pytest.fixture
def window(db: Any, data_dir: Path, qtbot: Any) -> Iterator[MainWindow]:
    main = build_window(db, resolve_locations(data_dir).ensure())
    qtbot.addWidget(main)
    main.show()
    yield main
    main.close()


def second_model_runs(db: Any, folder: Path, videos: list[int], *, seed: int = 7) -> int:
    """Another model whose completed runs keep about 70 % of the first runs' detections, boxes
    shifted and scores changed: a worse detector on the same videos."""
    path = folder / "other.onnx"
    path.write_bytes(b"another detector model, for tests only")
    rng = np.random.default_rng(seed)
    with db.transaction() as s:
        model = DetectorModel(name="other.onnx", path=str(path), sha256=file_sha256(path), format="onnx")
        s.add(model)
        s.flush()
        for video_id in videos:
            old = s.scalars(select(TestSession).where(TestSession.video_id == video_id)).one()
            run = TestSession(
                video_id=video_id,
                model_id=model.id,
                config=RunConfig(conf=CAMPAIGN_CONF).to_dict(),
                provenance={"model_sha256": model.sha256},
                status="completed",
                progress=1.0,
            )
            s.add(run)
            s.flush()
            for e in s.scalars(select(DetectionEvent).where(DetectionEvent.session_id == old.id)).all():
                if rng.random() < 0.3:
                    continue
                w, h = e.x2 - e.x1, e.y2 - e.y1
                dx, dy = rng.normal(0, 0.1 * w), rng.normal(0, 0.1 * h)
                s.add(
                    campaign_event(
                        run, video_id, e.frame_number, e.vru_type, rng.random(), e.x1 + dx, e.y1 + dy, w, h
                    )
                )
        return int(model.id)


@pytest.fixture
def two_campaigns(db: Any, campaign_suite: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    other = second_model_runs(db, tmp_path, campaign_suite["videos"])
    for name, model_id in (("base", campaign_suite["model_id"]), ("new", other)):
        create_campaign(
            db, name, model_id, RunConfig(conf=CAMPAIGN_CONF), projects=campaign_suite["projects"]
        )
        assert launch_campaign(db, name) == []  # every video reuses its model's finished run
    return campaign_suite | {"other_model": other}


def _cell(table: Any, row: int, column: int) -> str:
    return table.item(row, column).text()


def _click(qtbot: Any, table: Any, row: int) -> None:
    table.scrollToItem(table.item(row, 0))
    rect = table.visualItemRect(table.item(row, 1))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def _select_two(panel: Any) -> None:
    selection = panel.list.selectionModel()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    selection.clearSelection()
    for row in (0, 1):
        selection.select(panel.list.model().index(row, 0), flags)


def _compared(panel: Any, qtbot: Any) -> dict[str, Any]:
    comparison = panel.comparison
    qtbot.waitUntil(lambda: comparison.result is not None, timeout=60_000)
    return comparison.result["comparison"]


def test_comparing_two_campaigns_shows_every_metric_with_its_delta_interval_and_verdict(
    window: MainWindow, db: Any, two_campaigns: dict[str, Any], qtbot: Any
) -> None:
    panel = window.campaigns  # type: ignore[attr-defined]
    window.show_workspace(panel)
    panel.refresh()
    _select_two(panel)
    assert panel.selected_names() == ["base", "new"]
    panel.compare_button.click()
    assert panel.pages.currentWidget() is panel.comparison
    comparison = _compared(panel, qtbot)
    view = panel.comparison
    expected = compare_campaigns(db, "base", "new")
    assert comparison["metrics"] == expected["metrics"]
    assert comparison["paired"] is True
    table = view.metrics
    rows = {_cell(table, r, 0): r for r in range(table.rowCount())}
    assert set(rows) == set(expected["metrics"])
    kinds = set()
    for name, m in expected["metrics"].items():
        r = rows[name]
        assert [_cell(table, r, c) for c in (1, 2, 3)] == [cell_text(m[k]) for k in ("base", "new", "delta")]
        kind = verdict(name, m["delta_interval"])
        assert _cell(table, r, 6) == (kind or "")
        if kind is not None:
            kinds.add(kind)
            assert table.item(r, 3).foreground().color().name() == VERDICT_COLOURS[kind]
    assert "worse" in kinds  # the second model drops 30 % of the detections
    # the delta chart: one bar per metric with an interval, coloured by its verdict
    (bars,) = view.delta_chart.bars
    shown = ["recall", "precision", "f1", "ap", "ap50", "mr"]
    metrics = expected["metrics"]
    assert list(bars.opts["height"]) == pytest.approx([metrics[n]["delta"] for n in shown])
    assert [b.color().name() for b in bars.opts["brushes"]] == [
        VERDICT_COLOURS[verdict(n, metrics[n]["delta_interval"]) or "inconclusive"] for n in shown
    ]
    # both pooled precision-recall curves are drawn
    assert set(view.pr_chart.curves) == {"base", "new"}
    assert len(view.pr_chart.curves["base"]["recall"]) > 10
    # videos better / worse, each row opening the viewer on its video
    better, worse = expected["videos_better"], expected["videos_worse"]
    assert view.videos.rowCount() == len(better) + len(worse) > 0
    assert [_cell(view.videos, r, 1) for r in range(view.videos.rowCount())] == [
        v["filename"] for v in better + worse
    ]
    video_of = {v.filename: v.video_id for v in get_campaign(db, "new").videos}
    view.pages.setCurrentWidget(view.videos)
    with qtbot.waitSignal(window.openVideoRequested, timeout=3000) as opened:
        _click(qtbot, view.videos, 0)
    assert opened.args[:2] == [video_of[_cell(view.videos, 0, 1)], 0]
    qtbot.waitUntil(lambda: window.tabs.currentWidget() is window.viewer, timeout=5000)
    assert window.viewer.video.id == opened.args[0]
    # tracks and added false positives show only when the comparison has them
    pages = view.pages
    assert pages.isTabVisible(pages.indexOf(view.tracks)) == ("tracks" in comparison)
    assert pages.isTabVisible(pages.indexOf(view.false_positives)) == ("false_positives_added" in comparison)


def test_missed_tracks_and_added_false_positives_open_the_viewer_there(
    window: MainWindow, db: Any, two_campaigns: dict[str, Any], qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    video = two_campaigns["videos"][2]
    filename = get_campaign(db, "new").videos[1].filename
    tracks = {
        "missed_by_new": [
            {"fingerprint": "f", "filename": filename, "video_id": video, "track_id": 4}
            | {"class": "pedestrian", "first_frame": 5, "frames": 3}
        ],
        "missed_by_base": [],
    }
    added = {
        "count": 1,
        "items": [
            {"fingerprint": "f", "filename": filename, "video_id": video, "frame": 7}
            | {"box": [10.0, 20.0, 30.0, 40.0], "score": 0.83}
        ],
    }

    def with_keys(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return compare_campaigns(*args, **kwargs) | {"tracks": tracks, "false_positives_added": added}

    monkeypatch.setattr(compare_view, "compare_campaigns", with_keys)
    panel = window.campaigns  # type: ignore[attr-defined]
    window.show_workspace(panel)
    panel.refresh()
    panel.pages.setCurrentWidget(panel.comparison)
    view = panel.comparison
    view.set_pair("base", "new")
    view.compare_button.click()
    _compared(panel, qtbot)
    pages = view.pages
    assert pages.isTabVisible(pages.indexOf(view.tracks))
    assert pages.tabText(pages.indexOf(view.false_positives)) == "Added false positives (1)"
    assert [_cell(view.tracks, 0, c) for c in range(6)] == [
        "missed by new",
        filename,
        "4",
        "pedestrian",
        "5",
        "3",
    ]
    pages.setCurrentWidget(view.tracks)
    with qtbot.waitSignal(window.openVideoRequested, timeout=3000) as opened:
        _click(qtbot, view.tracks, 0)
    assert opened.args[:2] == [video, 5]
    qtbot.waitUntil(lambda: window.tabs.currentWidget() is window.viewer, timeout=5000)
    assert window.viewer.video.id == video and window.viewer.current == 5

    window.show_workspace(panel)
    pages.setCurrentWidget(view.false_positives)
    assert _cell(view.false_positives, 0, 3) == "10, 20, 30, 40"
    with qtbot.waitSignal(window.openVideoRequested, timeout=3000) as opened:
        _click(qtbot, view.false_positives, 0)
    assert opened.args[:2] == [video, 7]
    assert opened.args[2]["box"] == [10.0, 20.0, 40.0, 60.0]  # x, y, w, h drawn as x1, y1, x2, y2
    qtbot.waitUntil(lambda: window.viewer.current == 7, timeout=5000)
    assert window.viewer.highlight == (7, (10.0, 20.0, 40.0, 60.0), "added false positive 0.83")


def test_verdict_follows_the_interval_and_which_way_is_better() -> None:
    assert verdict("recall", {"low": 0.01, "high": 0.05}) == "better"
    assert verdict("recall", {"low": -0.05, "high": -0.01}) == "worse"
    assert verdict("recall", {"low": -0.01, "high": 0.02}) == "inconclusive"
    assert verdict("mr", {"low": 0.01, "high": 0.05}) == "worse"  # a higher miss rate is worse
    assert verdict("mr", {"low": -0.05, "high": -0.01}) == "better"
    assert verdict("ap75", None) is None
    assert verdict("recall", {"low": None, "high": None}) is None


def _assert_recall_whiskers(charts: Any, groups: dict[str, Any]) -> None:
    """The recall bars' whiskers are the groups' recall intervals (none where a group has none)."""
    whiskers = [item for item in charts.bars.items() if type(item).__name__ == "ErrorBarItem"]
    assert len(whiskers) == 4
    checked = 0
    for x, row in zip(charts.bars.bars[0].opts["x"], groups.values(), strict=True):
        ci = (row["intervals"] or {}).get("recall") or {}
        if ci.get("low") is None:
            continue
        (whisker,) = [w for w in whiskers if x in list(w.opts["x"])]
        at = list(whisker.opts["x"]).index(x)
        assert whisker.opts["top"][at] == pytest.approx(ci["high"] - row["recall"])
        assert whisker.opts["bottom"][at] == pytest.approx(row["recall"] - ci["low"])
        checked += 1
    assert checked >= 1


def test_charts_and_per_video_table_of_a_scored_campaign(
    window: MainWindow, two_campaigns: dict[str, Any], qtbot: Any
) -> None:
    panel = window.campaigns  # type: ignore[attr-defined]
    window.show_workspace(panel)
    panel.refresh()
    panel.list.selectRow(0)
    panel.evaluate_selected()
    qtbot.waitUntil(lambda: panel.scores is not None, timeout=30_000)
    result = panel.scores["protocols"]["default"]
    charts = panel.charts
    panel.pages.setCurrentWidget(charts)
    (bars,) = charts.bars.bars
    recall, interval = result["metrics"]["recall"], result["intervals"]["recall"]
    assert bars.opts["height"][0] == pytest.approx(recall)
    whiskers = [item for item in charts.bars.items() if type(item).__name__ == "ErrorBarItem"]
    assert len(whiskers) == 1
    assert whiskers[0].opts["top"][0] == pytest.approx(interval["high"] - recall)
    assert whiskers[0].opts["bottom"][0] == pytest.approx(recall - interval["low"])
    # a breakdown: per camera view, one group per view, one series per metric
    charts.view.setCurrentText("per camera view")
    views = result["slices"]["camera_view"]
    assert [label for _x, label in charts.bars.getAxis("bottom")._tickLevels[0]] == list(views)
    assert len(charts.bars.bars) == 4
    assert list(charts.bars.bars[0].opts["height"]) == pytest.approx([v["recall"] for v in views.values()])
    # each slice of two or more videos has whiskers at its own interval; a one-video slice none
    assert "95 % bootstrap interval" in charts.bars.plotItem.titleLabel.text
    assert [v["intervals"] is None for v in views.values()].count(True) == 1
    _assert_recall_whiskers(charts, views)
    one_video = next(i for i, v in enumerate(views.values()) if v["intervals"] is None)
    whiskers = [item for item in charts.bars.items() if type(item).__name__ == "ErrorBarItem"]
    assert not any(charts.bars.bars[0].opts["x"][one_video] in list(w.opts["x"]) for w in whiskers)
    charts.view.setCurrentText("per class")
    assert len(charts.bars.bars[0].opts["height"]) == len(result["per_class"])
    _assert_recall_whiskers(charts, result["per_class"])

    # a click on a video of the per-video table opens its run in the Evaluation tab
    panel.pages.setCurrentIndex(0)
    table = panel.per_video
    row = next(r for r in range(table.rowCount()) if _cell(table, r, 1) != "left out")
    run_id = next(v["run_id"] for v in result["per_video"] if v["filename"] == _cell(table, row, 0))
    _click(qtbot, table, row)
    evaluation = window.evaluation
    assert window.tabs.currentWidget() is evaluation
    assert evaluation.view.current_run_id() == run_id
    qtbot.waitUntil(lambda: evaluation.view.result is not None, timeout=30_000)
    assert evaluation.view.result.data.session_id == run_id


def _accept_run_dialog(model_id: int, conf: float) -> Any:
    def accept(dialog: RunConfigDialog) -> int:
        dialog.model_box.setCurrentIndex(dialog.model_box.findData(model_id))
        dialog.conf.setValue(conf)
        dialog.accept()
        return QDialog.DialogCode.Accepted

    return accept


def test_new_campaign_from_the_library_selection_and_from_the_datasets_filter(
    window: MainWindow, db: Any, campaign_suite: dict[str, Any], qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        RunConfigDialog, "exec", _accept_run_dialog(campaign_suite["model_id"], CAMPAIGN_CONF)
    )
    names = iter(["picked", "filtered", "by project"])
    monkeypatch.setattr(QInputDialog, "getText", lambda *_a, **_k: (next(names), True))
    panel = window.campaigns  # type: ignore[attr-defined]
    front = next(p.id for p in project_views(db) if p.name == "front cams")
    window.library.select_project(front)
    videos = window.library.videos
    videos.selectionModel().select(
        videos.model().index(1, 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    (chosen,) = window.selected_video_ids()
    menu = panel.new_button.menu()
    actions = {a.text(): a for a in menu.actions()}
    actions["From Library Selection…"].trigger()
    picked = get_campaign(db, "picked")
    assert [v.video_id for v in picked.videos] == [chosen]
    assert picked.source == {"videos": [chosen]}
    assert panel.selected_name() == "picked"

    manager = dataset_manager(window)
    window.show_workspace(manager)
    qtbot.keyClicks(manager.search, "v1")
    qtbot.waitUntil(lambda: len(manager.visible_video_ids()) == 1, timeout=10_000)
    actions["From Datasets Filter…"].trigger()
    assert [v.video_id for v in get_campaign(db, "filtered").videos] == manager.visible_video_ids()
    assert [v.filename for v in get_campaign(db, "filtered").videos] == ["v1.mp4"]

    actions["From Current Project…"].trigger()  # the Library still shows "front cams"
    by_project = get_campaign(db, "by project")
    assert by_project.source == {"projects": ["front cams"]}
    assert [v.filename for v in by_project.videos] == ["v0.mp4", "v2.mp4"]


def test_progress_line_counts_the_videos_and_the_time_left(
    window: MainWindow, db: Any, campaign_suite: dict[str, Any]
) -> None:
    window.detection.queue.hold(True)  # type: ignore[attr-defined]
    panel = window.campaigns  # type: ignore[attr-defined]
    videos = campaign_suite["videos"]
    panel.create("mixed", campaign_suite["model_id"], RunConfig(conf=CAMPAIGN_CONF), video_ids=videos[:2])
    panel.run_selected()
    assert panel.progress.text() == "2 done (2 reused) · 0 running · 0 queued · 0 failed"
    panel.create("strict", campaign_suite["model_id"], RunConfig(conf=0.6, stride=2), video_ids=videos[:3])
    assert panel.progress.text() == "0 done (0 reused) · 0 running · 0 queued · 0 failed · 3 not launched"
    panel.run_selected()
    assert panel.progress.text() == (
        "0 done (0 reused) · 0 running · 3 queued · 0 failed · time left unknown yet"
    )
    info = get_campaign(db, "strict")
    counts = {videos[i]: 8 + i for i in range(3)}  # the suite's videos have 8, 9 and 10 frames
    # the first run reported 2 of its 4 frames at 2 frames/s: 2 + 5 + 5 frames (stride 2) are left
    live = {info.videos[0].run_id: LiveRun(done=2, total=4, fps=2.0)}
    assert progress_line(info, counts, live, 2.0).endswith("3 queued · 0 failed · about 0:06 left")
    # between two runs the speed of the last one still gives the time left: 4 + 5 + 5 frames at 2/s
    assert progress_line(info, counts, {}, 2.0).endswith("about 0:07 left")
    assert progress_line(info, counts, {}, None).endswith("time left unknown yet")


def test_comparing_with_a_campaign_that_has_nothing_scored_yet_says_why(
    window: MainWindow, db: Any, two_campaigns: dict[str, Any], qtbot: Any
) -> None:
    create_campaign(
        db, "unrun", two_campaigns["model_id"], RunConfig(conf=0.7), video_ids=two_campaigns["videos"]
    )
    panel = window.campaigns  # type: ignore[attr-defined]
    panel.refresh()
    view = panel.comparison
    view.set_pair("base", "unrun")
    view.compare()
    qtbot.waitUntil(lambda: "has no video to score" in view.summary.text(), timeout=60_000)
    assert "Campaign 'unrun'" in view.summary.text()
    assert view.result is None
    view.set_pair("base", "base")
    view.compare()
    assert view.summary.text() == "Choose two different campaigns."
