"""One attempt of one farm place, in its own process (so the farm can stop it at its timeout):
`python -m bench.farm.worker '<RunOptions as JSON>' [--resume]` starts (or resumes) the run and
prints one JSON line {"run_id", "status", "runner_s", "error"}; exit 0 when the run is done."""

from __future__ import annotations

import json
import sys
import time


def main(argv: list[str]) -> int:
    from bench.runner import Runner, RunOptions

    raw = json.loads(argv[0])
    raw["images"] = tuple(raw.get("images", ()))
    opts = RunOptions(**raw)
    t0 = time.monotonic()
    status, error = "failed", None
    try:
        runner = Runner(opts)
        run = runner.resume(str(opts.run_id)) if "--resume" in argv[1:] else runner.start()
        meta = run.read_meta()
        status = meta["status"]
        errs = {k: v.get("error") or v.get("utterance_errors") for k, v in meta["images"].items()
                if v.get("status") != "done"}
        error = "; ".join(f"{k}: {v}" for k, v in errs.items()) or meta.get("reason")
    except KeyboardInterrupt:
        status, error = "interrupted", "interrupted (SIGTERM at the place's timeout?)"
    except Exception as e:  # noqa: BLE001 - reported to the farm, which decides
        error = f"{type(e).__name__}: {e}"
    print(json.dumps({"run_id": opts.run_id, "status": status, "runner_s": time.monotonic() - t0, "error": error}))
    sys.stdout.flush()
    return 0 if status == "done" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
