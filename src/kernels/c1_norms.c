/*
 * c1, the algorithmic rung: norms computed once per row (by the job layer),
 * and in a self job each unordered pair once (the job layer mirrors). Half
 * the pairs and a third of the arithmetic per pair of c0, same language.
 */
#include "kernels.h"

void sl_c1_tile(const sl_tile *t)
{
    const sl_operand *a = t->a, *b = t->b;
    for (int64_t i = t->i0; i < t->i1; i++) {
        const float *x = a->rows + i * a->ld;
        float nx = a->norm[i];
        int64_t j = t->upper && i > t->j0 ? i : t->j0;
        for (; j < t->j1; j++) {
            const float *y = b->rows + j * b->ld;
            float dot = 0;
            for (int64_t k = 0; k < a->d; k++)
                dot += x[k] * y[k];
            float ny = b->norm[j];
            float s = (nx == 0 || ny == 0) ? 0.0f : dot / (nx * ny);
            t->c[(i - t->i0) * t->ldc + (j - t->j0)] = s;
        }
    }
}
