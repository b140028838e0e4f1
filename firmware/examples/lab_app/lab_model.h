/* Stand-in for a lab's own model code (in a real port: the TFLite-Micro interpreter set up
 * with the lab's .tflite, its feature extraction and its post-processing). The bench knows
 * nothing of it beyond these two calls. */
#ifndef LAB_MODEL_H
#define LAB_MODEL_H
#include <stdint.h>

#define LAB_HOP 160

/* Clears the model's streaming state (GRU states, history buffers, overlap-add tails). */
void lab_model_reset(void);
/* One hop: a first-order DC-blocking high-pass, y[n] = x[n] - x[n-1] + (a/2^15) y[n-1],
 * in integer arithmetic, `pole_q15` = a. Returns the number of clipped output samples. */
int32_t lab_model_run(const int16_t in[LAB_HOP], int16_t out[LAB_HOP], int32_t pole_q15);

#endif
