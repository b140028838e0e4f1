#!/usr/bin/env bash
# issue 18, session 14: r25 probes fitted on the diverse train set + the default espeak-ng split together
cd "$(dirname "$0")/../../.."
B=.venv/bin/bench
M=build/probes-mix/dyncp-small-r25
$B probes train $M --data build/data/probes-mix-div480-espeak480 --max-iter 50 --no-input-probes
for s in "" "--set build/data/diverse-test-seed0-n48" "--set build/data/real-seed0"; do
  $B probes evaluate $M --no-write $s
done
