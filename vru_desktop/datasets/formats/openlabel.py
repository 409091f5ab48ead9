"""ASAM OpenLABEL 1.0 JSON: export and import.

Frames are OpenLABEL's frame numbers, 0-based as the standard has them: the same numbers as the
program's decode indices. A 2D box is a ``bbox`` ``[centre x, centre y, width, height]`` in the
pixels of the camera stream's image.

Export writes ``<clip>_v<id>.json`` per video, valid against the OpenLABEL 1.0.0 JSON schema: one
stream ``camera`` (``type`` camera, ``uri`` the video's file name) with its coordinate system
``camera`` (``sensor_cs``) that every box names; ``metadata`` with the video's facts (fingerprint,
size, frame rate, frame count) and the project's camera fields; one object per track (and per box
outside a track) with ``type`` the VRU type, its ``frame_intervals`` and, as object data, ``origin``
(ground_truth or detection), ``track_id`` and, for detections, ``run_id``. Each box carries
``occluded``, ``truncated``, ``crowd`` and ``keyframe`` (booleans), its confidence (detections) and
the box's other attributes (``visibility`` …) as OpenLABEL attributes. Every exported frame has its
``timestamp`` in seconds; the top-level ``frame_intervals`` cover them; a frame with only
detections says ``reviewed: false``.

Import reads any OpenLABEL 1.0 file (or a folder of them, one video per file), checked first
against the schema shipped in ``vru_desktop/resources``. A box belongs to the stream its
``coordinate_system`` names (a stream, or a declared ``sensor_cs``), else to the stream named by a
``stream`` text attribute (Kognic's convention), else to the file's only camera stream. With
several streams one must be chosen; boxes of the others are left out. Rotated boxes (``rbbox``) in
the chosen stream refuse the import; other shapes (polygons, points, cuboids …) are left out. Each
object is a track (its box on every frame it lists, nothing interpolated); the object's ``type`` is
the class name that the class mapping turns into a VRU type. Boolean attributes ``occluded``,
``truncated``, ``crowd`` / ``iscrowd`` and ``keyframe`` become the box's flags, a ``visibility`` of
0.5 or less makes it occluded (as MOT); other attributes are kept. The frames in the top-level
``frame_intervals`` (else the listed frames) are marked reviewed; a box on a frame beyond the video
refuses the import. Objects that this program exported as detections are left out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vru_desktop.datasets.formats.coco import load_json
from vru_desktop.datasets.formats.common import (
    ExportBox,
    ExportVideo,
    SourceBox,
    SourceDataset,
    SourceItem,
    find_files,
)
from vru_desktop.errors import FormatError, NotFoundError, UsageError
from vru_desktop.store.models import DetectionEvent, Project, RunStatus, TestSession, Video

NAME = "openlabel"
SCHEMA_VERSION = "1.0.0"
SCHEMA_FILE = Path(__file__).resolve().parent.parent.parent / "resources" / "openlabel_schema_v1.0.0.json"
STREAM = "camera"
CAMERA_FIELDS = ("camera_model", "camera_view", "lens_type", "resolution", "frame_rate", "signal_type")
#: A frame interval longer than this is refused as nonsense (it would mark that many frames reviewed).
MAX_INTERVAL = 10_000_000
OCCLUDED_VISIBILITY = 0.5
#: Boolean attributes that are the box's flags (normalised names).
FLAGS = {
    "occluded": "occluded",
    "isoccluded": "occluded",
    "truncated": "truncated",
    "istruncated": "truncated",
    "crowd": "crowd",
    "iscrowd": "crowd",
    "keyframe": "keyframe",
}
#: Object data kinds that are shapes other than boxes (left out on import).
SHAPES = ("point2d", "point3d", "poly2d", "poly3d", "cuboid", "mesh", "area_reference", "line_reference")
#: Object data this program writes to describe an object, not the box.
OWN_DATA = ("origin", "track_id", "run_id", "stream")


# -- export --------------------------------------------------------------------------------------
def attach_context(
    session: Session, videos: list[ExportVideo], run_ids: Iterable[int] = (), *, latest_run: bool = False
) -> None:
    """Add the project's camera fields and the chosen runs' detections to each video.

    ``run_ids`` are runs of the exported videos; ``latest_run`` adds each video's latest started run.
    """
    by_id = {v.id: v for v in videos}
    runs: dict[int, int] = {}
    for run_id in run_ids:
        run = session.get(TestSession, run_id)
        if run is None:
            raise NotFoundError(f"No detection run with id {run_id}.", hint="See 'vru-desktop runs'.")
        if run.video_id not in by_id:
            raise UsageError(
                f"Run {run_id} is a run of video {run.video_id}, which is not being exported.",
                hint="Export that video too, or leave the run out.",
            )
        runs[run_id] = run.video_id
    if latest_run and by_id:
        latest = select(TestSession.video_id, func.max(TestSession.id)).where(
            TestSession.video_id.in_(by_id), TestSession.status != RunStatus.CREATED
        )
        for video_id, run_id in session.execute(latest.group_by(TestSession.video_id)):
            runs[run_id] = video_id
    for video in videos:
        row = session.get(Video, video.id)
        project = session.get(Project, row.project_id) if row is not None and row.project_id else None
        if project is not None:
            video.camera = {name: getattr(project, name) for name in CAMERA_FIELDS}
    for run_id, video_id in sorted(runs.items()):
        events = session.execute(
            select(
                DetectionEvent.frame_number,
                DetectionEvent.x1,
                DetectionEvent.y1,
                DetectionEvent.x2,
                DetectionEvent.y2,
                DetectionEvent.vru_type,
                DetectionEvent.track_id,
                DetectionEvent.confidence,
            )
            .where(DetectionEvent.session_id == run_id)
            .order_by(DetectionEvent.frame_number, DetectionEvent.id)
        )
        by_id[video_id].detections += [
            ExportBox(frame, (x1, y1, x2, y2), vru, track, confidence=conf, attributes={"run_id": run_id})
            for frame, x1, y1, x2, y2, vru, track, conf in events
        ]


class OpenLabelWriter:
    needs_images = False

    def write(self, root: Path, videos: list[ExportVideo]) -> dict[str, int]:
        counts = {"files": 0, "objects": 0, "boxes": 0, "detections": 0}
        for video in videos:
            document = video_document(video)
            (root / f"{video.image_prefix}.json").write_text(
                json.dumps(document, separators=(",", ":")), encoding="utf-8"
            )
            counts["files"] += 1
            counts["objects"] += len(document["openlabel"].get("objects", {}))
            counts["boxes"] += len(video.visible_boxes())
            counts["detections"] += len(video.detections)
        return counts


def _intervals(frames: Iterable[int]) -> list[dict[str, int]]:
    out: list[dict[str, int]] = []
    for frame in sorted(set(frames)):
        if out and out[-1]["frame_end"] == frame - 1:
            out[-1]["frame_end"] = frame
        else:
            out.append({"frame_start": frame, "frame_end": frame})
    return out


def _typed(values: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """``{name: value}`` as OpenLABEL's typed lists (boolean, num, text, vec); others left out."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name, value in values.items():
        if isinstance(value, bool):
            kind = "boolean"
        elif isinstance(value, int | float):
            kind = "num"
        elif isinstance(value, str):
            kind = "text"
        elif isinstance(value, list | tuple) and all(
            isinstance(v, int | float | str) and not isinstance(v, bool) for v in value
        ):
            kind, value = "vec", list(value)
        else:
            continue
        out.setdefault(kind, []).append({"name": name, "val": value})
    return out


