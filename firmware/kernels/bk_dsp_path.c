/* Which code path this build of the kernels runs (1: DSP, 0: reference). */
#include "bk_support.h"

int bk_dsp_path(void) { return BK_DSP; }
