"""Apply the fourth rule (docs/decisions.md) to an assessment JSON of dyncp-full r25 rounds.

    python models/candidates-issue18/scripts/rule4.py build/issue18/assess-s16-full-sd.json

Reference: full r25 -tel1. A round passes if (1) its shipped-set PESQ-WB is not more than 0.05
below -tel1's, (2) its telephone-set PESQ-WB gain is not more than 0.03 below -tel1's, (3) the
mean of its STOI gains on the telephone and diverse test sets is above -tel1's; the passing round
with the highest mean STOI gain is chosen. The real split is not read.
"""

from __future__ import annotations

import json
import sys

REF = "new:dyncp-full-r25-tel1"
TEL, DIV = "build/data/diverse-tel-test-seed5-n48", "build/data/diverse-test-seed0-n48"


def main(path: str) -> int:
    sets = {b["set"]: b["models"] for b in json.load(open(path, encoding="utf-8"))["sets"]}
    sh, tel, div = sets["shipped"], sets[TEL], sets[DIV]

    def stoi(m: str) -> float:
        return (tel[m]["stoi_vs_noisy"]["mean"] + div[m]["stoi_vs_noisy"]["mean"]) / 2

    ref_stoi = stoi(REF)
    print(f"{REF}: shipped {sh[REF]['pesq_wb']:.4f}, telephone gain {tel[REF]['pesq_wb_vs_noisy']['mean']:+.4f}, "
          f"mean STOI gain {ref_stoi:+.4f}")
    passing = []
    for m in sh:
        if not m.startswith("new:") or m == REF:
            continue
        d_sh = sh[m]["pesq_wb"] - sh[REF]["pesq_wb"]
        d_tel = tel[m]["pesq_wb_vs_noisy"]["mean"] - tel[REF]["pesq_wb_vs_noisy"]["mean"]
        ok = (d_sh >= -0.05, d_tel >= -0.03, stoi(m) > ref_stoi)
        print(f"{m}: shipped {sh[m]['pesq_wb']:.4f} ({d_sh:+.4f}: {ok[0]}), telephone gain "
              f"{tel[m]['pesq_wb_vs_noisy']['mean']:+.4f} ({d_tel:+.4f}: {ok[1]}), mean STOI gain "
              f"{stoi(m):+.4f} ({ok[2]}) -> {'passes' if all(ok) else 'fails'}")
        if all(ok):
            passing.append(m)
    best = max(passing, key=stoi, default=None)
    print(f"chosen: {best or 'none (-tel1 stays)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