def _objects_of(video: ExportVideo) -> list[tuple[dict[str, Any], list[ExportBox]]]:
    """Each object's static data and its boxes: one per track, one per box outside a track."""
    groups: dict[tuple[Any, ...], tuple[dict[str, Any], list[ExportBox]]] = {}
    for number, box in enumerate(video.visible_boxes()):
        key = ("gt", box.track_id) if box.track_id is not None else ("gt-box", number)
        static: dict[str, Any] = {"origin": "ground_truth"}
        if box.track_id is not None:
            static["track_id"] = box.track_id
        groups.setdefault(key, (static, []))[1].append(box)
    for number, box in enumerate(video.detections):
        run_id = box.attributes["run_id"]
        key = ("run", run_id, box.track_id) if box.track_id is not None else ("run-box", number)
        static = {"origin": "detection", "run_id": run_id}
        if box.track_id is not None:
            static["track_id"] = box.track_id
        groups.setdefault(key, (static, []))[1].append(box)
    return list(groups.values())


def _bbox(box: ExportBox) -> dict[str, Any]:
    x1, y1, x2, y2 = box.box
    w, h = x2 - x1, y2 - y1
    values: dict[str, Any] = {
        "occluded": box.occluded,
        "truncated": box.truncated,
        "crowd": box.crowd,
        "keyframe": box.is_keyframe,
    }
    if box.confidence is not None:
        values["confidence"] = box.confidence
    values.update((k, v) for k, v in box.attributes.items() if k not in values and k != "run_id")
    return {
        "name": "shape",
        "val": [round(x1 + w / 2, 4), round(y1 + h / 2, 4), round(w, 4), round(h, 4)],
        "coordinate_system": STREAM,
        "attributes": _typed(values),
    }


