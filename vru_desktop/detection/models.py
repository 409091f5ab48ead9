"""Detector model files: formats, checks, SHA-256, class names, the list of known models, and loading.

Nothing here imports torch or ultralytics at module import: :func:`load_model` does, when a run
starts (in the run's worker thread or the CLI process). Ultralytics picks its backend from the file:
``.pt`` (PyTorch), ``.onnx``, ``*_openvino_model/`` folders, ``.tflite`` and ``.engine`` (TensorRT).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import pickle
import pickletools
import platform
import re
import socket
import sys
import threading
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from vru_desktop import __version__
from vru_desktop.detection.classmap import RawDetection, default_class_map, validate_class_map
from vru_desktop.errors import ModelError, NotFoundError
from vru_desktop.settings import TRUSTED_MODELS, Locations, get_setting, set_setting
from vru_desktop.store.db import Database
from vru_desktop.store.models import DetectorModel

log = logging.getLogger(__name__)

#: Format key → what a person calls it.
MODEL_FORMATS: dict[str, str] = {
    "pt": "PyTorch (.pt)",
    "onnx": "ONNX (.onnx)",
    "openvino": "OpenVINO (*_openvino_model folder)",
    "tflite": "LiteRT / TensorFlow Lite (.tflite)",
    "engine": "TensorRT (.engine)",
}
_SUFFIX_FORMATS = {".pt": "pt", ".onnx": "onnx", ".tflite": "tflite", ".engine": "engine"}
#: Python packages (import names) each format needs at run time, with what to install.
_BACKEND_PACKAGES: dict[str, tuple[tuple[str, ...], str]] = {
    "onnx": (("onnxruntime",), "onnxruntime"),
    "openvino": (("openvino",), "openvino"),
    "tflite": (("ai_edge_litert", "tensorflow"), "ai-edge-litert"),
    "engine": (("tensorrt",), "tensorrt"),
}
#: The model asked for when the user has not chosen one; Ultralytics fetches it where a network exists.
DEFAULT_MODEL_NAME = "yolo11n.pt"
_DOWNLOADABLE = re.compile(r"^yolo(v\d+|\d+)[nsmlx]\.pt$")
MODEL_FILE_HINT = (
    "Model files are .pt, .onnx, .tflite, .engine or an *_openvino_model folder; add one with "
    "Detection ▸ Models… ▸ Add Model File… or 'vru-desktop add-model PATH'."
)


def model_format(path: Path) -> str:
    """The format key of a model path, from its name (as Ultralytics decides its backend)."""
    name = path.name.lower()
    if name.endswith("_openvino_model"):
        return "openvino"
    fmt = _SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ModelError(
            f"{path.name}: not a model format this application runs.",
            hint="Use a .pt, .onnx, .tflite or .engine file, or an OpenVINO folder named '*_openvino_model'.",
        )
    return fmt


def check_model_file(path: Path) -> str:
    """Check that ``path`` looks like a model of its format (cheap checks, no loading); return the format."""
    fmt = model_format(path)
    if not path.exists():
        raise ModelError(f"{path}: model file not found.", hint=MODEL_FILE_HINT)
    if fmt == "openvino":
        if not path.is_dir():
            raise ModelError(f"{path.name}: an OpenVINO model must be a folder with a .xml and a .bin file.")
        xml = sorted(path.glob("*.xml"))
        if not xml:
            raise ModelError(
                f"{path.name}: this OpenVINO model folder has no .xml file.",
                hint="Copy the whole folder Ultralytics exported (.xml, .bin and metadata.yaml).",
            )
        if not xml[0].with_suffix(".bin").exists():
            raise ModelError(
                f"{path.name}: {xml[0].with_suffix('.bin').name} (the weights) is missing from the folder.",
                hint="Copy the whole folder Ultralytics exported (.xml, .bin and metadata.yaml).",
            )
        return fmt
    if path.is_dir():
        raise ModelError(f"{path.name}: is a folder, not a {MODEL_FORMATS[fmt]} file.")
    size = path.stat().st_size
    if size == 0:
        raise ModelError(f"{path.name}: the model file is empty.", hint="Copy it again or choose another.")
    with path.open("rb") as handle:
        head = handle.read(8)
    damaged = f"{path.name}: not a {MODEL_FORMATS[fmt]} model (the file is damaged or another kind of file)."
    if fmt == "pt" and not zipfile.is_zipfile(path):
        raise ModelError(damaged, hint="Export or download the model again.")
    if fmt == "onnx" and head[:1] != b"\x08":  # an ONNX ModelProto starts with its ir_version field
        raise ModelError(damaged, hint="Export the model again with Ultralytics (format=onnx).")
    if fmt == "tflite" and head[4:8] != b"TFL3":
        raise ModelError(damaged, hint="Export the model again with Ultralytics (format=tflite).")
    return fmt


_sha_cache: dict[tuple[Any, ...], str] = {}


def file_sha256(path: Path) -> str:
    """SHA-256 of a model file, or of a model folder (every file's relative name and content, in order).

    Remembered per file size and modification time, so a queue of runs hashes a large model once.
    """
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    key = (str(path), *((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files))
    if key in _sha_cache:
        return _sha_cache[key]
    digest = hashlib.sha256()
    for file in files:
        if path.is_dir():
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        _hash_into(digest, file)
    _sha_cache[key] = digest.hexdigest()
    return _sha_cache[key]


def _hash_into(digest: Any, file: Path) -> None:
    with file.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)


def read_class_names(path: Path, fmt: str) -> dict[str, str]:
    """Class id → name from the metadata Ultralytics embeds, without loading the model.

    OpenVINO folders carry ``metadata.yaml``; ``.tflite`` files carry a zip appended to the file with
    ``metadata.json`` (or, from older exports, a dict literal). Other formats answer ``{}`` here: their
    names are read when the model is
    first loaded for a run (:func:`record_class_names`).
    """
    metadata: dict[str, Any] | None = None
    try:
        if fmt == "openvino" and (path / "metadata.yaml").exists():
            import yaml

            metadata = yaml.safe_load((path / "metadata.yaml").read_text(encoding="utf-8"))
        elif fmt == "tflite" and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                entries = archive.namelist()
                if "metadata.json" in entries:
                    metadata = json.loads(archive.read("metadata.json"))
                elif entries:  # older exports: a Python dict literal in the first entry
                    metadata = ast.literal_eval(archive.read(entries[0]).decode("utf-8"))
    except (OSError, ValueError, SyntaxError, zipfile.BadZipFile) as exc:
        log.warning("cannot read the metadata of %s: %s", path, exc)
    except Exception as exc:  # yaml.YAMLError: a broken metadata file only loses the names here
        log.warning("cannot parse the metadata of %s: %s", path, exc)
    names = (metadata or {}).get("names") or {}
    if isinstance(names, list):
        names = dict(enumerate(names))
    return {str(k): str(v) for k, v in names.items()}


def library_versions() -> dict[str, str]:
    """Versions of the libraries a run's results depend on (read from package metadata, no imports)."""
    return dict(_library_versions())


@functools.cache
def _library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "vru_desktop": __version__}
    for package in (
        "ultralytics-opencv-headless",
        "ultralytics",
        "torch",
        "openvino",
        "ai-edge-litert",
        "onnxruntime",
        "numpy",
        "av",
    ):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


