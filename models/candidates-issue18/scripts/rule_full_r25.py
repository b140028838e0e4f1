"""Apply the fourth or fifth rule (docs/decisions.md) to an assessment JSON of dyncp-full r25 rounds.

    python models/candidates-issue18/scripts/rule_full_r25.py 4 build/issue18/assess-s16-full-sd.json
    python models/candidates-issue18/scripts/rule_full_r25.py 5 build/issue18/assess-s17-full-wi.json

Reference: full r25 -tel1. A round passes if (1) its shipped-set PESQ-WB is not more than 0.05
below -tel1's, (2) its PESQ-WB gain on the rule's PESQ set is not more than 0.03 below -tel1's,
(3) the mean of its STOI gains on the rule's STOI sets is above -tel1's; the passing round with
the highest mean STOI gain is chosen.
  rule 4: PESQ set the telephone set; STOI sets the telephone and diverse test sets.
  rule 5: PESQ and STOI set the real-recording dev set (real-dev-seed2).
Neither reads the real split or the confirmation set.
"""

from __future__ import annotations

import json
import sys

REF = "new:dyncp-full-r25-tel1"
TEL, DIV = "build/data/diverse-tel-test-seed5-n48", "build/data/diverse-test-seed0-n48"
DEV = "build/data/real-dev-seed2"
RULES = {"4": (TEL, (TEL, DIV)), "5": (DEV, (DEV,))}


def main(rule: str, path: str) -> int:
    if rule not in RULES:
        raise SystemExit(f"rule must be one of {', '.join(RULES)}, got {rule!r}")
    pesq_set, stoi_sets = RULES[rule]
    sets = {b["set"]: b["models"] for b in json.load(open(path, encoding="utf-8"))["sets"]}
    sh, ps = sets["shipped"], sets[pesq_set]

    def gain(m: str) -> float:
        return ps[m]["pesq_wb_vs_noisy"]["mean"]

    def stoi(m: str) -> float:
        return sum(sets[s][m]["stoi_vs_noisy"]["mean"] for s in stoi_sets) / len(stoi_sets)

    print(f"rule {rule}; {REF}: shipped {sh[REF]['pesq_wb']:.4f}, PESQ-WB gain {gain(REF):+.4f}, "
          f"mean STOI gain {stoi(REF):+.4f}")
    passing = []
    for m in sh:
        if not m.startswith("new:") or m == REF:
            continue
        d_sh, d_p = sh[m]["pesq_wb"] - sh[REF]["pesq_wb"], gain(m) - gain(REF)
        ok = (d_sh >= -0.05, d_p >= -0.03, stoi(m) > stoi(REF))
        print(f"{m}: shipped {sh[m]['pesq_wb']:.4f} ({d_sh:+.4f}: {ok[0]}), PESQ-WB gain "
              f"{gain(m):+.4f} ({d_p:+.4f}: {ok[1]}), mean STOI gain {stoi(m):+.4f} ({ok[2]}) "
              f"-> {'passes' if all(ok) else 'fails'}")
        if all(ok):
            passing.append(m)
    best = max(passing, key=stoi, default=None)
    print(f"chosen: {best or 'none (-tel1 stays)'}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
