"""`bench probes train|evaluate`: the mask probes of exported DynCP models (docs/probes.md).

    bench probes train MODEL... [--data DIR] [--set DIR] [--holdout-every N] [--max-iter N]
                       [--context K] [--no-input-probes]   fit, export (probes.npz / probes.json), evaluate
    bench probes evaluate MODEL... [--set DIR] [--no-write]   test-set figures next to baselines

The implementation is bench.models.probes.{train,evaluate}.main; this command is its entry.
"""

from __future__ import annotations

import argparse

from bench.cli.base import Command, forward_argv


class Probes(Command):
    name = "probes"
    help = "train or evaluate the mask probes of DynCP models (VAD, noise class, F0)"
    json = False

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        sub = p.add_subparsers(dest="probes_action", required=True)
        t = sub.add_parser("train", help="fit, export and evaluate the probes (numpy; float reference's masks)")
        t.add_argument("models", nargs="+", metavar="MODEL", help="exported gated models (models/dyncp/<name>)")
        t.add_argument("--data", help="train split (default build/dyncp/train-seed1-n480)")
        t.add_argument("--set", dest="set_path", help="test set (default: the shipped one)")
        t.add_argument("--holdout-every", type=int, help="hold out every N-th train utterance (5)")
        t.add_argument("--max-iter", type=int, help="L-BFGS iterations per fit (500)")
        t.add_argument("--context", type=int, metavar="K",
                       help="also the previous K frames' mask bits (0; the firmware keeps the last K masks)")
        t.add_argument("--no-input-probes", action="store_true",
                       help="skip the comparison probes on the input spectrum (float, not exported)")
        e = sub.add_parser("evaluate", help="the probes on a test set next to WebRTC VAD and WORLD F0")
        e.add_argument("models", nargs="+", metavar="MODEL", help="exported model directories holding probes.npz")
        e.add_argument("--set", dest="set_path", help="test set (default: the shipped one)")
        e.add_argument("--no-write", action="store_true", help="do not update probes.json")

    def run(self, args: argparse.Namespace) -> int:
        if args.probes_action == "train":
            from bench.models.probes.train import main

            opts = forward_argv(args, {"no_input_probes": "--no-input-probes"},
                                {"data": "--data", "set_path": "--set", "holdout_every": "--holdout-every",
                                 "max_iter": "--max-iter", "context": "--context"})
            return int(main([*args.models, *opts]))
        from bench.models.probes.evaluate import main as evaluate_main

        opts = forward_argv(args, {"no_write": "--no-write"}, {"set_path": "--set"})
        return int(evaluate_main([*args.models, *opts]))


COMMAND = Probes
