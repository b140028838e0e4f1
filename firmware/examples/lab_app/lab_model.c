#include "lab_model.h"

static int32_t x_prev, y_prev;

void lab_model_reset(void)
{
    x_prev = 0;
    y_prev = 0;
}

int32_t lab_model_run(const int16_t in[LAB_HOP], int16_t out[LAB_HOP], int32_t pole_q15)
{
    int32_t clipped = 0;
    for (int i = 0; i < LAB_HOP; i++) {
        int64_t acc = ((int64_t)(in[i] - x_prev) << 15) + (int64_t)pole_q15 * y_prev;
        int32_t y = (int32_t)((acc + (1 << 14)) >> 15); /* round half up */
        if (y > 32767) {
            y = 32767;
            clipped++;
        } else if (y < -32768) {
            y = -32768;
            clipped++;
        }
        x_prev = in[i];
        y_prev = y;
        out[i] = (int16_t)y;
    }
    return clipped;
}
