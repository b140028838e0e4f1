/* Linear mask probes of DynCP Conv-FSENet: VAD, noise class and F0 read out of the per-frame
 * channel keep-masks (arXiv 2602.10666). docs/probes.md; golden: bench/models/probes/golden.py.
 *
 * A probe's score is an exact int32 sum: bias[p] + the sum, over the set mask bits i, of
 * weights[i][p]. Bit i = b * n_channels + c is channel c of gated block b (block-major).
 * Probe order of the shipped probes (n_probes = 10): 0 VAD logit, 1..8 noise-class logits
 * (white pink brown babble hum fan keyboard music), 9 F0; the host dequantises
 * (value = score * 2^-shift[p], shifts in probes.json).
 *
 * Plain C99, stdint only, no libc, no floating point. */
#ifndef DYNCP_PROBES_H
#define DYNCP_PROBES_H
#include <stdint.h>

/* Mask words per block: bit c of word c / 32 is channel c (the masked kernels' layout). */
#define DYNCP_PROBES_WORDS(n_channels) (((n_channels) + 31) / 32)

typedef struct {
    uint16_t n_blocks;      /* gated blocks */
    uint16_t n_channels;    /* C, channels (mask bits) per block */
    uint16_t n_probes;      /* scores per frame */
    const int16_t *weights; /* [n_blocks * n_channels][n_probes]: a set bit adds one row */
    const int32_t *bias;    /* [n_probes] */
} dyncp_probes_t;

/* Scores of all probes for one frame. ``mask_words``: n_blocks * DYNCP_PROBES_WORDS(n_channels)
 * uint32 words, block-major; bits at or above n_channels in a block's last word are ignored.
 * Writes ``scores[0 .. n_probes-1]``. Returns 0, or -1 on a NULL pointer or an empty shape
 * (scores untouched). The sum cannot overflow when |bias[p]| + sum_i |weights[i][p]| < 2^31,
 * which the exporter checks. */
int32_t dyncp_probes_scores(const dyncp_probes_t *p, const uint32_t *mask_words, int32_t *scores);

/* Probes with a temporal context of k previous frames (weights: (k + 1) blocks of
 * n_blocks * n_channels rows, block ``lag`` for the frame ``lag`` frames back; bench's
 * features.context_bits): after dyncp_probes_scores of the current frame, add each earlier
 * frame's contribution with its mask words, lag = 1 .. k (the caller keeps the history; a frame
 * before the utterance's first has no bit set and is skipped). Returns 0, or -1 on a NULL
 * pointer, an empty shape or lag 0 (scores untouched). The caller bounds lag by k. */
int32_t dyncp_probes_add_lag(const dyncp_probes_t *p, uint32_t lag, const uint32_t *mask_words, int32_t *scores);

#endif
