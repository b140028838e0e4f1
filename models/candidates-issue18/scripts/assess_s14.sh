#!/usr/bin/env bash
# issue 18, session 14: assess the fourth nsnet2-small round and r25 on the espeak-heavier mix
# build/issue18/old/<model> = the weights before #18, taken from git:
#   for f in $(git ls-tree --name-only d693d19^ models/dyncp/dyncp-small-r25/); do git show d693d19^:$f > build/issue18/old/dyncp-small-r25/$(basename $f); done
#   (the same for models/nsnet2/nsnet2-small)
cd "$(dirname "$0")/../../.."
C=models/candidates-issue18
SETS="--set shipped --set build/data/real-seed0 --set build/data/diverse-test-seed0-n48"
A=".venv/bin/python -m bench.train.assess --cache build/issue18/assess-cache"
case "$1" in
  N4) $A --family nsnet2 --shipped build/issue18/old/nsnet2-small --candidate models/nsnet2/nsnet2-small --candidate $C/nsnet2/nsnet2-small-ftmix4 $SETS \
       --json build/issue18/assess-s14-nsnet2-4.json > build/issue18/logs/assess-s14-nsnet2-4.log 2>&1 ;;
  RE) $A --family dyncp --shipped build/issue18/old/dyncp-small-r25 --candidate models/dyncp/dyncp-small-r25 --candidate $C/dyncp/dyncp-small-r25-ftmixe $SETS \
       --json build/issue18/assess-s14-small-r25e.json > build/issue18/logs/assess-s14-small-r25e.log 2>&1 ;;
esac
case "$1" in
  RE2) $A --family dyncp --shipped build/issue18/old/dyncp-small-r25 --candidate $C/dyncp/dyncp-small-r25-ftmixe --candidate $C/dyncp/dyncp-small-r25-ftmixe2 $SETS \
       --json build/issue18/assess-s14-small-r25e2.json > build/issue18/logs/assess-s14-small-r25e2.log 2>&1 ;;
esac
case "$1" in
  N5) $A --family nsnet2 --shipped build/issue18/old/nsnet2-small --candidate $C/nsnet2/nsnet2-small-ftmix4 --candidate $C/nsnet2/nsnet2-small-ftmix5 $SETS \
       --json build/issue18/assess-s14-nsnet2-5.json > build/issue18/logs/assess-s14-nsnet2-5.log 2>&1 ;;
esac
case "$1" in
  RE3) $A --family dyncp --shipped build/issue18/old/dyncp-small-r25 --candidate $C/dyncp/dyncp-small-r25-ftmixe2 --candidate $C/dyncp/dyncp-small-r25-ftmixe3 $SETS \
       --json build/issue18/assess-s14-small-r25e3.json > build/issue18/logs/assess-s14-small-r25e3.log 2>&1 ;;
esac
# session 15: the distilled r25 rounds (train_queue11.sh K1 / K2) against the shipped -ftmixe2
case "$1" in
  KD) $A --family dyncp --shipped build/issue18/old/dyncp-small-r25 --candidate $C/dyncp/dyncp-small-r25-ftmixe2 \
       --candidate $C/dyncp/dyncp-small-r25-kd1 --candidate $C/dyncp/dyncp-small-r25-kd2 \
       --candidate $C/dyncp/dyncp-small-r25-kd3 $SETS \
       --json build/issue18/assess-s15-small-r25kd.json > build/issue18/logs/assess-s15-small-r25kd.log 2>&1 ;;
esac
# session 15, telephone-band rounds (train_queue11.sh T1 / T2), scored also on the telephone selection set
case "$1" in
  TEL) $A --family dyncp --shipped build/issue18/old/dyncp-small-r25 --candidate models/dyncp/dyncp-small-r25 \
       --candidate $C/dyncp/dyncp-small-r25-tel1 --candidate $C/dyncp/dyncp-small-r25-tel2 $SETS \
       --set build/data/diverse-tel-test-seed5-n48 \
       --json build/issue18/assess-s15-small-r25tel.json > build/issue18/logs/assess-s15-small-r25tel.log 2>&1 ;;
esac
# session 15: dyncp-full telephone rounds against their -ftmix2 (reference: the shipped small r100, as in docs/data.md)
TELSET="--set build/data/diverse-tel-test-seed5-n48"
case "$1" in
  FULL2) $A --family dyncp --shipped models/dyncp/dyncp-small-r100 --candidate $C/dyncp/dyncp-full-r100-ftmix2 \
       --candidate $C/dyncp/dyncp-full-r50-ftmix2 --candidate $C/dyncp/dyncp-full-r25-ftmix2 $SETS $TELSET \
       --json build/issue18/assess-s15-full-ftmix2.json > build/issue18/logs/assess-s15-full-ftmix2.log 2>&1 ;;
  FULLTEL) $A --family dyncp --shipped models/dyncp/dyncp-small-r100 --candidate $C/dyncp/dyncp-full-r100-tel1 \
       --candidate $C/dyncp/dyncp-full-r50-tel1 --candidate $C/dyncp/dyncp-full-r25-tel1 $SETS $TELSET \
       --json build/issue18/assess-s15-full-tel1.json > build/issue18/logs/assess-s15-full-tel1.log 2>&1 ;;
esac
# session 16: dyncp-full r25 asymmetric-loss rounds (train_queue12.sh, the fourth rule) against -tel1
case "$1" in
  FULLSD) $A --family dyncp --shipped models/dyncp/dyncp-small-r100 --candidate $C/dyncp/dyncp-full-r25-tel1 \
       $(for n in sd1 sd2 sd3; do [ -d $C/dyncp/dyncp-full-r25-$n ] && echo "--candidate $C/dyncp/dyncp-full-r25-$n"; done) \
       $SETS $TELSET --json build/issue18/assess-s16-full-sd.json > build/issue18/logs/assess-s16-full-sd.log 2>&1 ;;
esac
# session 17: the fifth rule for dyncp-full r25 (docs/decisions.md): the real-recording dev set selects;
# the real split and the confirmation set are not scored here
case "$1" in
  FULLWI) $A --family dyncp --shipped models/dyncp/dyncp-small-r100 --candidate $C/dyncp/dyncp-full-r25-tel1 \
       $(for n in sd1 sd2 sd3 sd4 wi50 wi75; do [ -f $C/dyncp/dyncp-full-r25-$n/config.json ] && echo "--candidate $C/dyncp/dyncp-full-r25-$n"; done) \
       --set shipped --set build/data/diverse-test-seed0-n48 $TELSET --set build/data/real-dev-seed2 \
       --json build/issue18/assess-s17-full-wi.json > build/issue18/logs/assess-s17-full-wi.log 2>&1 ;;
esac
# session 17, after the fifth rule chose -wi75: float fidelity of the reported dyncp-full models on every set
# (reporting only; the real split and the confirmation set chose nothing)
case "$1" in
  FULLREP) $A --family dyncp --shipped models/dyncp/dyncp-small-r100 --candidate $C/dyncp/dyncp-full-r100-tel1 \
       --candidate $C/dyncp/dyncp-full-r50-tel1 --candidate $C/dyncp/dyncp-full-r25-tel1 --candidate $C/dyncp/dyncp-full-r25-wi75 \
       $SETS $TELSET --set build/data/real-confirm-seed1 \
       --json build/issue18/assess-s17-full-reported.json > build/issue18/logs/assess-s17-full-reported.log 2>&1 ;;
esac
