/*
 * What the C test programs share: a seeded generator (splitmix64, so every
 * run draws the same data), a reader for the shared/data .npy files, and
 * the SL_TEST_ONLY filter.
 */
#ifndef SL_TESTDATA_H
#define SL_TESTDATA_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t td_rng = 1;
static uint64_t next64(void)
{
    uint64_t z = (td_rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double uniform(void)
{
    return ((double)(next64() >> 11) + 0.5) * 0x1p-53;
}
static float gauss(void)
{
    return (float)(sqrt(-2 * log(uniform())) * cos(6.283185307179586 * uniform()));
}

/* The sets under shared/data (see its README), smallest first. */
static const char *const td_sets[] = {"cohere_wiki_768_1k",
                                      "deep1b_96_2k",
                                      "bge_m3_1024_sentences_500",
                                      "bge_m3_1024_paragraphs_500",
                                      "sift_5k",
                                      "so_mpnet_768_100",
                                      "msmarco_cohere_v3_1024_76",
                                      "wiki_cohere_v3_int8_1024_1k",
                                      "mnist_test_10k",
                                      "fashion_mnist_test_10k"};
enum { TD_NSETS = 10 };

static const char *td_dir(void)
{
    return getenv("SL_SHARED_DATA") ? getenv("SL_SHARED_DATA") : "../shared/data";
}

/* A little-endian float32 or float64 2-D .npy (the shared files' 128-byte
 * header), raw; NULL when it is missing or not that. */
static void *load_npy(const char *path, int64_t *n, int64_t *d, size_t *item)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char head[129] = {0};
    long long a = 0, b = 1;
    char *s = fread(head, 1, 128, f) == 128 ? strstr(head + 10, "'shape': (") : NULL;
    if (!s || sscanf(s, "'shape': (%lld, %lld)", &a, &b) < 1) {
        fclose(f);
        return NULL;
    }
    *item = strstr(head + 10, "<f8") ? 8 : 4;
    void *raw = malloc((size_t)(a * b) * *item);
    if (fread(raw, *item, (size_t)(a * b), f) != (size_t)(a * b)) {
        free(raw);
        raw = NULL;
    }
    fclose(f);
    *n = a;
    *d = b;
    return raw;
}

/* SL_TEST_ONLY=a,b: test only kernels whose name contains a or b. */
static int td_selected(const char *name)
{
    const char *only = getenv("SL_TEST_ONLY");
    if (!only || !*only)
        return 1;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", only);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ","))
        if (strstr(name, tok))
            return 1;
    return 0;
}

#endif
