#!/usr/bin/env bash
# issue 18, seventh session: every reported neural image (and the DSP baseline) on the shipped set, the real split
# and the confirmation set on QEMU mps2-an386, then the fidelity table (noisy / float / target, every metric)
#   fidelity_runs.sh [RUN_PREFIX]   (default s17-fid; dyncp-full r25 -wi75 runs as in full_images.sh wi75)
cd "$(dirname "$0")/../../.."
C=models/candidates-issue18
B=.venv/bin/bench
P=${1:-s17-fid}
SETS="shipped build/data/real-seed0 build/data/real-confirm-seed1"
SHIPPED="nsnet2-small-an386 dyncp-small-r100-an386 dyncp-small-r50-an386 dyncp-small-r25-an386 dsp-baseline-an386"
set -e
for set in $SETS; do
  SETARG=(--set "$set"); [ "$set" = shipped ] && SETARG=()
  # shellcheck disable=SC2046
  $B run --target qemu-mps2-an386-sh --run-id $P-$(basename "$set") "${SETARG[@]}" $(printf -- '--image %s ' $SHIPPED)
done
# shellcheck disable=SC2086
bash $C/scripts/full_images.sh tel1 "100 50" $P-full $SETS
# shellcheck disable=SC2086
bash $C/scripts/full_images.sh wi75 25 $P-wi75 $SETS
T="$C/scripts/target_rows.py --fidelity"
for set in $SETS; do
  n=$(basename "$set")
  # shellcheck disable=SC2086
  .venv/bin/python $T "$n" results/$P-$n $SHIPPED
  .venv/bin/python $T "$n" results/$P-full-$n dyncp-full-r100-tel1-an386 dyncp-full-r50-tel1-an386
  .venv/bin/python $T "$n" results/$P-wi75-$n dyncp-full-r25-wi75-an386
done
