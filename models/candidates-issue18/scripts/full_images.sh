#!/usr/bin/env bash
# issue 18: int8, C tables and images of dyncp-full candidates, then both test sets on QEMU
#   full_images.sh [SUFFIX [RATIOS [RUN_PREFIX [SET ...]]]]   e.g. full_images.sh tel1 "100 50 25" s16-full build/data/real-confirm-seed1
#   (SET "shipped" = the shipped test set)
# defaults = the fifth session's telephone rounds: tel1, "100 50 25", s15-full, runs RUN_PREFIX-real-split
# (build/data/real-seed0) and RUN_PREFIX-shipped-set; with SETs, one run RUN_PREFIX-<set folder name> a set
# (images from models/candidates-issue18/images-SUFFIX.toml into build/issue18/images-SUFFIX)
cd "$(dirname "$0")/../../.."
C=models/candidates-issue18
B=.venv/bin/bench
S=${1:-tel1}
RATIOS=${2:-100 50 25}
RUN=${3:-s15-full}
shift 3 2>/dev/null || shift $#
set -e
[ -d build/nsnet2/calib-seed2-n24 ] || $B data make --split train --seed 2 --n 24 --out build/nsnet2/calib-seed2-n24
I=""
for r in $RATIOS; do
  $B quantize $C/dyncp/dyncp-full-r$r-$S --calib build/nsnet2/calib-seed2-n24
  $B export c $C/dyncp/dyncp-full-r$r-$S --out-dir build/issue18/gen/dyncp-full-r$r-$S
  I="$I --image dyncp-full-r$r-$S-an386"
done
$B images build --spec $C/images-$S.toml --out build/issue18/images-$S
if [ $# -gt 0 ]; then
  for set in "$@"; do  # "shipped" = the shipped test set (bench run's default)
    SETARG=(--set "$set"); [ "$set" = shipped ] && SETARG=()
    # shellcheck disable=SC2086
    $B run --target qemu-mps2-an386-sh --manifest-dir build/issue18/images-$S --run-id $RUN-$(basename "$set") "${SETARG[@]}" $I
  done
  exit 0
fi
# shellcheck disable=SC2086
$B run --target qemu-mps2-an386-sh --manifest-dir build/issue18/images-$S --run-id $RUN-real-split --set build/data/real-seed0 $I
# shellcheck disable=SC2086
$B run --target qemu-mps2-an386-sh --manifest-dir build/issue18/images-$S --run-id $RUN-shipped-set $I
