""".pt files are unpickled by torch's restricted unpickler: a real YOLO checkpoint (built from the
packaged yolo11n.yaml and saved as Ultralytics' trainer saves one) loads and detects; a pickle that
runs code is refused by add-model, detect and a run, and its payload never runs, unless trusted."""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from pathlib import Path

import pytest

from vru_desktop.cli import main
from vru_desktop.detection import models
from vru_desktop.detection.models import (
    checkpoint_globals,
    load_model,
    prepare_ultralytics,
    trust_question,
    untrusted_globals,
)
from vru_desktop.errors import ModelError
from vru_desktop.settings import TRUSTED_MODELS, resolve_locations
from vru_desktop.store.db import open_database

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``last``: a training checkpoint as the trainer writes it; ``best``: after strip_optimizer."""
    folder = tmp_path_factory.mktemp("checkpoints")
    prepare_ultralytics(resolve_locations(folder / "data"))
    import torch
    import ultralytics
    import yaml
    from ultralytics import YOLO
    from ultralytics.cfg import get_cfg
    from ultralytics.utils.torch_utils import strip_optimizer

    net = YOLO("yolo11n.yaml").model  # the packaged architecture, untrained, no download
    args = get_cfg(overrides={"model": "yolo11n.yaml", "data": "coco8.yaml"})
    net.args = args
    coco8 = Path(ultralytics.__file__).parent / "cfg" / "datasets" / "coco8.yaml"
    net.names = yaml.safe_load(coco8.read_text(encoding="utf-8"))["names"]  # as the trainer sets them
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    last, best = folder / "last.pt", folder / "best.pt"
    torch.save(
        {
            "epoch": 0,
            "best_fitness": 0.0,
            "model": None,
            "ema": deepcopy(net).half(),
            "updates": 1,
            "optimizer": optimizer.state_dict(),
            "train_args": vars(args),
            "train_metrics": {"metrics/mAP50(B)": 0.0, "fitness": 0.0},
            "train_results": {},
            "date": "2026-01-01T00:00:00",
            "version": "8",
        },
        last,
    )
    strip_optimizer(last, best)  # what Ultralytics does to the checkpoints a training leaves
    return {"last": last, "best": best}


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., object], tuple[str]]:
        return exec, (f"open({str(self.marker)!r}, 'w').write('ran')",)


@pytest.fixture
def payload(tmp_path: Path) -> tuple[Path, Path]:
    """A .pt file whose unpickling writes ``marker``."""
    import torch

    marker = tmp_path / "payload-ran.txt"
    path = tmp_path / "evil.pt"
    torch.save({"model": _Payload(marker), "train_args": {}}, path)
    return path, marker


def test_ultralytics_checkpoints_name_only_allowed_classes(checkpoints: dict[str, Path]) -> None:
    best = checkpoint_globals(checkpoints["best"])
    assert "ultralytics.nn.tasks.DetectionModel" in best
    assert "ultralytics.nn.modules.block.C3k2" in best
    assert "torch.nn.modules.conv.Conv2d" in best
    assert "ultralytics.utils.IterableSimpleNamespace" in checkpoint_globals(checkpoints["last"])
    assert untrusted_globals(checkpoints["best"]) == []
    assert untrusted_globals(checkpoints["last"]) == []


@pytest.mark.parametrize("which", ["best", "last"])
def test_an_ultralytics_checkpoint_loads_through_the_restricted_unpickler(
    checkpoints: dict[str, Path], which: str, data_dir: Path
) -> None:
    loaded = load_model(checkpoints[which], resolve_locations(data_dir).ensure())
    assert loaded.names[0] == "person" and len(loaded.names) == 80
    assert loaded.input_size(conf=0.25, iou=0.7, imgsz=64, device="cpu") == (64, 64)  # it ran


def test_add_model_and_detect_refuse_a_pickle_that_runs_code(
    payload: tuple[Path, Path],
    data_dir: Path,
    make_video: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, marker = payload
    assert untrusted_globals(path) == ["builtins.exec"]
    assert main(["--data-dir", str(data_dir), "add-model", str(path)]) == 1
    err = capsys.readouterr().err
    assert "evil.pt carries Python code beyond a YOLO checkpoint (builtins.exec)" in err
    assert "--trust-model" in err
    video = make_video(frames=3)
    assert main(["--data-dir", str(data_dir), "import", str(video)]) == 0
    assert main(["--data-dir", str(data_dir), "detect", "1", "--model", str(path)]) == 1
    # The default model name, found in the models folder, is checked the same way.
    locations = resolve_locations(data_dir).ensure()
    (locations.models_dir / "yolo11n.pt").write_bytes(path.read_bytes())
    capsys.readouterr()
    assert main(["--data-dir", str(data_dir), "detect", "1"]) == 1
    assert "yolo11n.pt carries Python code" in capsys.readouterr().err
    assert not marker.exists()
    database = open_database(locations.database)
    assert database.read_setting(TRUSTED_MODELS) is None
    assert trust_question(database, path) is not None
    database.close()


def test_loading_is_restricted_even_where_the_check_by_name_would_miss_the_code(
    payload: tuple[Path, Path], data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, marker = payload
    monkeypatch.setattr(models, "checkpoint_globals", lambda _path: set())
    with pytest.raises(ModelError) as refused:
        load_model(path, resolve_locations(data_dir).ensure())
    message = str(refused.value)
    assert message.startswith("evil.pt carries Python code beyond a YOLO checkpoint (exec)")
    assert "\n" not in message
    assert not marker.exists()


def test_trust_model_loads_the_file_the_user_trusts_and_remembers_it(
    payload: tuple[Path, Path], data_dir: Path, make_video: Callable[..., Path]
) -> None:
    path, marker = payload
    assert main(["--data-dir", str(data_dir), "add-model", str(path), "--trust-model"]) == 0
    database = open_database(resolve_locations(data_dir).database)
    assert trust_question(database, path) is None  # remembered by SHA-256
    database.close()
    assert main(["--data-dir", str(data_dir), "import", str(make_video(frames=3))]) == 0
    assert main(["--data-dir", str(data_dir), "detect", "1", "--model", str(path)]) == 1  # not a model
    assert marker.read_text() == "ran"
