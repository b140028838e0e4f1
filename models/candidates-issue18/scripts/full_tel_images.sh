#!/usr/bin/env bash
# issue 18, session 15: int8, C tables and images of the dyncp-full telephone rounds, then both test sets on QEMU
cd "$(dirname "$0")/../../.."
C=models/candidates-issue18
B=.venv/bin/bench
set -e
for r in 100 50 25; do
  $B quantize $C/dyncp/dyncp-full-r$r-tel1 --calib build/nsnet2/calib-seed2-n24
  $B export c $C/dyncp/dyncp-full-r$r-tel1 --out-dir build/issue18/gen/dyncp-full-r$r-tel1
done
$B images build --spec $C/images-tel1.toml --out build/issue18/images-tel1
I="--image dyncp-full-r100-tel1-an386 --image dyncp-full-r50-tel1-an386 --image dyncp-full-r25-tel1-an386"
$B run --target qemu-mps2-an386-sh --manifest-dir build/issue18/images-tel1 --run-id s15-full-real-split --set build/data/real-seed0 $I
$B run --target qemu-mps2-an386-sh --manifest-dir build/issue18/images-tel1 --run-id s15-full-shipped-set $I
