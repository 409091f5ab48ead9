"""COCO → VRU mapping and rider–vehicle association by box geometry (no model needed)."""

from __future__ import annotations

import pytest

from vru_desktop.detection.classmap import (
    COCO_CLASS_MAP,
    RawDetection,
    default_class_map,
    map_detections,
    rider_score,
    validate_class_map,
)
from vru_desktop.errors import ValidationError

COCO = {"person": "pedestrian", "bicycle": "vehicle:cyclist", "motorcycle": "vehicle:motorcyclist"}


def person(
    box: tuple[float, float, float, float], conf: float = 0.9, track: int | None = None
) -> RawDetection:
    return RawDetection(box, "person", conf, track)


def test_walking_person_is_a_pedestrian_and_other_classes_are_ignored() -> None:
    events = map_detections(
        [person((10, 10, 50, 130)), RawDetection((200, 50, 400, 200), "car", 0.8)], COCO_CLASS_MAP
    )
    assert [(e.vru_type, e.box, e.vehicle_box) for e in events] == [("pedestrian", (10, 10, 50, 130), None)]


def test_person_on_a_bicycle_is_a_cyclist_keeping_the_vehicle_box() -> None:
    bike = RawDetection((90, 100, 170, 180), "bicycle", 0.7)
    rider = person((100, 20, 160, 150), conf=0.85, track=7)
    (event,) = map_detections([bike, rider], COCO)
    assert event.vru_type == "cyclist"
    assert event.box == (100, 20, 160, 150)
    assert event.confidence == 0.85
    assert event.track_id == 7
    assert event.vehicle_box == (90, 100, 170, 180)
    assert event.vehicle_class == "bicycle"


def test_person_on_a_motorcycle_is_a_motorcyclist() -> None:
    moto = RawDetection((0, 60, 120, 140), "motorcycle", 0.6)
    (event,) = map_detections([person((30, 0, 90, 110)), moto], COCO)
    assert (event.vru_type, event.vehicle_class) == ("motorcyclist", "motorcycle")


def test_pedestrian_walking_past_a_parked_bicycle_stays_a_pedestrian() -> None:
    bike = RawDetection((100, 100, 180, 180), "bicycle", 0.7)
    # Overlaps the bicycle a little but the centre is outside it.
    walker = person((60, 20, 110, 170))
    assert rider_score(walker.box, bike.box) == 0.0
    (event,) = map_detections([walker, bike], COCO)
    assert event.vru_type == "pedestrian"
    assert event.vehicle_box is None


def test_threshold_decides_how_much_of_the_lower_body_must_be_on_the_vehicle() -> None:
    # Lower half of the person is y 100..180; the bicycle covers y 160..200: a quarter of it.
    bike = RawDetection((0, 160, 100, 200), "bicycle", 0.7)
    rider = person((20, 20, 80, 180))
    assert rider_score(rider.box, bike.box) == pytest.approx(0.25)
    assert map_detections([rider, bike], COCO, rider_threshold=0.2)[0].vru_type == "cyclist"
    assert map_detections([rider, bike], COCO, rider_threshold=0.3)[0].vru_type == "pedestrian"


def test_each_vehicle_carries_one_rider_the_best_placed_one() -> None:
    bike = RawDetection((100, 100, 200, 200), "bicycle", 0.7)
    rider = person((120, 0, 180, 190))  # lower half well inside
    passer = person((140, 60, 200, 240))  # centre inside, lower half half on the bicycle
    assert rider_score(rider.box, bike.box) > rider_score(passer.box, bike.box) > 0.5
    events = map_detections([passer, rider, bike], COCO)
    kinds = {e.box: e.vru_type for e in events}
    assert kinds == {rider.box: "cyclist", passer.box: "pedestrian"}


def test_two_riders_two_bicycles_pair_up() -> None:
    bikes = [
        RawDetection((0, 100, 100, 200), "bicycle", 0.7),
        RawDetection((300, 100, 400, 200), "bicycle", 0.6),
    ]
    riders = [person((320, 0, 380, 180)), person((20, 0, 80, 180))]
    events = map_detections([*riders, *bikes], COCO)
    assert {e.box: e.vehicle_box for e in events} == {
        (320, 0, 380, 180): (300, 100, 400, 200),
        (20, 0, 80, 180): (0, 100, 100, 200),
    }


def test_model_specific_classes_follow_the_per_model_class_map() -> None:
    names = ["pedestrian", "wheelchair", "scooter", "dog", "Wheelchair User"]
    mapping = default_class_map(names)
    assert mapping == {
        "pedestrian": "pedestrian",
        "wheelchair": "vehicle:wheelchair_user",
        "scooter": "vehicle:scooter_rider",
        "dog": None,
        "Wheelchair User": "wheelchair_user",
    }
    scooter = RawDetection((0, 100, 80, 200), "scooter", 0.5)
    rider = RawDetection((10, 0, 70, 190), "pedestrian", 0.8)
    user = RawDetection((300, 0, 380, 150), "Wheelchair User", 0.7)
    events = map_detections([scooter, rider, user], mapping)
    assert sorted((e.vru_type, e.vehicle_class) for e in events) == [
        ("scooter_rider", "scooter"),
        ("wheelchair_user", None),
    ]
    # The user can ignore a class.
    assert map_detections([user], {**mapping, "Wheelchair User": None}) == []


def test_class_map_values_are_checked() -> None:
    validate_class_map({"person": "pedestrian", "bicycle": "vehicle:cyclist", "car": None})
    with pytest.raises(ValidationError, match="car → automobile"):
        validate_class_map({"person": "pedestrian", "car": "automobile"})