def video_document(video: ExportVideo) -> dict[str, Any]:
    """One video's OpenLABEL document."""
    covered = set(video.frames) | {b.frame for b in video.visible_boxes()}
    objects: dict[str, Any] = {}
    frames: dict[int, dict[str, Any]] = {f: {} for f in covered}
    for uid, (static, boxes) in enumerate(_objects_of(video)):
        vru = boxes[0].vru_type
        name = f"{vru} {static['track_id']}" if "track_id" in static else f"{vru} box {uid}"
        if static["origin"] == "detection":
            name = f"run {static['run_id']} {name}"
        objects[str(uid)] = {
            "name": name,
            "type": vru,
            "frame_intervals": _intervals(b.frame for b in boxes),
            "object_data": _typed(static),
        }
        for box in boxes:
            entry = frames.setdefault(box.frame, {}).setdefault("objects", {})
            data = entry.setdefault(str(uid), {"object_data": {"bbox": []}})
            data["object_data"]["bbox"].append(_bbox(box))
    for frame, entry in frames.items():
        properties: dict[str, Any] = {}
        if frame < len(video.times):
            properties["timestamp"] = video.times[frame]
        if frame not in covered:
            properties["reviewed"] = False
        if properties:
            entry["frame_properties"] = properties
    metadata: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "name": video.filename,
        "tagged_file": video.filename,
        "annotator": "VRU Desktop",
        "comment": "Frames are 0-based decode indices; boxes are pixels of the video.",
        "video_fingerprint": video.fingerprint,
        "video_width": video.width,
        "video_height": video.height,
        "video_fps": video.fps,
        "video_frame_count": video.frame_count,
        "project": video.project,
        **video.camera,
    }
    camera = " ".join(str(video.camera.get(k) or "") for k in ("camera_model", "camera_view")).strip()
    document: dict[str, Any] = {
        "metadata": metadata,
        "streams": {STREAM: {"type": "camera", "uri": video.filename, "description": camera or "camera"}},
        "coordinate_systems": {STREAM: {"type": "sensor_cs", "parent": "", "children": []}},
        "frame_intervals": _intervals(frames),
        "frames": {str(f): frames[f] for f in sorted(frames)},
    }
    if objects:
        document["objects"] = objects
    return {"openlabel": document}


