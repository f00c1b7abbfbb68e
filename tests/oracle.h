/* The tests' own float64 oracle, written from the definition (DESIGN.md §1),
 * sharing no code with the library. */
#ifndef SL_ORACLE_H
#define SL_ORACLE_H

#include <stdint.h>

/* s[i * m + j] = cos(x_i, y_j) in float64; y == NULL: y = x, m = n. Rows
 * are scaled by their largest magnitude first, so no square overflows. */
void oracle_matrix(const float *x, int64_t n, const float *y, int64_t m, int64_t d, double *s);

/* The oracle's top-k of row i of s (m columns): best first, ties by lower
 * index, excluding column `self` (-1: none); returns how many (<= k). */
int64_t oracle_topk(const double *s, int64_t m, int64_t self, int64_t k, int64_t *idx);

#endif
