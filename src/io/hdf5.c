/*
 * HDF5 inputs in the ann-benchmarks layout: a file with 2-D datasets train,
 * test (float32 vectors), neighbors (int32) and distances (float32). Only
 * compiled against libhdf5 when CMake found it (SL_HAVE_HDF5); otherwise
 * the reader says how to get it. libhdf5 reads files itself, so unlike the
 * other formats this one is not parsed from memory here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"

#ifndef SL_HAVE_HDF5

int sl_hdf5_available(void)
{
    return 0;
}

int sl_hdf5_read(const char *path, const char *dataset, sl_view *view, void **owned, char *msg)
{
    (void)path;
    (void)dataset;
    memset(view, 0, sizeof *view);
    *owned = NULL;
    snprintf(msg, SL_MSG,
             "this simladder was built without HDF5 support; install libhdf5-dev "
             "(apt-get install libhdf5-dev) and rebuild (make build)");
    return 1;
}

#else

#include <hdf5.h>

int sl_hdf5_available(void)
{
    return 1;
}

/* HDF5's error stack prints to stderr by default; we report one line. */
static void quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

int sl_hdf5_read(const char *path, const char *dataset, sl_view *view, void **owned, char *msg)
{
    memset(view, 0, sizeof *view);
    *owned = NULL;
    quiet();
    int rc = 1;
    hid_t file = H5I_INVALID_HID, ds = H5I_INVALID_HID, space = H5I_INVALID_HID,
          type = H5I_INVALID_HID;
    void *buf = NULL;
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        snprintf(msg, SL_MSG, "cannot open: %s", strerror(errno));
        goto out;
    }
    fclose(probe);
#if H5_VERSION_GE(1, 12, 0)
    htri_t is_h5 = H5Fis_accessible(path, H5P_DEFAULT);
#else
    htri_t is_h5 = H5Fis_hdf5(path);
#endif
    if (is_h5 <= 0) {
        snprintf(msg, SL_MSG, "not an HDF5 file");
        goto out;
    }
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) {
        snprintf(msg, SL_MSG, "cannot open as HDF5");
        goto out;
    }
    if (H5Lexists(file, dataset, H5P_DEFAULT) <= 0) {
        snprintf(msg, SL_MSG,
                 "no dataset '%.64s' (ann-benchmarks files have train, test, "
                 "neighbors, distances; pick one with FILE.h5:NAME)",
                 dataset);
        goto out;
    }
    ds = H5Dopen2(file, dataset, H5P_DEFAULT);
    if (ds < 0) {
        snprintf(msg, SL_MSG, "'%.64s' is not a dataset", dataset);
        goto out;
    }
    space = H5Dget_space(ds);
    type = H5Dget_type(ds);
    if (space < 0 || type < 0) {
        snprintf(msg, SL_MSG, "dataset '%.64s': cannot read its shape or type", dataset);
        goto out;
    }
    int nd = H5Sget_simple_extent_ndims(space);
    hsize_t dims[2] = {0, 0};
    if (nd != 2 || H5Sget_simple_extent_dims(space, dims, NULL) != 2) {
        snprintf(msg, SL_MSG, "dataset '%.64s' is %d-D: need a 2-D array of vectors (n x d)",
                 dataset, nd);
        goto out;
    }
    H5T_class_t cls = H5Tget_class(type);
    size_t size = H5Tget_size(type);
    if (cls != H5T_FLOAT) {
        snprintf(msg, SL_MSG,
                 "dataset '%.64s' holds %s, not floating-point vectors (need float16, float32 "
                 "or float64)",
                 dataset, cls == H5T_INTEGER ? "integers (neighbour ids?)" : "a non-float type");
        goto out;
    }
    if (dims[0] == 0 || dims[1] == 0) {
        snprintf(msg, SL_MSG, "dataset '%.64s' is %llu x %llu: no vectors", dataset,
                 (unsigned long long)dims[0], (unsigned long long)dims[1]);
        goto out;
    }
    /* float16 and float32 are read as float32 (exact); wider as float64. */
    int wide = size > 4;
    size_t item = wide ? 8 : 4;
    if (dims[0] > SIZE_MAX / dims[1] || dims[0] * dims[1] > SIZE_MAX / item) {
        snprintf(msg, SL_MSG, "dataset '%.64s' too large to address", dataset);
        goto out;
    }
    buf = malloc((size_t)(dims[0] * dims[1]) * item);
    if (!buf) {
        snprintf(msg, SL_MSG, "out of memory for dataset '%.64s' (%llu x %llu)", dataset,
                 (unsigned long long)dims[0], (unsigned long long)dims[1]);
        goto out;
    }
    if (H5Dread(ds, wide ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                buf) < 0) {
        snprintf(msg, SL_MSG, "dataset '%.64s': read failed", dataset);
        goto out;
    }
    view->data = buf;
    view->n = (int64_t)dims[0];
    view->d = (int64_t)dims[1];
    view->dtype = wide ? SL_F64 : SL_F32;
    view->row_stride = (int64_t)(dims[1] * item);
    view->col_stride = (int64_t)item;
    *owned = buf;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    if (ds >= 0)
        H5Dclose(ds);
    if (file >= 0)
        H5Fclose(file);
    return rc;
}

#endif
