"""Firmware images: manifest loading and verification before anything is flashed."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import ImageError
from bench.paths import images_dir as images_dir
from bench.targets.elfcheck import check_cortex_m_elf
from bench.targets.spec import TargetSpec

PROTOCOL_VERSION = 1
ELF_MAGIC = b"\x7fELF"


@dataclass(frozen=True)
class ImageEntry:
    name: str
    file: str
    board: str
    model_family: str
    sha256: str
    protocol_version: int
    build_id: str
    app: str
    flash_bytes: int
    ram_bytes: int
    toolchain: str
    build_command: str
    description: str = ""
    tflite: str | None = None
    model_dir: str | None = None  # the model the image was built from (repo-relative), for the host references
    base_dir: Path | None = None

    @property
    def path(self) -> Path:
        return (self.base_dir or images_dir()) / self.file

    @property
    def is_bench_image(self) -> bool:
        return self.app == "agent"

    def to_json(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "base_dir"}
        return d


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


_REQUIRED_STR = ("name", "file", "board", "model_family", "sha256", "build_id", "app", "toolchain", "build_command")
_REQUIRED_INT = ("protocol_version", "flash_bytes", "ram_bytes")
_OPTIONAL_STR = ("description", "tflite", "model_dir")  # may be null


def _check_entry(raw: Any, i: int, p: Path, seen: set[str]) -> None:
    """One manifest entry, by shape and type; ImageError names the file, the entry and the field."""
    if not isinstance(raw, dict):
        raise ImageError(f"{p}: images[{i}] must be an object with the image's fields, got {type(raw).__name__} "
                         f"{raw!r:.60}; rebuild the manifest with `bench images build`")
    label = f"images[{i}] ({raw['name']!r})" if isinstance(raw.get("name"), str) else f"images[{i}]"
    known = set(_REQUIRED_STR) | set(_REQUIRED_INT) | set(_OPTIONAL_STR)
    missing = [k for k in (*_REQUIRED_STR, *_REQUIRED_INT) if k not in raw]
    extra = sorted(set(raw) - known)
    if missing or extra:
        parts = ([f"missing field(s) {missing}"] if missing else []) + ([f"unknown field(s) {extra}"] if extra else [])
        raise ImageError(f"{p}: {label} has {' and '.join(parts)} (an entry has {', '.join(sorted(known))}); "
                         "rebuild the manifest with `bench images build`")
    for k in _REQUIRED_STR:
        if not isinstance(raw[k], str) or not raw[k]:
            raise ImageError(f"{p}: {label} field {k} must be a non-empty string, got {raw[k]!r}; "
                             "rebuild the manifest with `bench images build`")
    for k in _REQUIRED_INT:
        if isinstance(raw[k], bool) or not isinstance(raw[k], int) or raw[k] < 0:
            raise ImageError(f"{p}: {label} field {k} must be a non-negative integer, got {raw[k]!r}; "
                             "rebuild the manifest with `bench images build`")
    for k in _OPTIONAL_STR:
        if raw.get(k) is not None and not isinstance(raw[k], str):
            raise ImageError(f"{p}: {label} field {k} must be a string or null, got {raw[k]!r}; "
                             "rebuild the manifest with `bench images build`")
    if len(raw["sha256"]) != 64 or any(c not in "0123456789abcdef" for c in raw["sha256"]):
        raise ImageError(f"{p}: {label} field sha256 must be 64 lowercase hex digits, got {raw['sha256']!r}")
    f = Path(raw["file"])
    if f.is_absolute() or ".." in f.parts:
        raise ImageError(f"{p}: {label} field file must be a path inside the manifest's folder, got "
                         f"{raw['file']!r}; images live next to their manifest")
    if raw["name"] in seen:
        raise ImageError(f"{p}: image name {raw['name']!r} appears twice; names must be unique")
    seen.add(raw["name"])


def load_manifest(directory: Path | None = None) -> list[ImageEntry]:
    """The manifest's entries, checked by shape and type (ImageError names the file and the entry)."""
    d = directory or images_dir()
    p = d / "manifest.json"
    if not p.is_file():
        raise ImageError(f"no image manifest at {p}; build the images with `bench images build`")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ImageError(f"{p} is not valid JSON ({e}); rebuild it with `bench images build`") from e
    if not isinstance(data, dict):
        raise ImageError(f"{p} must be a JSON object {{\"images\": [...]}}, but it is a {type(data).__name__}; "
                         "rebuild it with `bench images build`")
    images = data.get("images")
    if not isinstance(images, list):
        raise ImageError(f"{p} has no list \"images\" (got {images!r:.60}); rebuild it with `bench images build`")
    if not images:
        raise ImageError(f"{p} lists no images (\"images\": []); build them with `bench images build`")
    seen: set[str] = set()
    out = []
    for i, raw in enumerate(images):
        _check_entry(raw, i, p, seen)
        out.append(ImageEntry(**raw, base_dir=d))
    return out


def find_image(name: str, directory: Path | None = None) -> ImageEntry:
    entries = load_manifest(directory)
    for e in entries:
        if e.name == name:
            return e
    raise ImageError(f"no image named '{name}' in the manifest; known: {', '.join(e.name for e in entries)}")


def images_for_target(target: TargetSpec, directory: Path | None = None) -> list[ImageEntry]:
    return [e for e in load_manifest(directory) if e.board == target.board and e.is_bench_image]


def verify_image(entry: ImageEntry, target: TargetSpec) -> None:
    """Refuse a missing, corrupt or foreign image before it is flashed or started."""
    p = entry.path
    if not p.is_file():
        raise ImageError(f"image file {p} for '{entry.name}' is missing; run `bench images build`")
    head = p.read_bytes()[:4]
    if head != ELF_MAGIC:
        raise ImageError(f"{p} is not an ELF file (starts with {head!r}); rebuild it with `bench images build`")
    check_cortex_m_elf(p, target.cpu, what=f"image '{entry.name}' ({p})")
    digest = sha256_file(p)
    if digest != entry.sha256:
        raise ImageError(
            f"{p} does not match its manifest (sha256 {digest[:12]}.. != {entry.sha256[:12]}..): the file is "
            "corrupt or was rebuilt without updating the manifest; run `bench images build`"
        )
    if entry.board != target.board:
        raise ImageError(
            f"image '{entry.name}' was built for board '{entry.board}', but target '{target.name}' is a "
            f"'{target.board}'; pick an image for {target.board} (`bench images`) or another target"
        )
    if entry.protocol_version != PROTOCOL_VERSION:
        raise ImageError(
            f"image '{entry.name}' speaks protocol {entry.protocol_version}, this bench speaks "
            f"{PROTOCOL_VERSION}; rebuild the image or use a matching bench version"
        )
    if entry.tflite and not (entry.path.parent / entry.tflite).is_file():
        raise ImageError(
            f"image '{entry.name}' names the TFLM model {entry.tflite} in its manifest, but "
            f"{entry.path.parent / entry.tflite} is missing; write it with `bench export tflite` or "
            "remove the manifest's tflite field"
        )
