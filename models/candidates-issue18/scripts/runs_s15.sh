#!/usr/bin/env bash
# issue 18, session 15: the re-shipped r25 image (-kd3, then -tel1 as s15b-*) on QEMU, shipped set and real split
cd "$(dirname "$0")/../../.."
B=.venv/bin/bench
I="--image dyncp-small-r25-an386"
$B run --run-id s15b-shipped-set $I
$B run --run-id s15b-real-split --set build/data/real-seed0 $I
