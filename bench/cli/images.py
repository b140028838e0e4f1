"""`bench images [--json]` lists firmware_images/manifest.json; `bench images build [--check]`
rebuilds every image (--check: into a temporary folder, compared with the committed ones);
`bench images build --spec FILE --out DIR` builds another images TOML's images (candidate models,
a plugin family) into DIR with its own manifest, for `bench run --manifest-dir DIR`."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.cli.base import Command, console, out, print_json
from bench.cli.views import images_table
from bench.errors import ConfigError


class Images(Command):
    name = "images"
    help = "list images, or `images build` to rebuild them"

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        p.add_argument("action", nargs="?", choices=["list", "build"], default="list")
        p.add_argument("--check", action="store_true", help="with build: rebuild into a temp dir and compare hashes")
        p.add_argument("--spec", type=Path, help="with build: another images TOML ([[image]]s; boards from "
                       "firmware/images.toml); needs --out")
        p.add_argument("--out", type=Path, help="with build --spec: the folder for its images and manifest.json")

    def run(self, args: argparse.Namespace) -> int:
        from bench.images import load_manifest

        if args.action == "build":
            return self.build(args)
        es = load_manifest()
        if args.json:
            print_json([e.to_json() for e in es])
        else:
            out.print(images_table(es))
        return 0

    def build(self, args: argparse.Namespace) -> int:
        from bench.imagebuild import build_all, check_committed, write_manifest

        if (args.spec is None) != (args.out is None) or (args.spec is not None and args.check):
            raise ConfigError("bench images build: give --spec FILE and --out DIR together (and not with --check); "
                              "without them it rebuilds the shipped images into firmware_images/")
        if args.check:
            with tempfile.TemporaryDirectory() as d:
                problems = check_committed(Path(d))
            if args.json:
                print_json({"ok": not problems, "problems": problems})
            for p in problems:
                console.print(f"[red]{p}[/red]")
            if not problems and not args.json:
                out.print("committed images match a fresh build")
            return 1 if problems else 0
        built = build_all(args.out, spec_path=args.spec)
        path = write_manifest(built, args.out)
        if args.json:
            print_json([b.entry.to_json() for b in built])
        else:
            for b in built:
                e = b.entry
                out.print(f"{e.name}: {e.sha256[:12]} flash {e.flash_bytes:,} B ram {e.ram_bytes:,} B")
            out.print(f"manifest: {path}")
        return 0


COMMAND = Images
