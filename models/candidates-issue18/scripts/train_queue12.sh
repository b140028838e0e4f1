#!/usr/bin/env bash
# issue 18, session 16: dyncp-full r25 rounds with the asymmetric loss (the fourth rule in docs/decisions.md),
# 1,000 steps each from full r25 -tel1 on mix-diverse480-espeak480-tel240 (built by train_queue11.sh T0)
cd "$(dirname "$0")/../../.."
C=models/candidates-issue18
W=build/issue18/work
L=build/issue18/logs
B=.venv/bin/bench
M3=build/data/mix-diverse480-espeak480-tel240
TF=$C/dyncp/dyncp-full-r100-tel1
mkdir -p $L
case "$1" in
  SD1) A=1.0; KD="--teacher $TF --teacher-weight 0.5" ;;
  SD2) A=3.0; KD="--teacher $TF --teacher-weight 0.5" ;;
  SD3) A=1.0; KD="" ;;
  SD4) A=0.5; KD="--teacher $TF --teacher-weight 0.5" ;;  # session 17, the fifth rule
  *) echo "usage: $0 SD1|SD2|SD3|SD4" >&2; exit 2 ;;
esac
N=dyncp-full-r25-sd${1#SD}
# shellcheck disable=SC2086
$B train dyncp --config dyncp-full --keep-ratio 0.25 --ratio-warmup 0 --init $C/dyncp/dyncp-full-r25-tel1 $KD \
  --asym-weight $A --steps 1000 --data $M3 --n-utts 1200 --ckpt-every 50 --log-every 50 --max-minutes 600 --threads 1 \
  --lr 2e-4 --lr-final 1e-5 --out $C/dyncp/$N --work $W/$N > $L/train-$N.out 2>&1
