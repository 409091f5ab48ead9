"""From a model's classes to VRU types, and riders to their vehicles by box geometry.

A class map sends each model class name to one of:

* a VRU type (``"pedestrian"``, ``"wheelchair_user"`` …): each box of that class is one event;
* ``"vehicle:<VRU type>"`` (``"vehicle:cyclist"`` for ``bicycle``): a vehicle. A person box whose
  lower part lies on the vehicle box becomes a rider of that type and keeps the vehicle box; a
  vehicle without a rider is no event (a parked bicycle is not a road user);
* ``None``: ignored.

Classes missing from the map are ignored. Persons are the classes mapped to ``"pedestrian"``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from vru_desktop.errors import ValidationError
from vru_desktop.store.models import VRU_TYPES

VEHICLE_PREFIX = "vehicle:"
PERSON_TYPE = "pedestrian"
#: Default share of the person box's lower half that must lie on the vehicle box.
DEFAULT_RIDER_THRESHOLD = 0.3

#: The COCO classes that matter for VRUs; every other COCO class is ignored.
COCO_CLASS_MAP: dict[str, str | None] = {
    "person": "pedestrian",
    "bicycle": "vehicle:cyclist",
    "motorcycle": "vehicle:motorcyclist",
}
#: Class names of other models that mean a VRU type or a VRU vehicle (lower case, spaces as "_").
_SYNONYMS: dict[str, str] = {
    "pedestrian": "pedestrian",
    "people": "pedestrian",
    "cyclist": "cyclist",
    "bicyclist": "cyclist",
    "motorcyclist": "motorcyclist",
    "motorbike": "vehicle:motorcyclist",
    "wheelchair_user": "wheelchair_user",
    "wheelchair": "vehicle:wheelchair_user",
    "scooter_rider": "scooter_rider",
    "scooter": "vehicle:scooter_rider",
    "e-scooter": "vehicle:scooter_rider",
    "kick_scooter": "vehicle:scooter_rider",
}


@dataclass(frozen=True)
class RawDetection:
    """One box as the model reported it."""

    box: tuple[float, float, float, float]
    class_name: str
    confidence: float
    track_id: int | None = None


@dataclass(frozen=True)
class VruDetection:
    """One VRU event: a box, its VRU type and, for riders, the vehicle box."""

    box: tuple[float, float, float, float]
    vru_type: str
    confidence: float
    class_name: str
    track_id: int | None = None
    vehicle_box: tuple[float, float, float, float] | None = None
    vehicle_class: str | None = None


def default_class_map(class_names: Iterable[str]) -> dict[str, str | None]:
    """The starting class map for a model's class names: COCO names and known VRU names, else ignore."""
    mapping: dict[str, str | None] = {}
    for name in class_names:
        key = name.strip().lower().replace(" ", "_")
        mapping[name] = COCO_CLASS_MAP.get(key, _SYNONYMS.get(key))
    return mapping


def mapping_choices() -> list[str | None]:
    """Every value a class map entry may take, in the order a person picks from."""
    return [*VRU_TYPES, *(VEHICLE_PREFIX + t for t in VRU_TYPES if t != PERSON_TYPE), None]


def validate_class_map(class_map: dict[str, str | None]) -> None:
    allowed = set(mapping_choices())
    bad = sorted(f"{name} → {value}" for name, value in class_map.items() if value not in allowed)
    if bad:
        raise ValidationError(
            f"Unknown VRU types in the class map: {', '.join(bad)}.",
            hint=f"Use one of {', '.join(v for v in mapping_choices() if v)}, or ignore the class.",
        )


def _area(box: tuple[float, float, float, float]) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def rider_score(
    person: tuple[float, float, float, float], vehicle: tuple[float, float, float, float]
) -> float:
    """How much a person rides a vehicle: the share of the person's lower half lying on the vehicle box.

    0 when the person's horizontal centre is outside the vehicle box (someone walking past).
    """
    centre = (person[0] + person[2]) / 2
    if not vehicle[0] <= centre <= vehicle[2]:
        return 0.0
    lower = (person[0], (person[1] + person[3]) / 2, person[2], person[3])
    overlap = (
        max(lower[0], vehicle[0]),
        max(lower[1], vehicle[1]),
        min(lower[2], vehicle[2]),
        min(lower[3], vehicle[3]),
    )
    lower_area = _area(lower)
    return _area(overlap) / lower_area if lower_area > 0 else 0.0


def map_detections(
    raw: Iterable[RawDetection],
    class_map: dict[str, str | None],
    *,
    rider_threshold: float = DEFAULT_RIDER_THRESHOLD,
) -> list[VruDetection]:
    """Turn one frame's model boxes into VRU events, pairing riders with vehicles.

    Pairs are taken greedily by score (best first), each person and each vehicle at most once, and
    only when the score reaches ``rider_threshold``.
    """
    persons: list[RawDetection] = []
    vehicles: list[tuple[RawDetection, str]] = []
    events: list[VruDetection] = []
    for det in raw:
        target = class_map.get(det.class_name)
        if target is None:
            continue
        if target.startswith(VEHICLE_PREFIX):
            vehicles.append((det, target[len(VEHICLE_PREFIX) :]))
        elif target == PERSON_TYPE:
            persons.append(det)
        else:
            events.append(VruDetection(det.box, target, det.confidence, det.class_name, det.track_id))
    pairs = sorted(
        (
            (score, p, v)
            for p, person in enumerate(persons)
            for v, (vehicle, _) in enumerate(vehicles)
            if (score := rider_score(person.box, vehicle.box)) >= rider_threshold and score > 0
        ),
        key=lambda item: (-item[0], item[1], item[2]),
    )
    rider_of: dict[int, int] = {}
    used_vehicles: set[int] = set()
    for _, p, v in pairs:
        if p not in rider_of and v not in used_vehicles:
            rider_of[p] = v
            used_vehicles.add(v)
    for p, person in enumerate(persons):
        if p in rider_of:
            vehicle, rider_type = vehicles[rider_of[p]]
            events.append(
                VruDetection(
                    person.box,
                    rider_type,
                    person.confidence,
                    person.class_name,
                    person.track_id,
                    vehicle.box,
                    vehicle.class_name,
                )
            )
        else:
            events.append(
                VruDetection(person.box, PERSON_TYPE, person.confidence, person.class_name, person.track_id)
            )
    return events
