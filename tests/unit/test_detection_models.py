"""Model files: formats, checks with clear messages, SHA-256, class names, the default model offline."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from vru_desktop.detection.models import (
    check_model_file,
    file_sha256,
    library_versions,
    load_model,
    model_format,
    read_class_names,
    register_model,
    resolve_model_path,
    set_class_map,
)
from vru_desktop.errors import ModelError, ValidationError
from vru_desktop.settings import resolve_locations

TFLITE_SHA256 = (
    "c8c5ea2b540cee6763aaef944109e710e9be2ee0de6549cff1fd0bae932d6ee6"  # ../shared/models/SOURCES.md
)


@pytest.fixture
def locations(data_dir: Path):
    return resolve_locations(data_dir).ensure()


def test_formats_come_from_the_name() -> None:
    assert model_format(Path("a/yolo11n.pt")) == "pt"
    assert model_format(Path("m.ONNX")) == "onnx"
    assert model_format(Path("x/yolo11n_openvino_model")) == "openvino"
    assert model_format(Path("m.tflite")) == "tflite"
    assert model_format(Path("m.engine")) == "engine"
    with pytest.raises(ModelError, match=r"weights\.h5: not a model format"):
        model_format(Path("weights.h5"))


def test_default_model_offline_gives_a_clear_message(locations, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YOLO_OFFLINE", "1")
    with pytest.raises(ModelError) as info:
        resolve_model_path("yolo11n.pt", locations)
    assert str(info.value).startswith(
        "yolo11n.pt is not on this computer and cannot be downloaded without a network connection; "
        "choose a model file."
    )
    with pytest.raises(ModelError, match="model file not found"):
        resolve_model_path("/nowhere/custom.onnx", locations)


def test_a_model_in_the_models_folder_is_found_by_name(locations, shared_models: Path) -> None:
    shutil.copy(shared_models / "yolov8n_int8.tflite", locations.models_dir / "yolov8n_int8.tflite")
    assert (
        resolve_model_path("yolov8n_int8.tflite", locations) == locations.models_dir / "yolov8n_int8.tflite"
    )


def test_bad_model_files_get_clear_messages(tmp_path: Path, shared_models: Path, locations) -> None:
    text_onnx = tmp_path / "detector.onnx"
    text_onnx.write_text("this is not a model\n")
    with pytest.raises(ModelError, match=r"detector\.onnx: not a ONNX \(\.onnx\) model"):
        check_model_file(text_onnx)
    fake_pt = tmp_path / "weights.pt"
    fake_pt.write_text("<html>404 not found</html>")
    with pytest.raises(ModelError, match=r"weights\.pt: not a PyTorch"):
        check_model_file(fake_pt)
    empty = tmp_path / "empty.tflite"
    empty.write_bytes(b"")
    with pytest.raises(ModelError, match="is empty"):
        check_model_file(empty)
    folder = tmp_path / "broken_openvino_model"
    folder.mkdir()
    (folder / "metadata.yaml").write_text("names: {0: person}\n")
    with pytest.raises(
        ModelError, match=r"broken_openvino_model: this OpenVINO model folder has no \.xml file"
    ):
        check_model_file(folder)
    no_bin = tmp_path / "nobin_openvino_model"
    shutil.copytree(shared_models / "yolo11n_int8_openvino_model", no_bin)
    (no_bin / "yolo11n.bin").unlink()
    with pytest.raises(ModelError, match=r"yolo11n\.bin \(the weights\) is missing"):
        check_model_file(no_bin)
    # A truncated .tflite passes the cheap checks; loading it says what is wrong instead of a traceback.
    truncated = tmp_path / "truncated.tflite"
    truncated.write_bytes((shared_models / "yolov8n_int8.tflite").read_bytes()[:200_000])
    assert check_model_file(truncated) == "tflite"
    with pytest.raises(ModelError, match=r"truncated\.tflite cannot be loaded as a LiteRT"):
        load_model(truncated, locations)


def test_sha256_of_files_and_folders(tmp_path: Path, shared_models: Path) -> None:
    assert file_sha256(shared_models / "yolov8n_int8.tflite") == TFLITE_SHA256
    folder = tmp_path / "copy_openvino_model"
    shutil.copytree(shared_models / "yolo11n_int8_openvino_model", folder)
    first = file_sha256(folder)
    assert first == file_sha256(shared_models / "yolo11n_int8_openvino_model")
    (folder / "metadata.yaml").write_text((folder / "metadata.yaml").read_text() + "\n# edited\n")
    assert file_sha256(folder) != first
    assert first != hashlib.sha256(b"").hexdigest()


def test_class_names_from_embedded_metadata(shared_models: Path) -> None:
    for path, fmt in (
        (shared_models / "yolo11n_int8_openvino_model", "openvino"),
        (shared_models / "yolov8n_int8.tflite", "tflite"),
    ):
        names = read_class_names(path, fmt)
        assert len(names) == 80
        assert (names["0"], names["1"], names["3"]) == ("person", "bicycle", "motorcycle")


def test_registered_models_get_the_coco_class_map_and_it_can_be_edited(db, shared_models: Path) -> None:
    model = register_model(db, shared_models / "yolo11n_int8_openvino_model")
    assert model.format == "openvino"
    assert model.sha256 == file_sha256(shared_models / "yolo11n_int8_openvino_model")
    assert model.class_map["person"] == "pedestrian"
    assert model.class_map["bicycle"] == "vehicle:cyclist"
    assert model.class_map["motorcycle"] == "vehicle:motorcyclist"
    assert model.class_map["car"] is None
    edited = set_class_map(db, model.id, {**model.class_map, "dog": "pedestrian"})
    assert edited.class_map["dog"] == "pedestrian"
    with pytest.raises(ValidationError):
        set_class_map(db, model.id, {"person": "alien"})
    # Registering the same path again keeps the user's edits.
    again = register_model(db, shared_models / "yolo11n_int8_openvino_model")
    assert again.id == model.id
    assert again.class_map["dog"] == "pedestrian"


def test_the_tflite_model_loads_and_finds_people_on_bus_jpg(shared_models: Path, locations) -> None:
    import cv2

    model = load_model(shared_models / "yolov8n_int8.tflite", locations)
    import ultralytics

    image = cv2.imread(str(Path(ultralytics.__file__).parent / "assets" / "bus.jpg"))
    (detections,) = model.predict([image], conf=0.25, iou=0.7, imgsz=640, device="cpu")
    names = sorted(d.class_name for d in detections)
    assert names.count("person") >= 4
    assert "bus" in names
    assert "torch" in library_versions()
    assert any(name.startswith("ultralytics") for name in library_versions())
