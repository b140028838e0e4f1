#!/usr/bin/env bash
# issue 18, session 14: the r25 mask probes fitted on the diverse train set (other engines' voices, rooms,
# microphones) instead of the default espeak-ng split, on a copy of the shipped model; scored on the three sets
cd "$(dirname "$0")/../../.."
B=.venv/bin/bench
M=build/probes-div/dyncp-small-r25
$B probes train $M --data build/data/diverse-train-seed1-n480 --max-iter 50 --no-input-probes
for s in "" "--set build/data/diverse-test-seed0-n48" "--set build/data/real-seed0"; do
  $B probes evaluate models/dyncp/dyncp-small-r25 $M --no-write $s
done
