#!/usr/bin/env bash
# Mask probes with a temporal context on target: probes of the shipped dyncp-small-r25 fitted with
# --context 2 and 4 on copies of the model (build/probes-ctx/k<k>/), their C tables and images
# (models/candidates-issue18/images-probes-context.toml), then the shipped set and the real split
# on QEMU with the shipped r25 image beside them for the k = 0 cost.
cd "$(dirname "$0")/../../.."
B=.venv/bin/bench
set -e
[ -d build/dyncp/train-seed1-n480 ] || $B data make --split train --seed 1 --n 480 --out build/dyncp/train-seed1-n480
for k in 2 4; do
  d=build/probes-ctx/k$k/dyncp-small-r25
  if [ ! -f $d/probes.npz ]; then
    mkdir -p $d && cp models/dyncp/dyncp-small-r25/{config.json,weights.npz,int8.npz} $d/
    $B probes train $d --context $k --max-iter 50 --no-input-probes
  fi
  $B export c $d --out-dir build/probes-ctx/gen/k$k
done
$B images build --spec models/candidates-issue18/images-probes-context.toml --out build/probes-ctx/images
I="--image dyncp-small-r25-probes-k2-an386 --image dyncp-small-r25-probes-k4-an386"
# shellcheck disable=SC2086
$B run --target qemu-mps2-an386-sh --manifest-dir build/probes-ctx/images --run-id s16-probes-context-shipped-set $I
# shellcheck disable=SC2086
$B run --target qemu-mps2-an386-sh --manifest-dir build/probes-ctx/images --run-id s16-probes-context-real-split --set build/data/real-seed0 $I
# the shipped r25 image (k = 0) on the same sets
$B run --target qemu-mps2-an386-sh --image dyncp-small-r25-an386 --run-id s16-probes-k0-shipped-set
$B run --target qemu-mps2-an386-sh --image dyncp-small-r25-an386 --run-id s16-probes-k0-real-split --set build/data/real-seed0
