"""Builds every image listed in firmware/images.toml, reproducibly, and writes the manifest.

Same sources and toolchain -> same bytes: relative paths, -ffile-prefix-map, no build-id
note, no timestamps, sorted inputs. `bench images build [--check]`.
"""

from __future__ import annotations

import glob
import hashlib
import json
import shlex
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import ConfigError, ImageError
from bench.images import PROTOCOL_VERSION, ImageEntry, images_dir, sha256_file
from bench.paths import repo_root

CC = "arm-none-eabi-gcc"
COMMON_CFLAGS = [
    "-O2", "-std=c99", "-ffp-contract=off", "-ffunction-sections", "-fdata-sections",
    "-Wall", "-Wextra", "-Werror", "-g0",
]
LDFLAGS = ["-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs", "-Wl,--gc-sections",
           "-Wl,--build-id=none"]
AGENT_SOURCES = ["firmware/agent/bench_agent.c", "firmware/apps/agent_main.c"]
AGENT_INCLUDE = ["firmware/agent"]
BUILD_COMMAND = "bench images build"


@dataclass(frozen=True)
class BuiltImage:
    entry: ImageEntry
    command: list[str]


def _expand(root: Path, patterns: list[str], where: str) -> list[str]:
    out: list[str] = []
    for pat in patterns:
        hits = sorted(glob.glob(pat, root_dir=root))
        if not hits:
            raise ConfigError(f"{where}: '{pat}' matches no file")
        out.extend(h for h in hits if h not in out)
    return out


def toolchain_version() -> str:
    if shutil.which(CC) is None:
        raise ImageError(f"{CC} not found: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi")
    return subprocess.run([CC, "--version"], capture_output=True, text=True, check=True).stdout.splitlines()[0]


def _build_id(root: Path, files: list[str], flags: list[str]) -> str:
    h = hashlib.sha256()
    for f in flags:
        h.update(f.encode() + b"\0")
    for f in files:
        h.update(f.encode() + b"\0")
        h.update((root / f).read_bytes())
    return h.hexdigest()[:12]


def _headers(root: Path, include: list[str]) -> list[str]:
    hs: list[str] = []
    for d in include:
        hs.extend(sorted(str(p.relative_to(root)) for p in (root / d).glob("*.h")))
    return hs


def _elf_sizes(path: Path) -> tuple[int, int]:
    from elftools.elf.elffile import ELFFile

    flash = ram = 0
    with open(path, "rb") as f:
        elf = ELFFile(f)
        for sec in elf.iter_sections():
            flags = sec["sh_flags"]
            if not flags & 0x2:  # SHF_ALLOC
                continue
            if sec["sh_type"] == "SHT_NOBITS":
                ram += sec["sh_size"]
            elif flags & 0x1:  # SHF_WRITE: .data lives in flash and RAM
                flash += sec["sh_size"]
                ram += sec["sh_size"]
            else:
                flash += sec["sh_size"]
    return flash, ram


IMAGE_KEYS = ("name", "board", "app", "model_family", "sources", "cflags", "description", "tflite", "model_dir")
BOARD_KEYS = ("cflags", "sources", "include", "ldscript")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(f"{path}: no such images TOML") from e
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from e