# -- the default model name and the network ---------------------------------------------------------
def network_available() -> bool:
    """Whether a download could work: name resolution answers, and YOLO_OFFLINE is not set."""
    if os.environ.get("YOLO_OFFLINE", "").lower() in {"1", "true", "yes"}:
        return False
    try:
        socket.getaddrinfo("github.com", 443, socket.AF_UNSPEC, 0, 0, socket.AI_ADDRCONFIG)
    except OSError:
        return False
    return True


def resolve_model_path(spec: str | os.PathLike[str], locations: Locations) -> Path:
    """The model file ``spec`` names: a path, or a file name found in the models folder.

    An Ultralytics model name (``yolo11n.pt`` …) that is not on this computer resolves to its place
    in the models folder when a network exists (:func:`ensure_model_file` fetches it); without a
    network it is a :class:`ModelError` telling the person to choose a model file.
    """
    path = Path(spec).expanduser()
    if path.exists():
        return path.resolve()
    in_models = locations.models_dir / path.name
    if in_models.exists():
        return in_models
    if path.parent == Path(".") and _DOWNLOADABLE.match(path.name):
        if network_available():
            return in_models
        raise ModelError(
            f"{path.name} is not on this computer and cannot be downloaded without a network "
            "connection; choose a model file.",
            hint=MODEL_FILE_HINT,
        )
    raise ModelError(f"{path}: model file not found.", hint=MODEL_FILE_HINT)


