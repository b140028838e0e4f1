#!/usr/bin/env bash
# issue 18, session 14: the re-shipped images (nsnet2-small, dyncp-small-r25) on QEMU, shipped set and real split
cd "$(dirname "$0")/../../.."
B=.venv/bin/bench
I="--image nsnet2-small-an386 --image dyncp-small-r25-an386"
$B run --run-id s14-shipped-set $I
$B run --run-id s14-real-split --set build/data/real-seed0 $I
