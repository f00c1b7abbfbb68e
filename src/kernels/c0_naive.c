/*
 * c0, the naive rung: the pure-Python triple loop written in C. Every pair
 * recomputes both norms along with the dot product, and the self job
 * computes both halves of the square.
 */
#include <math.h>

#include "kernels.h"

void sl_c0_tile(const sl_tile *t)
{
    const sl_operand *a = t->a, *b = t->b;
    for (int64_t i = t->i0; i < t->i1; i++) {
        const float *x = a->rows + i * a->ld;
        for (int64_t j = t->j0; j < t->j1; j++) {
            const float *y = b->rows + j * b->ld;
            float dot = 0, xx = 0, yy = 0;
            for (int64_t k = 0; k < a->d; k++) {
                dot += x[k] * y[k];
                xx += x[k] * x[k];
                yy += y[k] * y[k];
            }
            float s = (xx == 0 || yy == 0) ? 0.0f : dot / (sqrtf(xx) * sqrtf(yy));
            t->c[(i - t->i0) * t->ldc + (j - t->j0)] = s;
        }
    }
}
