"""Firmware images: manifest loading and verification before anything is flashed."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import ImageError
from bench.paths import images_dir as images_dir
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


def load_manifest(directory: Path | None = None) -> list[ImageEntry]:
    d = directory or images_dir()
    p = d / "manifest.json"
    if not p.is_file():
        raise ImageError(f"no image manifest at {p}; build the images with `bench images build`")
    try:
        data = json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise ImageError(f"{p} is not valid JSON ({e}); rebuild it with `bench images build`") from e
    out = []
    for raw in data.get("images", []):
        try:
            out.append(ImageEntry(**raw, base_dir=d))
        except TypeError as e:
            raise ImageError(f"{p}: bad image entry {raw.get('name', '?')}: {e}") from e
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