def ensure_model_file(spec: str | os.PathLike[str], locations: Locations) -> Path:
    """:func:`resolve_model_path`, fetching an Ultralytics model into the models folder when needed."""
    path = resolve_model_path(spec, locations)
    if path.exists():
        return path
    prepare_ultralytics(locations, allow_network=True)
    from ultralytics.utils.downloads import attempt_download_asset

    locations.models_dir.mkdir(parents=True, exist_ok=True)
    try:
        attempt_download_asset(path)
    except Exception as exc:
        raise ModelError(f"{path.name} could not be downloaded: {exc}.", hint=MODEL_FILE_HINT) from exc
    if not path.exists():
        raise ModelError(f"{path.name} could not be downloaded.", hint=MODEL_FILE_HINT)
    return path


# -- what a .pt file may carry without the user's trust --------------------------------------------
# A .pt file is a pickle: it can name any Python callable, and unpickling calls it. A YOLO checkpoint
# needs only tensors, the model's layer classes and a few plain types; a file that names anything else
# is loaded only when the user trusts it (remembered by its SHA-256).
#: What torch's restricted unpickler (``weights_only``) allows by itself: tensors, storages, dtypes.
_TORCH_DEFAULTS = re.compile(
    r"^(torch\._utils\._rebuild_\w+|torch\._tensor\._rebuild_from_type_v2|torch\.[A-Z]\w*(Storage|Tensor)"
    r"|torch\.(Size|device|bool|u?int\d+|b?float\d+\w*|complex\d+)|torch\.nn\.parameter\.Parameter"
    r"|collections\.(OrderedDict|Counter)|builtins\.(set|bytearray|complex)|_codecs\.encode)$"
)
#: Layer classes (torch.nn.Module subclasses): torch's own, Ultralytics' blocks, heads and model classes.
_LAYER_CLASSES = re.compile(
    r"^(torch\.nn\.modules\.\w+|ultralytics\.nn\.modules\.\w+|ultralytics\.nn\.tasks)\.[A-Z]\w*$"
)
#: Plain classes some checkpoints hold: the training arguments, a training checkpoint's loss objects.
_PLAIN_CLASSES = re.compile(r"^ultralytics\.utils\.(IterableSimpleNamespace|(loss|tal)\.[A-Z]\w*)$")
#: NumPy scalars and arrays in a checkpoint's metrics.
_NUMPY = frozenset(
    f"numpy.{name}"
    for name in (
        "dtype",
        "ndarray",
        "core.multiarray.scalar",
        "_core.multiarray.scalar",
        "core.multiarray._reconstruct",
        "_core.multiarray._reconstruct",
    )
)
#: Names older checkpoints use for classes Ultralytics has since renamed (as Ultralytics maps them).
_RENAMED = {
    "ultralytics.nn.modules.block.Silence": "torch.nn.modules.linear.Identity",
    "ultralytics.nn.tasks.YOLOv10DetectionModel": "ultralytics.nn.tasks.DetectionModel",
    "ultralytics.utils.loss.v10DetectLoss": "ultralytics.utils.loss.E2EDetectLoss",
    "ultralytics.yolo.utils.IterableSimpleNamespace": "ultralytics.utils.IterableSimpleNamespace",
}
#: Module names protocol-2 pickles use for Python 3's (as unpickling maps them).
_PYTHON2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}
_FORCE_WEIGHTS_ONLY = "TORCH_FORCE_WEIGHTS_ONLY_LOAD"
_load_lock = threading.Lock()


