/*
 * The HDF5 reader against a file written here in the ann-benchmarks layout
 * (built only when CMake found libhdf5). With an argument, also leaves the
 * file at that path for the CLI test (tests/cli_check.py, SL_TEST_H5).
 */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"

static int fails;
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c);                           \
            fails++;                                                                               \
        }                                                                                          \
    } while (0)

static void put(hid_t file, const char *name, hid_t type, hsize_t n, hsize_t d, const void *data)
{
    hsize_t dims[2] = {n, d};
    hid_t space = H5Screate_simple(2, dims, NULL);
    hid_t ds = H5Dcreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    H5Dclose(ds);
    H5Sclose(space);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "test_hdf5.h5";
    /* Six train vectors; test vectors near train rows 3, 0 and 5. */
    float train[6][4] = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0},
                         {0, 0, 0, 1}, {1, 1, 0, 0}, {0, 0, 1, 1}};
    double test[3][4] = {{0, 0.1, 0, 1}, {1, 0, 0.1, 0}, {0, 0, 0.9, 1.1}};
    int neighbors[3][1] = {{3}, {0}, {5}};
    float distances[3][1] = {{0.005f}, {0.005f}, {0.006f}};
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(f >= 0);
    put(f, "train", H5T_IEEE_F32LE, 6, 4, train);
    put(f, "test", H5T_IEEE_F64LE, 3, 4, test);
    put(f, "neighbors", H5T_STD_I32LE, 3, 1, neighbors);
    put(f, "distances", H5T_IEEE_F32LE, 3, 1, distances);
    H5Fclose(f);

    sl_view v;
    void *owned;
    char msg[SL_MSG];
    CHECK(sl_hdf5_available());
    CHECK(sl_hdf5_read(path, "train", &v, &owned, msg) == 0);
    CHECK(v.n == 6 && v.d == 4 && v.dtype == SL_F32 && v.row_stride == 16 && v.col_stride == 4);
    CHECK(owned && !memcmp(owned, train, sizeof train));
    free(owned);
    CHECK(sl_hdf5_read(path, "test", &v, &owned, msg) == 0);
    CHECK(v.n == 3 && v.d == 4 && v.dtype == SL_F64 && owned && !memcmp(owned, test, sizeof test));
    free(owned);
    CHECK(sl_hdf5_read(path, "neighbors", &v, &owned, msg) != 0 && strstr(msg, "integers"));
    CHECK(owned == NULL);
    CHECK(sl_hdf5_read(path, "nope", &v, &owned, msg) != 0 && strstr(msg, "no dataset 'nope'"));
    CHECK(sl_hdf5_read("/nonexistent/x.h5", "train", &v, &owned, msg) != 0 &&
          strstr(msg, "cannot open"));
    CHECK(sl_hdf5_read(argv[0], "train", &v, &owned, msg) != 0 && strstr(msg, "not an HDF5 file"));
    if (argc <= 1)
        remove(path);
    printf("%s\n", fails ? "test_hdf5: FAILED" : "test_hdf5: ok");
    return fails != 0;
}