# -- import --------------------------------------------------------------------------------------
class StreamChoiceNeeded(FormatError):
    """The file has several camera streams and none was chosen; ``streams`` names them."""

    def __init__(self, message: str, streams: list[str], hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.streams = streams


@cache
def _validators() -> tuple[Any, Any]:
    """Validators for a whole document and for one object entry of a frame (``frames[f].objects[uid]``)."""
    import jsonschema

    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    [entry] = schema["definitions"]["frame"]["properties"]["objects"]["patternProperties"].values()
    return (
        jsonschema.Draft7Validator(schema),
        jsonschema.Draft7Validator({"definitions": schema["definitions"], **entry}),
    )


def _shape(value: Any) -> Any:
    """``value`` with every number replaced by its kind: what the schema's checks depend on."""
    if isinstance(value, dict):
        return ("{", tuple((k, _shape(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("[", tuple(_shape(v) for v in value))
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return ("int",)
    if isinstance(value, float):
        return ("float", value.is_integer())
    return ("?", repr(value))


def json_path(*parts: str | int) -> str:
    """A JSON path as jsonschema writes it: ``$.openlabel.frames['3'].objects['0']``."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", part):
            out += f".{part}"
        else:
            out += "['" + part.replace("\\", "\\\\").replace("'", "\\'") + "']"
    return out


def validate(document: Any, file: Path) -> None:
    """Refuse a document that is not valid OpenLABEL 1.0, naming the first place that is wrong."""
    if not isinstance(document, dict) or "openlabel" not in document:
        raise FormatError(
            f"{file}: not an OpenLABEL file (no top-level 'openlabel' object).",
            hint='OpenLABEL 1.0 files are JSON objects of the form {"openlabel": {...}}.',
        )
    error = _first_error(document)
    if error is not None:
        raise FormatError(
            f"{file}: not valid OpenLABEL 1.0 at {error[0]}: {error[1]}.",
            hint="The file must follow the ASAM OpenLABEL 1.0.0 JSON schema.",
        )


def _first_error(document: dict[str, Any]) -> tuple[str, str] | None:
    """The first schema violation as (JSON path, message), or ``None``.

    Checking every box with jsonschema is most of an import's time, and a video's boxes come in a few
    shapes. So the document is checked with the frames' object entries emptied, then each entry on
    its own, once per :func:`_shape`: the schema constrains numbers by their type only (no minimum,
    maximum or uniqueItems), so entries of one shape are valid or invalid together.
    """
    from jsonschema.exceptions import best_match

    whole, one_entry = _validators()
    openlabel = document["openlabel"]
    frames = openlabel.get("frames") if isinstance(openlabel, dict) else None
    entries: list[tuple[str, str, Any]] = []
    if isinstance(frames, dict) and all(
        isinstance(f, dict) and isinstance(f.get("objects", {}), dict) for f in frames.values()
    ):
        emptied: dict[str, Any] = {}
        for key, frame in frames.items():
            objects = frame.get("objects", {})
            entries += [(key, uid, entry) for uid, entry in objects.items()]
            emptied[key] = {**frame, "objects": {uid: {} for uid in objects}} if "objects" in frame else frame
        document = {**document, "openlabel": {**openlabel, "frames": emptied}}
    error = best_match(whole.iter_errors(document))
    if error is not None:
        return error.json_path, error.message
    checked: set[Any] = set()
    for key, uid, entry in entries:
        shape = _shape(entry)
        if shape in checked:
            continue
        error = best_match(one_entry.iter_errors(entry))
        if error is not None:
            path = json_path("openlabel", "frames", key, "objects", uid, *error.absolute_path)
            return path, error.message
        checked.add(shape)
    return None


def _values(data: dict[str, Any], into: dict[str, Any]) -> None:
    """OpenLABEL's typed name/value lists (boolean, num, text, vec) into ``into``."""
    for kind in ("boolean", "num", "text", "vec"):
        for entry in data.get(kind, []):
            if "name" in entry:
                into[entry["name"]] = entry["val"]


def _file_name(uri: str) -> str:
    return PurePosixPath(PureWindowsPath(uri).as_posix()).name


def _stream_of(box: dict[str, Any], openlabel: dict[str, Any], file: Path, where: str) -> str | None:
    streams = openlabel.get("streams", {})
    systems = openlabel.get("coordinate_systems", {})
    system = box.get("coordinate_system")
    if system is not None:
        if system in streams:
            return str(system)
        if system not in systems:
            known = sorted({*streams, *systems})
            raise FormatError(
                f"{file}: {where}: unknown coordinate system '{system}' "
                f"(declared: {', '.join(known) if known else 'none'}).",
                hint="A 2D box's coordinate_system must name a camera stream or a declared "
                "coordinate system.",
            )
        kind = systems[system].get("type") if isinstance(systems[system], dict) else None
        if kind != "sensor_cs":
            raise FormatError(
                f"{file}: {where}: coordinate system '{system}' is a {kind}, not a camera's image.",
                hint="2D boxes must be given in a camera's sensor coordinate system (pixels).",
            )
        return str(system)
    named: dict[str, Any] = {}
    _values(box.get("attributes", {}), named)
    stream = named.get("stream")
    if isinstance(stream, str):
        if streams and stream not in streams:
            raise FormatError(
                f"{file}: {where}: unknown stream '{stream}' (streams: {', '.join(sorted(streams))})."
            )
        return stream
    return None


def _choose_stream(
    found: set[str], openlabel: dict[str, Any], stream: str | None, file: Path
) -> tuple[str | None, list[str]]:
    """The stream to import (the chosen one, or the file's only camera stream) and all of them."""
    declared = openlabel.get("streams", {})
    cameras = {n for n, s in declared.items() if s.get("type", "camera") == "camera"}
    candidates = sorted(found | cameras)
    if stream is not None:
        if stream not in candidates and stream not in declared:
            raise FormatError(
                f"{file}: no stream '{stream}' (streams: {', '.join(candidates) if candidates else 'none'})."
            )
        return stream, candidates
    if len(candidates) > 1:
        raise StreamChoiceNeeded(
            f"{file}: several camera streams ({', '.join(candidates)}); choose the one to import.",
            candidates,
            hint="Choose the stream (--stream NAME, or the stream choice in the import dialog).",
        )
    return (candidates[0] if candidates else None), candidates


def _space(openlabel: dict[str, Any], stream: str | None) -> tuple[float, float] | None:
    """The image size a stream's intrinsics give, where they give one."""
    properties = openlabel.get("streams", {}).get(stream or "", {}).get("stream_properties", {})
    for key in ("intrinsics_pinhole", "intrinsics_fisheye"):
        intrinsics = properties.get(key)
        if isinstance(intrinsics, dict) and intrinsics.get("width_px") and intrinsics.get("height_px"):
            return (float(intrinsics["width_px"]), float(intrinsics["height_px"]))
    return None


def _reviewed(openlabel: dict[str, Any], file: Path) -> set[int]:
    frames = openlabel.get("frames", {})
    intervals = openlabel.get("frame_intervals")
    if not intervals:
        covered = {int(f) for f in frames}
    else:
        covered = set()
        for number, interval in enumerate(intervals):
            where = json_path("openlabel", "frame_intervals", number)
            if not isinstance(interval, dict) or not {"frame_start", "frame_end"} <= interval.keys():
                raise FormatError(f"{file}: {where}: expected {{frame_start, frame_end}}.")
            start, end = interval["frame_start"], interval["frame_end"]
            if not isinstance(start, int) or not isinstance(end, int) or start < 0 or end < start:
                raise FormatError(f"{file}: {where}: frames {start}…{end} are not a 0-based interval.")
            if end - start >= MAX_INTERVAL:
                raise FormatError(f"{file}: {where}: frames {start}…{end} span too many frames.")
            covered.update(range(start, end + 1))
    not_reviewed = {
        int(f) for f, entry in frames.items() if entry.get("frame_properties", {}).get("reviewed") is False
    }
    return covered - not_reviewed


def _box_values(
    objects: dict[str, Any], uid: str, frame_data: dict[str, Any], box: dict[str, Any]
) -> dict[str, Any]:
    """The object's static values, then the frame's, then the box's own attributes."""
    values: dict[str, Any] = {}
    _values(objects[uid].get("object_data", {}), values)
    _values(frame_data, values)
    _values(box.get("attributes", {}), values)
    return values


def _flags(values: dict[str, Any]) -> tuple[dict[str, bool], dict[str, Any]]:
    flags: dict[str, bool] = {}
    rest: dict[str, Any] = {}
    for name, value in values.items():
        key = FLAGS.get(re.sub(r"[\s_\-]+", "", name.lower()))
        if key is not None and isinstance(value, bool):
            flags[key] = value
        elif name not in OWN_DATA:
            rest[name] = value
    visibility = rest.get("visibility")
    if "occluded" not in flags and isinstance(visibility, int | float):
        flags["occluded"] = visibility <= OCCLUDED_VISIBILITY
    return flags, rest


def parse(path: Path, *, stream: str | None = None) -> SourceDataset:
    """An OpenLABEL 1.0 file, or a folder of them (one video per file)."""
    path = Path(path)
    dataset = SourceDataset(NAME, path, [], [])
    for file in find_files(path, "*.json", "OpenLABEL file (*.json)"):
        document = load_json(file)
        validate(document, file)
        dataset.items.append(_item(document["openlabel"], file, dataset, stream))
    return dataset


def _item(openlabel: dict[str, Any], file: Path, dataset: SourceDataset, stream: str | None) -> SourceItem:
    objects: dict[str, Any] = openlabel.get("objects", {})
    for entry in objects.values():
        if entry["type"] not in dataset.labels:
            dataset.labels.append(entry["type"])
    found: list[tuple[int, str, str, dict[str, Any], dict[str, Any], str | None, str]] = []
    for frame_key, frame in sorted(openlabel.get("frames", {}).items(), key=lambda kv: int(kv[0])):
        for uid, entry in frame.get("objects", {}).items():
            data = entry.get("object_data", {})
            base = ("openlabel", "frames", frame_key, "objects", uid, "object_data")
            if uid not in objects:
                raise FormatError(
                    f"{file}: {json_path(*base[:-1])}: object '{uid}' is not declared in openlabel.objects."
                )
            for kind in ("bbox", "rbbox"):
                for number, box in enumerate(data.get(kind, [])):
                    where = json_path(*base, kind, number)
                    found.append(
                        (int(frame_key), uid, kind, box, data, _stream_of(box, openlabel, file, where), where)
                    )
            others = sum(len(v) for k, v in data.items() if k in SHAPES)
            if others:
                dataset.skip("shapes that are not 2D boxes (polygons, points, cuboids …)", others)
    for entry in objects.values():
        static = entry.get("object_data", {})
        count = sum(len(static.get(kind, [])) for kind in ("bbox", "rbbox"))
        if count:
            dataset.skip("boxes given for no frame (static object data)", count)
    chosen, streams = _choose_stream({s for *_, s, _ in found if s is not None}, openlabel, stream, file)
    space = _space(openlabel, chosen)
    metadata = openlabel["metadata"]
    uri = openlabel.get("streams", {}).get(chosen or "", {}).get("uri")
    names = [_file_name(n) for n in (uri, metadata.get("tagged_file"), metadata.get("name")) if n]
    fingerprint = metadata.get("video_fingerprint")
    item = SourceItem(
        names=[*dict.fromkeys([*names, file.stem])],
        reviewed=_reviewed(openlabel, file),
        fingerprint=fingerprint if isinstance(fingerprint, str) else None,
    )
    seen: set[tuple[int, str]] = set()
    for frame, uid, kind, box, data, box_stream, where in found:
        if box_stream is None and len(streams) > 1:
            dataset.skip("boxes with no stream (the file has several)")
            continue
        if box_stream is not None and box_stream != chosen:
            dataset.skip("boxes of other streams")
            continue
        if kind == "rbbox":
            raise FormatError(
                f"{file}: {where}: a rotated box (rbbox); only axis-aligned boxes (bbox) can be imported.",
                hint="Export the boxes as bbox (centre x, centre y, width, height) from the labelling tool.",
            )
        values = _box_values(objects, uid, data, box)
        if values.get("origin") == "detection":
            dataset.skip("detections (objects of a detection run)")
            continue
        if (frame, uid) in seen:
            dataset.skip("second boxes of one object on one frame")
            continue
        seen.add((frame, uid))
        cx, cy, w, h = (float(v) for v in box["val"])
        if w <= 0 or h <= 0:
            dataset.skip("empty boxes (zero width or height)")
            continue
        flags, attributes = _flags(values)
        track_id = values.get("track_id") if values.get("origin") == "ground_truth" else uid
        item.boxes.append(
            SourceBox(
                frame=frame,
                box=(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2),
                label=objects[uid]["type"],
                space=space,
                track=None if track_id is None else _track_key(track_id),
                keyframe=flags.get("keyframe", True),
                occluded=flags.get("occluded", False),
                truncated=flags.get("truncated", False),
                crowd=flags.get("crowd", False),
                attributes=attributes,
                visibility=_visibility(attributes.get("visibility")),
            )
        )
    return item


def _visibility(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and 0 <= value <= 1 else None


def _track_key(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
