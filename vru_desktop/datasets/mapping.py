"""Class name → VRU type mapping for imported datasets.

A name maps to a VRU type, or to ``None`` (left out on purpose: cars, occluders …). The mapping used
for a source is, in order: what the user set now (dialog or ``--map SRC=VRU``), what was used the
last time this source was imported (remembered in an app setting per format and dataset path),
then the defaults below (compared case-insensitively, ignoring ``_``, ``-`` and spaces). Names that
none of these cover are *unmapped*: the import either leaves them out or refuses with their list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from vru_desktop.errors import UsageError
from vru_desktop.settings import CLASS_MAP_PREFIX, get_setting, set_setting
from vru_desktop.store.db import Database
from vru_desktop.store.models import VRU_TYPES

IGNORE = "ignore"

#: Defaults, keyed by normalised name (see :func:`normalise`). ``None`` leaves the class out.
DEFAULTS: dict[str, str | None] = {
    **{t.replace("_", ""): t for t in VRU_TYPES},
    "person": "pedestrian",
    "people": "pedestrian",
    "walker": "pedestrian",
    "staticperson": "pedestrian",
    "child": "pedestrian",
    "cyclist": "cyclist",
    "rider": "cyclist",
    "bicyclist": "cyclist",
    "personbicycle": "cyclist",
    "persononvehicle": "cyclist",
    "motorcyclist": "motorcyclist",
    "motorbiker": "motorcyclist",
    "motorcyclerider": "motorcyclist",
    "wheelchair": "wheelchair_user",
    "wheelchairuser": "wheelchair_user",
    "personinwheelchair": "wheelchair_user",
    "scooter": "scooter_rider",
    "escooter": "scooter_rider",
    "scooterrider": "scooter_rider",
    # not vulnerable road users (or not people): left out
    **{
        name: None
        for name in (
            "car",
            "truck",
            "bus",
            "van",
            "train",
            "bicycle",
            "bike",
            "motorbike",
            "motorcycle",
            "nonmotorizedvehicle",
            "distractor",
            "occluder",
            "occluderonground",
            "occluderfull",
            "reflection",
            "ignore",
            "dontcare",
        )
    },
}


def normalise(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.strip().lower())


def setting_key(format_name: str, source: Path) -> str:
    return f"{CLASS_MAP_PREFIX}{format_name}:{Path(source).expanduser().resolve()}"


def default_for(name: str, vru_types: Iterable[str] = VRU_TYPES) -> str | None:
    """The default VRU type of a class name, or ``None`` (also for names with no default)."""
    key = normalise(name)
    for vru in vru_types:
        if normalise(vru) == key:
            return vru
    return DEFAULTS.get(key)


def has_default(name: str) -> bool:
    return normalise(name) in DEFAULTS


def parse_map_options(options: Iterable[str], vru_types: Iterable[str] = VRU_TYPES) -> dict[str, str | None]:
    """``["person=pedestrian", "car=ignore"]`` → ``{"person": "pedestrian", "car": None}``."""
    allowed = list(vru_types)
    result: dict[str, str | None] = {}
    for option in options:
        if "=" not in option:
            raise UsageError(f"--map '{option}': expected SRC=VRU (for example person=pedestrian).")
        source, target = (part.strip() for part in option.rsplit("=", 1))
        if not source:
            raise UsageError(f"--map '{option}': the source class name is empty.")
        if target.lower() in (IGNORE, "none", ""):
            result[source] = None
        elif target in allowed:
            result[source] = target
        else:
            raise UsageError(
                f"--map '{option}': '{target}' is not a VRU type.",
                hint=f"Use one of: {', '.join(allowed)}, or '{IGNORE}'.",
            )
    return result


class ClassMapping:
    """The effective mapping for one import."""

    def __init__(
        self,
        explicit: Mapping[str, str | None] | None = None,
        remembered: Mapping[str, str | None] | None = None,
        vru_types: Iterable[str] = VRU_TYPES,
    ) -> None:
        self.explicit = dict(explicit or {})
        self.remembered = dict(remembered or {})
        self.vru_types = list(vru_types)

    @classmethod
    def for_source(
        cls,
        db: Database,
        format_name: str,
        source: Path,
        explicit: Mapping[str, str | None] | None = None,
    ) -> ClassMapping:
        remembered = get_setting(db, setting_key(format_name, source))
        return cls(explicit, remembered)

    def known(self, name: str) -> bool:
        return name in self.explicit or name in self.remembered or has_default(name)

    def target(self, name: str) -> str | None:
        if name in self.explicit:
            return self.explicit[name]
        if name in self.remembered:
            return self.remembered[name]
        return default_for(name, self.vru_types)

    def unmapped(self, names: Iterable[str]) -> list[str]:
        return [n for n in dict.fromkeys(names) if not self.known(n)]

    def table(self, names: Iterable[str]) -> dict[str, str | None]:
        """Name → VRU type (or ``None``) for every name, unmapped ones as ``None``."""
        return {n: self.target(n) for n in dict.fromkeys(names)}

    def remember(self, db: Database, format_name: str, source: Path, names: Iterable[str]) -> None:
        """Store the mapping of ``names`` used for this source, for its next import."""
        stored = dict(self.remembered)
        for name in names:
            if name in self.explicit or name in self.remembered:
                stored[name] = self.target(name)
        set_setting(db, setting_key(format_name, source), stored)
