/*
 * The float64 oracle: every pair from scratch in double precision, straight
 * from the definition. Never optimise this file; it is what the others are
 * measured against. Products of two floats are exact in double, so the only
 * rounding is in the sums, the square roots and the final division.
 */
#include <math.h>

#include "kernels.h"

void sl_ref_tile(const sl_tile *t)
{
    const sl_operand *a = t->a, *b = t->b;
    for (int64_t i = t->i0; i < t->i1; i++) {
        const float *x = a->rows + i * a->ld;
        for (int64_t j = t->j0; j < t->j1; j++) {
            const float *y = b->rows + j * b->ld;
            double dot = 0, xx = 0, yy = 0;
            for (int64_t k = 0; k < a->d; k++) {
                dot += (double)x[k] * y[k];
                xx += (double)x[k] * x[k];
                yy += (double)y[k] * y[k];
            }
            double s = (xx == 0 || yy == 0) ? 0.0 : dot / (sqrt(xx) * sqrt(yy));
            t->c[(i - t->i0) * t->ldc + (j - t->j0)] = (float)s;
        }
    }
}
