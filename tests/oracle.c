#include "oracle.h"

#include <math.h>
#include <stdlib.h>

static double row_norm(const float *x, int64_t d, double *scale)
{
    double m = 0, s = 0;
    for (int64_t k = 0; k < d; k++)
        m = fabs((double)x[k]) > m ? fabs((double)x[k]) : m;
    *scale = m > 0 ? 1.0 / m : 0.0;
    for (int64_t k = 0; k < d; k++)
        s += ((double)x[k] * *scale) * ((double)x[k] * *scale);
    return sqrt(s);
}

void oracle_matrix(const float *x, int64_t n, const float *y, int64_t m, int64_t d, double *s)
{
    if (!y) {
        y = x;
        m = n;
    }
    double *nx = malloc((size_t)n * 2 * sizeof *nx), *ny = malloc((size_t)m * 2 * sizeof *ny);
    for (int64_t i = 0; i < n; i++)
        nx[2 * i] = row_norm(x + i * d, d, &nx[2 * i + 1]);
    for (int64_t j = 0; j < m; j++)
        ny[2 * j] = row_norm(y + j * d, d, &ny[2 * j + 1]);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < m; j++) {
            double dot = 0;
            for (int64_t k = 0; k < d; k++)
                dot +=
                    ((double)x[i * d + k] * nx[2 * i + 1]) * ((double)y[j * d + k] * ny[2 * j + 1]);
            s[i * m + j] = nx[2 * i] == 0 || ny[2 * j] == 0 ? 0.0 : dot / (nx[2 * i] * ny[2 * j]);
        }
    free(nx);
    free(ny);
}

static const double *sort_row; /* qsort has no context argument; tests are single-threaded */

static int by_sim_then_index(const void *pa, const void *pb)
{
    int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    if (sort_row[a] != sort_row[b])
        return sort_row[a] > sort_row[b] ? -1 : 1;
    return (a > b) - (a < b);
}

int64_t oracle_topk(const double *s, int64_t m, int64_t self, int64_t k, int64_t *idx)
{
    int64_t *all = malloc((size_t)m * sizeof *all), cnt = 0;
    for (int64_t j = 0; j < m; j++)
        if (j != self)
            all[cnt++] = j;
    sort_row = s;
    qsort(all, (size_t)cnt, sizeof *all, by_sim_then_index);
    if (cnt > k)
        cnt = k;
    for (int64_t r = 0; r < cnt; r++)
        idx[r] = all[r];
    free(all);
    return cnt;
}