def checkpoint_globals(path: Path) -> set[str]:
    """Every Python name the pickles in a ``.pt`` file refer to, read without unpickling anything.

    A name the reader cannot work out (built on the stack, an extension code) is ``"?"``, which no
    allow-list accepts.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [archive.read(n) for n in archive.namelist() if n.endswith(".pkl")]
    except (OSError, zipfile.BadZipFile) as exc:
        raise ModelError(f"{path.name}: cannot be read as a PyTorch model: {exc}.") from exc
    if not pickles:
        raise ModelError(
            f"{path.name}: not a PyTorch model (the archive holds no pickle).",
            hint="Export or download the model again.",
        )
    names: set[str] = set()
    for data in pickles:
        try:
            names |= _pickle_globals(data)
        except ValueError as exc:
            raise ModelError(
                f"{path.name}: not a {MODEL_FORMATS['pt']} model (its pickle is damaged: {exc}).",
                hint="Export or download the model again.",
            ) from exc
    return names


def _pickle_globals(data: bytes) -> set[str]:
    names: set[str] = set()
    pushed: list[Any] = []  # what each opcode left on top of the stack, as far as strings go
    memo: dict[int, Any] = {}
    for opcode, arg, _pos in pickletools.genops(data):
        op = opcode.name
        if op in ("GLOBAL", "INST"):
            module, name = str(arg).split(" ", 1)
            names.add(f"{_PYTHON2_MODULES.get(module, module)}.{name}")
        elif op == "STACK_GLOBAL":
            module, name = pushed[-2:] if len(pushed) >= 2 else [None, None]
            ok = isinstance(module, str) and isinstance(name, str)
            names.add(f"{module}.{name}" if ok else "?")
        elif op in ("EXT1", "EXT2", "EXT4"):
            names.add("?")
        if op in ("MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"):
            memo[len(memo) if op == "MEMOIZE" else int(arg)] = pushed[-1] if pushed else None
            continue
        if op in ("GET", "BINGET", "LONG_BINGET"):
            pushed.append(memo.get(int(arg)))
        else:
            is_text = isinstance(arg, str) and ("UNICODE" in op or "STRING" in op)
            pushed.append(arg if is_text else None)
    return names


def _allowed(name: str) -> bool:
    name = _RENAMED.get(name, name)
    return bool(
        _TORCH_DEFAULTS.match(name)
        or _LAYER_CLASSES.match(name)
        or _PLAIN_CLASSES.match(name)
        or name in _NUMPY
    )


def untrusted_globals(path: Path) -> list[str]:
    """The names a ``.pt`` file refers to beyond what a YOLO checkpoint needs (``[]`` for other formats)."""
    if model_format(path) != "pt":
        return []
    return sorted(n for n in checkpoint_globals(path) if not _allowed(n))


def model_trusted(db: Database, sha256: str) -> bool:
    return sha256 in get_setting(db, TRUSTED_MODELS)


def trust_model(db: Database, sha256: str) -> None:
    """Remember that the user trusts the model file with this SHA-256 to run the code it carries."""
    trusted = get_setting(db, TRUSTED_MODELS)
    if sha256 not in trusted:
        set_setting(db, TRUSTED_MODELS, [*trusted, sha256])


def _code_refused(path: Path, names: list[str]) -> ModelError:
    shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    return ModelError(
        f"{path.name} carries Python code beyond a YOLO checkpoint ({shown}); loading it would run that "
        "code, so it was not loaded.",
        hint="Use it only if you trust where it came from: add it in Detection ▸ Models… and confirm, or "
        "pass --trust-model.",
    )


def trust_question(db: Database, path: Path) -> str | None:
    """What to ask before adding a model file that carries code not yet trusted, else ``None``."""
    check_model_file(path)
    names = untrusted_globals(path)
    if not names or model_trusted(db, file_sha256(path)):
        return None
    return (
        f"{path.name} is not a plain YOLO checkpoint: it names Python code ({', '.join(names[:4])}) that "
        "runs when the file is loaded. Trust it only if you know where it came from; an exported format "
        "(.onnx, OpenVINO, .tflite) carries no code."
    )


# -- the list of known models -------------------------------------------------------------------------
def register_model(
    db: Database, path: str | os.PathLike[str], *, name: str | None = None, trust: bool = False
) -> DetectorModel:
    """Add a model file to the known models (or refresh its checksum and names when it is known).

    A ``.pt`` file that carries code beyond a YOLO checkpoint is refused unless ``trust`` (which is
    remembered by the file's SHA-256) or the user trusted it before.
    """
    path = Path(path).expanduser().resolve()
    fmt = check_model_file(path)
    sha = file_sha256(path)
    if trust:
        trust_model(db, sha)
    elif not model_trusted(db, sha) and (names := untrusted_globals(path)):
        raise _code_refused(path, names)
    names = read_class_names(path, fmt)
    with db.transaction() as session:
        model = session.scalars(select(DetectorModel).where(DetectorModel.path == str(path))).first()
        if model is None:
            model = DetectorModel(
                name=name or path.name,
                path=str(path),
                sha256=sha,
                format=fmt,
                class_names=names,
                class_map=default_class_map(names.values()),
            )
            session.add(model)
        else:
            model.sha256 = sha
            if name:
                model.name = name
            if names:
                model.class_names = names
                model.class_map = {**default_class_map(names.values()), **model.class_map}
        session.flush()
        return model


def list_models(db: Database) -> list[DetectorModel]:
    with db.session() as session:
        return list(session.scalars(select(DetectorModel).order_by(DetectorModel.name, DetectorModel.id)))


def get_model(db: Database, model_id: int) -> DetectorModel:
    with db.session() as session:
        model = session.get(DetectorModel, model_id)
    if model is None:
        raise NotFoundError(f"There is no model {model_id}.", hint="See 'vru-desktop models'.")
    return model


def set_class_map(db: Database, model_id: int, class_map: dict[str, str | None]) -> DetectorModel:
    """Replace a model's class map (model class name → VRU type, ``vehicle:<VRU type>`` or ``None``)."""
    validate_class_map(class_map)
    with db.transaction() as session:
        model = session.get(DetectorModel, model_id)
        if model is None:
            raise NotFoundError(f"There is no model {model_id}.")
        model.class_map = dict(class_map)
        return model


def record_class_names(db: Database, model_id: int, names: dict[str, str]) -> dict[str, str | None]:
    """Store the names a loaded model reported; classes not yet in the class map get their default."""
    with db.transaction() as session:
        model = session.get(DetectorModel, model_id)
        if model is None:
            raise NotFoundError(f"There is no model {model_id}.")
        if names != model.class_names:
            model.class_names = dict(names)
        missing = {n: v for n, v in default_class_map(names.values()).items() if n not in model.class_map}
        if missing:
            model.class_map = {**model.class_map, **missing}
        return dict(model.class_map)


# -- loading (imports ultralytics) ------------------------------------------------------------------
def prepare_ultralytics(locations: Locations, *, allow_network: bool = False) -> None:
    """Settings for Ultralytics, before its first import: its files in our cache, no installs, no sync."""
    os.environ.setdefault("YOLO_CONFIG_DIR", str(locations.cache_dir / "ultralytics"))
    os.environ["YOLO_AUTOINSTALL"] = "false"
    if not allow_network:
        os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_VERBOSE", "false")
    # torch imports triton, its kernel compiler (unused for inference), when Ultralytics loads
    # torchvision. libtriton.so carries its own LLVM, whose start-up code binds to the LLVM that a Mesa
    # OpenGL driver exports to the whole process (Qt loads one to convert played video frames) and
    # crashes there. ``None`` makes ``import triton`` fail, which torch takes as "not installed".
    sys.modules.setdefault("triton", None)


def _check_backend(fmt: str, path: Path) -> None:
    if fmt not in _BACKEND_PACKAGES:
        return
    modules, package = _BACKEND_PACKAGES[fmt]
    if not any(importlib.util.find_spec(m) is not None for m in modules):
        raise ModelError(
            f"{path.name}: running {MODEL_FORMATS[fmt]} models needs the Python package '{package}', "
            "which is not installed.",
            hint=f"Install it (pip install {package}) or choose a model in another format.",
        )


def check_tracker_available() -> None:
    """ByteTrack in Ultralytics needs the ``lap`` package; say so before a run starts."""
    if importlib.util.find_spec("lap") is None:
        raise ModelError(
            "Tracking (ByteTrack) needs the Python package 'lap', which is not installed.",
            hint="Install it (pip install 'lap>=0.5.12') or run without tracking.",
        )


@dataclass
class LoadedModel:
    """A loaded Ultralytics model and the class names it reports."""

    yolo: Any
    path: Path
    format: str
    names: dict[int, str]
    _input_sizes: dict[tuple[int, str], tuple[int, int]] = field(default_factory=dict)

    def predict(
        self, images: Sequence[np.ndarray], *, conf: float, iou: float, imgsz: int, device: str
    ) -> list[list[RawDetection]]:
        results = self.yolo.predict(
            list(images), conf=conf, iou=iou, imgsz=imgsz, device=device, verbose=False, stream=False
        )
        return [self._convert(r) for r in results]

    def input_size(self, *, conf: float, iou: float, imgsz: int, device: str) -> tuple[int, int]:
        """The (height, width) the model letterboxes frames to with these settings.

        Asks the predictor after one warm-up call on a blank image (exported models keep the size
        they were exported with, whatever ``imgsz`` says).
        """
        if (imgsz, device) not in self._input_sizes:
            self.predict([np.zeros((64, 64, 3), np.uint8)], conf=conf, iou=iou, imgsz=imgsz, device=device)
            height, width = self.yolo.predictor.imgsz
            self._input_sizes[imgsz, device] = (int(height), int(width))
        return self._input_sizes[imgsz, device]

    def track(
        self, image: np.ndarray, *, conf: float, iou: float, imgsz: int, device: str
    ) -> list[RawDetection]:
        results = self.yolo.track(
            image,
            conf=conf,
            iou=iou,
            imgsz=imgsz,
            device=device,
            persist=True,
            tracker="bytetrack.yaml",
            verbose=False,
        )
        return self._convert(results[0])

    def _convert(self, result: Any) -> list[RawDetection]:
        boxes = result.boxes
        if boxes is None or len(boxes) == 0:
            return []
        xyxy = boxes.xyxy.cpu().numpy().astype(float)
        classes = boxes.cls.cpu().numpy().astype(int)
        confidences = boxes.conf.cpu().numpy().astype(float)
        ids = boxes.id.cpu().numpy().astype(int) if boxes.id is not None else None
        return [
            RawDetection(
                box=(float(b[0]), float(b[1]), float(b[2]), float(b[3])),
                class_name=self.names.get(int(c), str(int(c))),
                confidence=float(p),
                track_id=None if ids is None else int(ids[i]),
            )
            for i, (b, c, p) in enumerate(zip(xyxy, classes, confidences, strict=True))
        ]


def load_model(
    path: Path, locations: Locations, *, device: str = "cpu", trusted: bool = False
) -> LoadedModel:
    """Load a model file with Ultralytics (importing it now); every failure is a :class:`ModelError`.

    A ``.pt`` file is unpickled by torch's restricted unpickler, allowed only the classes a YOLO
    checkpoint needs, unless ``trusted``; one that names anything else is refused before loading.
    """
    fmt = check_model_file(path)
    needed: set[str] | None = None
    if fmt == "pt" and not trusted:
        if names := untrusted_globals(path):
            raise _code_refused(path, names)
        needed = {n for n in checkpoint_globals(path) if not _TORCH_DEFAULTS.match(n)}
    _check_backend(fmt, path)
    if device.startswith("cuda"):
        _check_cuda()
    prepare_ultralytics(locations)
    try:
        from ultralytics import YOLO
    except ImportError as exc:
        raise ModelError(
            f"The detector library (ultralytics) cannot be imported: {exc}.",
            hint="Reinstall the application.",
        ) from exc
    try:
        with _restricted_unpickling(path, needed):
            yolo = YOLO(str(path), task="detect")
        names = {int(k): str(v) for k, v in dict(yolo.names).items()}
    except ModelError:
        raise
    except Exception as exc:
        refused = _refused_global(exc) if needed is not None else None
        if refused is not None:
            raise _code_refused(path, [refused]) from exc
        raise ModelError(
            f"{path.name} cannot be loaded as a {MODEL_FORMATS[fmt]} model: {exc}",
            hint="The file may be incomplete or damaged; export or copy it again, or choose another model.",
        ) from exc
    if yolo.task != "detect":
        raise ModelError(f"{path.name} is a {yolo.task} model, not a detection model.")
    return LoadedModel(yolo, path, fmt, names)


@contextmanager
def _restricted_unpickling(path: Path, needed: set[str] | None) -> Iterator[None]:
    """Every ``torch.load`` inside (Ultralytics' too) is ``weights_only``, allowed the ``needed`` names.

    ``None`` (a trusted file, or not a .pt) changes nothing. The names were checked against the
    allow-list by name; here each must also be what the list means (a layer class is a torch module).
    """
    if needed is None:
        yield
        return
    import torch

    entries: list[Any] = [(_allowed_object(path, name), name) for name in sorted(needed)]
    if "numpy.dtype" in needed:  # a dtype is rebuilt as an instance of its own class
        entries += [cls for cls in vars(np.dtypes).values() if isinstance(cls, type)]
    with _load_lock, torch.serialization.safe_globals(entries):
        before = os.environ.get(_FORCE_WEIGHTS_ONLY)
        os.environ[_FORCE_WEIGHTS_ONLY] = "1"
        try:
            yield
        finally:
            if before is None:
                del os.environ[_FORCE_WEIGHTS_ONLY]
            else:
                os.environ[_FORCE_WEIGHTS_ONLY] = before


def _refused_global(exc: BaseException) -> str | None:
    """The name torch's restricted unpickler refused somewhere in ``exc``'s chain, else ``None``."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, pickle.UnpicklingError):
            found = re.search(r"Unsupported global: GLOBAL (\S+)", str(seen))
            return found.group(1) if found else "a name outside the allow-list"
        seen = seen.__cause__ or seen.__context__
    return None


def _allowed_object(path: Path, name: str) -> Any:
    import torch

    if not _allowed(name):
        raise _code_refused(path, [name])
    target = _RENAMED.get(name, name)
    module_name, _, attr = target.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError):
        obj = None
    if _LAYER_CLASSES.match(target):
        fits = isinstance(obj, type) and issubclass(obj, torch.nn.Module)
    elif _PLAIN_CLASSES.match(target):
        fits = isinstance(obj, type) and obj.__module__ == module_name
    else:
        fits = obj is not None
    if not fits:
        raise _code_refused(path, [name])
    return obj


def _check_cuda() -> None:
    import torch

    if not torch.cuda.is_available():
        raise ModelError("CUDA was chosen but no CUDA device is available here.", hint="Choose the CPU.")


def cuda_available() -> bool:
    """Whether a CUDA device can be offered, without importing torch (an NVIDIA driver is present)."""
    import shutil

    return Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None
