"""The README's apt lines name every Debian package whose libraries the window needs on a real display.

The libraries are worked out from the binaries, not from what this machine happens to have: what
PySide6's xcb platform plugin, its xcb GL integrations and QtMultimedia's FFmpeg plugin link (their
ELF ``DT_NEEDED`` entries), followed through the Qt libraries of the wheel they pull in, each found
with ``ldd`` and mapped to its package with ``dpkg -S``. Libraries inside the wheel need no package;
nor do the packages every Debian system has (``Essential: yes`` and what they depend on).
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import PySide6
import pytest

REPO = Path(__file__).resolve().parents[2]
WHEEL = Path(PySide6.__file__).resolve().parent
QT = WHEEL / "Qt"
PLUGINS = (
    "plugins/platforms/libqxcb.so",
    "plugins/xcbglintegrations/libqxcb-glx-integration.so",
    "plugins/xcbglintegrations/libqxcb-egl-integration.so",
    "plugins/multimedia/libffmpegmediaplugin.so",
)
#: What the real-display test (tests/gui/test_real_display.py) needs besides the window's libraries.
TEST_PACKAGES = {"xvfb", "openbox", "libgl1-mesa-dri"}

pytestmark = pytest.mark.skipif(
    shutil.which("dpkg") is None or shutil.which("ldd") is None,
    reason="needs a Debian-based system (dpkg, ldd) to map libraries to packages",
)


def needed(binary: Path) -> list[str]:
    """The ``DT_NEEDED`` entries of a 64-bit little-endian ELF file (what it links directly)."""
    data = binary.read_bytes()
    assert data[:6] == b"\x7fELF\x02\x01", f"{binary} is not a 64-bit little-endian ELF file"
    (section_offset,) = struct.unpack_from("<Q", data, 0x28)
    entry_size, count = struct.unpack_from("<HH", data, 0x3A)
    sections = [
        struct.unpack_from("<IIQQQQIIQQ", data, section_offset + i * entry_size) for i in range(count)
    ]
    names = []
    for _name, kind, _flags, _address, offset, size, link, *_rest in sections:
        if kind != 6:  # SHT_DYNAMIC
            continue
        strings = sections[link][4]
        for entry in range(offset, offset + size, 16):
            tag, value = struct.unpack_from("<qQ", data, entry)
            if tag == 1:  # DT_NEEDED
                start = strings + value
                names.append(data[start : data.index(b"\0", start)].decode())
    return names


def resolved(binary: Path) -> dict[str, Path | None]:
    """``ldd``: where each library of ``binary`` (directly or not) is found; ``None``: not found."""
    output = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
    found: dict[str, Path | None] = {}
    for line in output.splitlines():
        if match := re.match(r"\s*(\S+) => not found", line):
            found[match[1]] = None
        elif match := re.match(r"\s*(\S+) => (/\S+) \(", line):
            found[match[1]] = Path(match[2])
        elif match := re.match(r"\s*(/\S+) \(", line):
            found[Path(match[1]).name] = Path(match[1])
    return found


def system_libraries() -> tuple[set[Path], list[str]]:
    """The system libraries the plugins and the wheel's Qt libraries they pull link, and what is missing."""
    todo = [QT / plugin for plugin in PLUGINS]
    seen = set(todo)
    system: set[Path] = set()
    missing = []
    while todo:
        binary = todo.pop()
        where = resolved(binary)
        for name in needed(binary):
            path = where.get(name)
            if path is None:
                missing.append(f"{name} (needed by {binary.name})")
            elif path.resolve().is_relative_to(WHEEL):
                if path.resolve() not in seen:
                    seen.add(path.resolve())
                    todo.append(path.resolve())
            else:
                system.add(path)
    return system, missing


def spellings(library: Path) -> set[str]:
    """The paths dpkg may have recorded for ``library`` (its link or target, with or without /usr)."""
    found = set()
    for path in (str(library), str(library.resolve())):
        found |= {path, path.removeprefix("/usr") if path.startswith("/usr/") else "/usr" + path}
    return found


def packages_of(libraries: set[Path]) -> dict[Path, str]:
    """The Debian package that installed each library (``dpkg -S``, one call for all)."""
    asked = sorted(set().union(*(spellings(library) for library in libraries)))
    output = subprocess.run(["dpkg", "-S", *asked], capture_output=True, text=True).stdout
    owner = {}
    for line in output.splitlines():
        packages, path = line.split(": ", 1)
        owner[path] = packages.split(":")[0]
    found = {
        library: next((owner[p] for p in spellings(library) if p in owner), None) for library in libraries
    }
    unowned = sorted(str(library) for library, package in found.items() if package is None)
    assert not unowned, f"no Debian package owns {unowned}"
    return found  # type: ignore[return-value]


def always_installed() -> set[str]:
    """Essential packages and everything they depend on: present on every Debian system."""
    fields = "${Package}\t${Essential}\t${Pre-Depends}, ${Depends}\n"
    output = subprocess.run(["dpkg-query", "-W", "-f", fields], capture_output=True, text=True).stdout
    depends: dict[str, set[str]] = {}
    todo = []
    for line in output.splitlines():
        name, essential, relations = line.split("\t")
        depends[name] = {re.split(r"[\s:(]", d.strip())[0] for d in re.split(r"[,|]", relations) if d.strip()}
        if essential == "yes":
            todo.append(name)
    found: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo.extend(depends.get(name, ()))
    return found


def readme_apt_packages(marker: str) -> set[str]:
    """The packages the README's command after ``<!-- marker -->`` installs with apt-get."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    command = text.split(f"<!-- {marker} -->", 1)[1].split("```bash\n", 1)[1].split("\n", 1)[0]
    match = re.search(r"apt-get install -y ([^&]+)&&", command)
    assert match, f"the {marker} line has no 'apt-get install -y …' step"
    return set(match[1].split())


def test_the_readme_apt_lines_name_every_package_the_xcb_and_ffmpeg_plugins_need() -> None:
    libraries, missing = system_libraries()
    assert not missing, f"libraries not found on this machine (install their packages): {missing}"
    assert any(library.name.startswith("libxcb-icccm") for library in libraries), libraries
    packages = set(packages_of(libraries).values()) - always_installed()
    assert {"libxcb-icccm4", "libxcb-keysyms1", "libpulse0"} <= packages, packages
    run_line, test_line = readme_apt_packages("run-command"), readme_apt_packages("test-command")
    assert packages <= run_line, f"the README's install line lacks {sorted(packages - run_line)}"
    assert packages | TEST_PACKAGES <= test_line, (
        f"the README's test line lacks {sorted(packages | TEST_PACKAGES - test_line)}"
    )
