"""`bench kernels SUITE`: benchmarks of the bench's own C kernels on QEMU mps2-an386
(bit-exactness against the golden ops, instructions and cycles_est per MAC; DSP path vs reference
path; `bench` also side by side with CMSIS-NN / CMSIS-DSP when BENCH_CMSIS_NN / BENCH_CMSIS_DSP
name their checkouts).

    bench kernels bench [--quick] [--seed N] [--no-compare] [--json]   FC, GRU, ... (bench.harness.kernels)
    bench kernels dyncp [--out DIR] [--json]            the DynCP kernels (bench.harness.dyncp_kernels)
    bench kernels mpgru [--quick] [--genomes N] [--json] the mixed-precision GRU (bench.harness.mpgru_kernels)

A suite is a harness module whose ``main(argv)`` is the implementation; its sub-command is the
module's name without ``_kernels`` (``bench`` for bench.harness.kernels).
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from bench.cli.base import Command, add_json

# harness module -> (help, its options: (flag, add_argument keywords))
SUITES: dict[str, tuple[str, tuple[tuple[str, dict[str, Any]], ...]]] = {
    "bench.harness.kernels": ("the NN kernels (FC 400x400, GRU 400, small configs; docs/kernels.md)", (
        ("--quick", {"action": "store_true", "help": "small shapes only (no 400x400 / GRU 400)"}),
        ("--seed", {"type": int, "help": "random seed of the cases (default 0)"}),
        ("--no-compare", {"action": "store_true",
                          "help": "skip the side-by-side with CMSIS-NN / CMSIS-DSP (BENCH_CMSIS_NN, "
                                  "BENCH_CMSIS_DSP) and the FFT stages"}))),
    "bench.harness.dyncp_kernels": ("the channel-skipping kernels at the bench's shapes and keep fractions", (
        ("--out", {"help": "build directory (default: a temporary one)"}),)),
    "bench.harness.mpgru_kernels": ("the mixed-precision GRU step per weight width (2..8 bits) beside the int8 GRU, "
                                    "and random genomes bit-exact (docs/mpgru.md)", (
        ("--quick", {"action": "store_true", "help": "shapes (16, 32) and (64, 64) only"}),
        ("--genomes", {"type": int, "help": "random genomes checked bit-exact on both paths (default 8)"}),
        ("--seed", {"type": int, "help": "random seed of the cases (default 0)"}))),
}


def suite_name(module: str) -> str:
    return module.rsplit(".", 1)[1].removesuffix("kernels").removesuffix("_") or "bench"


class Kernels(Command):
    name = "kernels"
    help = "benchmark the C kernels on QEMU: bit-exactness, instructions and cycles_est per MAC"
    json = False

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        sub = p.add_subparsers(dest="kernels_suite", required=True)
        for module, (help_, options) in SUITES.items():
            s = sub.add_parser(suite_name(module), help=help_, description=f"{help_} ({module})")
            for flag, kw in options:
                s.add_argument(flag, **kw)
            add_json(s)
            s.set_defaults(kernels_module=module, kernels_options=[flag for flag, _ in options] + ["--json"])

    def run(self, args: argparse.Namespace) -> int:
        argv: list[str] = []
        for opt in args.kernels_options:
            v = getattr(args, opt.lstrip("-").replace("-", "_"))
            argv += [opt] if v is True else [] if v is None or v is False else [opt, str(v)]
        return int(importlib.import_module(args.kernels_module).main(argv))


COMMAND = Kernels
