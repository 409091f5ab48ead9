"""The settings registry: typed keys with defaults and ranges, read by the parts that use them, and
``vru-desktop settings list|get|set``."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from vru_desktop.cli import main
from vru_desktop.detection.runs import parallel_runs
from vru_desktop.errors import UsageError, ValidationError
from vru_desktop.evaluation.run import height_bins_setting
from vru_desktop.settings import (
    CLASS_MAP_PREFIX,
    HEIGHT_BINS,
    PARALLEL_RUNS,
    REGISTRY,
    VIEWER_CACHE_MB,
    get_setting,
    set_setting,
    setting_spec,
    stored_settings,
)
from vru_desktop.store.db import Database

PACKAGE = Path(__file__).resolve().parents[2] / "vru_desktop"


def run(capsys: pytest.CaptureFixture[str], data_dir: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--data-dir", str(data_dir), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_defaults_then_stored_values_reach_the_parts_that_use_them(db: Database) -> None:
    assert get_setting(db, VIEWER_CACHE_MB) == 512
    assert parallel_runs(db) == 1
    assert height_bins_setting(db) == {"near": (80.0, 1e9), "medium": (30.0, 80.0), "far": (0.0, 30.0)}
    assert set_setting(db, PARALLEL_RUNS, 3) == 3
    set_setting(db, HEIGHT_BINS, {"tall": [60, 1e9], "short": [0, 60]})
    assert parallel_runs(db) == 3
    assert height_bins_setting(db) == {"tall": (60.0, 1e9), "short": (0.0, 60.0)}
    assert set_setting(db, PARALLEL_RUNS, None) == 1  # back to the default
    assert db.read_setting(PARALLEL_RUNS) is None


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (PARALLEL_RUNS, 0, r"detection.parallel_runs = 0 is out of range\. Use 1 to 8\."),
        (PARALLEL_RUNS, 2.5, "must be a whole number"),
        (PARALLEL_RUNS, True, "must be a whole number"),
        (VIEWER_CACHE_MB, "512", "must be a whole number"),
        (HEIGHT_BINS, {"far": [30, 0]}, "bin 'far' must be \\[min, max\\]"),
        (HEIGHT_BINS, [], "must map bin names"),
    ],
)
def test_a_bad_value_is_refused_and_nothing_is_stored(
    db: Database, key: str, value: object, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        set_setting(db, key, value)
    assert db.read_setting(key) is None


def test_an_unknown_key_is_refused_with_the_known_ones(db: Database) -> None:
    with pytest.raises(
        UsageError, match=r"There is no setting 'viewer\.cache'\. Known settings: viewer\.cache_mb"
    ):
        set_setting(db, "viewer.cache", 1)
    with pytest.raises(UsageError):
        get_setting(db, CLASS_MAP_PREFIX)  # a family is not a key itself


def test_a_stored_value_no_longer_allowed_falls_back_to_the_default(db: Database) -> None:
    db.write_setting(PARALLEL_RUNS, 99)  # an older version's value, or edited by hand
    assert parallel_runs(db) == 1


def test_family_keys_are_typed_and_listed(db: Database) -> None:
    key = f"{CLASS_MAP_PREFIX}coco:/data/set"
    assert get_setting(db, key) == {}
    with pytest.raises(ValidationError, match="must be a JSON object"):
        set_setting(db, key, ["person"])
    set_setting(db, key, {"person": "pedestrian"})
    assert setting_spec(key).key == CLASS_MAP_PREFIX
    assert stored_settings(db)[key] == {"person": "pedestrian"}


def test_no_module_but_the_registry_spells_a_setting_key() -> None:
    """Keys are named by the registry's constants, so every key in use is declared there."""
    # A dotted lower-case name under an area (file names such as annotations.json are not keys).
    looks_like_key = re.compile(
        r"^(viewer|annotations|detection|evaluation|library|datasets)\.(?!(json|xml|txt|csv|yaml)$)[a-z_]+:?$"
    )
    spelled = [
        (path.relative_to(PACKAGE).as_posix(), node.value)
        for path in PACKAGE.rglob("*.py")
        if path != PACKAGE / "settings.py"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and looks_like_key.match(node.value)
    ]
    assert spelled == []
    registry_source = ast.parse((PACKAGE / "settings.py").read_text())
    declared = {
        node.value
        for node in ast.walk(registry_source)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and looks_like_key.match(node.value)
    }
    assert declared == set(REGISTRY)


def test_cli_list_get_set(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    code, out, _ = run(capsys, data_dir, "settings", "list")
    assert code == 0
    assert "viewer.cache_mb = 512\n" in out
    assert "Use 64 to 65536 MB." in out
    code, out, _ = run(capsys, data_dir, "settings", "set", "viewer.cache_mb", "1024")
    assert (code, out) == (0, "viewer.cache_mb = 1024  (default 512)\n")
    code, out, _ = run(capsys, data_dir, "settings", "get", "viewer.cache_mb")
    assert (code, out) == (0, "1024\n")
    code, out, _ = run(capsys, data_dir, "settings", "list", "--json")
    entries = {entry["key"]: entry for entry in json.loads(out)}
    assert set(entries) == {key for key, spec in REGISTRY.items() if not spec.is_family}
    assert entries["viewer.cache_mb"]["value"] == 1024
    assert entries["viewer.cache_mb"]["default"] == 512
    code, out, _ = run(
        capsys, data_dir, "settings", "set", "evaluation.height_bins", '{"tall": [60, 1e9]}', "--json"
    )
    assert code == 0 and json.loads(out)["value"] == {"tall": [60.0, 1e9]}
    code, out, _ = run(capsys, data_dir, "settings", "set", "viewer.cache_mb")
    assert (code, out) == (0, "viewer.cache_mb = 512\n")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ("set", "viewer.cache_mb", "10"),
            1,
            "error: viewer.cache_mb = 10 is out of range. Use 64 to 65536 MB.",
        ),
        (("set", "viewer.cache_mb", "lots"), 1, "error: viewer.cache_mb: 'lots' is not a whole number."),
        (("set", "evaluation.height_bins", "{"), 1, "is not a JSON object of [min, max] heights"),
        (("get", "viewer.cache"), 2, "error: There is no setting 'viewer.cache'."),
        (("set", "detection.last_model_id", "3"), 1, "is remembered from what you do in the window"),
    ],
)
def test_cli_refuses_bad_values_and_unknown_keys(
    capsys: pytest.CaptureFixture[str], data_dir: Path, args: tuple[str, ...], code: int, message: str
) -> None:
    got, out, err = run(capsys, data_dir, "settings", *args)
    assert got == code
    assert out == ""
    assert message in err
    assert "Traceback" not in err
    _, out, _ = run(capsys, data_dir, "settings", "list", "--json")
    assert all(entry["value"] == entry["default"] for entry in json.loads(out))


def test_the_readme_lists_every_setting() -> None:
    readme = (PACKAGE.parent / "README.md").read_text()
    section = readme.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE)
    assert len(listed) == len(REGISTRY)
    for key, found in zip(REGISTRY, listed, strict=True):
        assert found == key or (key.endswith(":") and found.startswith(key))