def _strings(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def check_spec(spec: dict[str, Any], where: str) -> None:
    """An images TOML by shape and type; ConfigError names the file, the entry and the key."""
    boards = spec.get("boards", {})
    if not isinstance(boards, dict):
        raise ConfigError(f"{where}: boards must be tables [boards.<board>]")
    for b, t in boards.items():
        w = f"{where} [boards.{b}]"
        if not isinstance(t, dict):
            raise ConfigError(f"{w}: must be a table with {', '.join(BOARD_KEYS)}")
        missing = [k for k in BOARD_KEYS if k not in t]
        if missing:
            raise ConfigError(f"{w}: missing key(s) {missing}")
        for k in ("cflags", "sources", "include"):
            if not _strings(t[k]):
                raise ConfigError(f"{w}: {k} must be a list of strings, got {t[k]!r}")
        if not isinstance(t["ldscript"], str):
            raise ConfigError(f"{w}: ldscript must be a string (a path from the repository root)")
    images = spec.get("image", [])
    if not isinstance(images, list) or not images:
        raise ConfigError(f"{where}: no [[image]] entries; each image is one [[image]] table")
    seen: set[str] = set()
    for i, img in enumerate(images):
        if not isinstance(img, dict):
            raise ConfigError(f"{where}: image {i} must be a table ([[image]])")
        w = f"{where} [[image]] {img.get('name', i)!r}"
        missing = [k for k in ("name", "board", "model_family", "sources") if k not in img]
        unknown = sorted(set(img) - set(IMAGE_KEYS))
        if missing or unknown:
            raise ConfigError(f"{w}: " + "; ".join(([f"missing key(s) {missing}"] if missing else [])
                                                  + ([f"unknown key(s) {unknown}"] if unknown else []))
                              + f" (keys: {', '.join(IMAGE_KEYS)})")
        for k in ("name", "board", "model_family", "app", "description", "tflite", "model_dir"):
            if k in img and not isinstance(img[k], str):
                raise ConfigError(f"{w}: {k} must be a string, got {img[k]!r}")
        for k in ("sources", "cflags"):
            if k in img and not _strings(img[k]):
                raise ConfigError(f"{w}: {k} must be a list of strings, got {img[k]!r}")
        if img.get("app", "agent") not in ("agent", "raw"):
            raise ConfigError(f"{w}: app must be \"agent\" (a bench image) or \"raw\" (its own main), "
                              f"got {img['app']!r}")
        if img["board"] not in boards:
            raise ConfigError(f"{w}: board {img['board']!r} has no [boards.{img['board']}] table; known boards: "
                              f"{', '.join(sorted(boards))}")
        if img["name"] in seen or "/" in img["name"] or not img["name"]:
            raise ConfigError(f"{w}: names must be unique file names, {img['name']!r} is not")
        seen.add(img["name"])


def load_spec(spec_path: Path | None = None) -> dict[str, object]:
    """An images TOML (default firmware/images.toml). Another one (a plugin family's own images,
    sources relative to the repository root) may list only [[image]]s: the board tables come
    from firmware/images.toml unless it has its own. Both are checked (check_spec)."""
    root = repo_root()
    main = _read_toml(root / "firmware/images.toml")
    if spec_path is None:
        check_spec(main, "firmware/images.toml")
        return main
    spec = _read_toml(Path(spec_path))
    if not isinstance(spec.get("boards", {}), dict):
        raise ConfigError(f"{spec_path}: boards must be tables [boards.<board>]")
    spec["boards"] = {**main["boards"], **spec.get("boards", {})}
    check_spec(spec, str(spec_path))
    return spec


def build_all(out_dir: Path | None = None, only: list[str] | None = None,
              spec_path: Path | None = None) -> list[BuiltImage]:
    root = repo_root()
    spec: dict[str, Any] = load_spec(spec_path)
    out = out_dir or images_dir()
    out.mkdir(parents=True, exist_ok=True)
    tc = toolchain_version()
    built: list[BuiltImage] = []
    for img in spec["image"]:
        if only and img["name"] not in only:
            continue
        board = spec["boards"][img["board"]]
        is_agent = img.get("app", "agent") == "agent"
        where = f"{spec_path or 'firmware/images.toml'}, image {img['name']}"
        own = _expand(root, img["sources"], where)
        sources = list(board["sources"]) + (AGENT_SOURCES if is_agent else []) + own
        include = list(board["include"]) + AGENT_INCLUDE + [str(Path(s).parent) for s in own]
        include = list(dict.fromkeys(include))
        flags = list(board["cflags"]) + COMMON_CFLAGS + [f"-I{d}" for d in include] + list(img.get("cflags", []))
        bid = _build_id(root, sources + _headers(root, include) + [board["ldscript"]], flags)
        defines = [f'-DBENCH_IMAGE_NAME="{img["name"]}"', f'-DBENCH_BUILD_ID="{bid}"']
        elf = out / f"{img['name']}.elf"
        cmd = [CC, *flags, *defines, f"-ffile-prefix-map={root}=.", *LDFLAGS,
               f"-T{board['ldscript']}", "-o", str(elf), *sources, "-lm"]
        r = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
        if r.returncode != 0:
            raise ImageError(f"building {img['name']} failed:\n{shlex.join(cmd)}\n{r.stderr}")
        flash, ram = _elf_sizes(elf)
        entry = ImageEntry(
            name=img["name"], file=elf.name, board=img["board"], model_family=img["model_family"],
            sha256=sha256_file(elf), protocol_version=PROTOCOL_VERSION, build_id=bid,
            app=img.get("app", "agent"), flash_bytes=flash, ram_bytes=ram, toolchain=tc,
            build_command=BUILD_COMMAND, description=img.get("description", ""),
            tflite=img.get("tflite"), model_dir=img.get("model_dir"), base_dir=out,
        )
        built.append(BuiltImage(entry, cmd))
    return built


def write_manifest(built: list[BuiltImage], out_dir: Path | None = None) -> Path:
    out = out_dir or images_dir()
    p = out / "manifest.json"
    doc = {"protocol_version": PROTOCOL_VERSION, "images": [b.entry.to_json() for b in built]}
    p.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return p


def check_committed(tmp_dir: Path) -> list[str]:
    """Rebuild into tmp_dir and list images whose sha256 differs from the committed manifest."""
    from bench.images import load_manifest

    committed = {e.name: e for e in load_manifest()}
    rebuilt = build_all(tmp_dir)
    problems = []
    for b in rebuilt:
        c = committed.get(b.entry.name)
        if c is None:
            problems.append(f"{b.entry.name}: not in the committed manifest")
        elif c.sha256 != b.entry.sha256:
            problems.append(f"{b.entry.name}: committed {c.sha256[:12]} != rebuilt {b.entry.sha256[:12]}")
    for name in committed.keys() - {b.entry.name for b in rebuilt}:
        problems.append(f"{name}: in the manifest but no longer built")
    return problems
