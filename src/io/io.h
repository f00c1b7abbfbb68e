/*
 * File formats. Parsers work on memory (so a fuzzer drives them directly);
 * the file and mmap wrappers are thin. Every function reports failure with a
 * one-line message in msg (no trailing newline, no file name: the caller
 * prefixes that) and a non-zero return.
 */
#ifndef SL_IO_H
#define SL_IO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "simladder.h"

#define SL_MSG 256

/* ---- reading ---- */

/* A 2-D array found in a file image: a view into the image itself. */
typedef struct sl_array {
    sl_view view;       /* data points into the parsed buffer */
    size_t data_offset; /* where the elements start in the buffer */
    size_t data_bytes;
} sl_array;

/* .npy, versions 1, 2, 3; dtypes <f4 >f4 <f8 >f8 <f2 >f2;
 * C or Fortran order; a 1-D array of length d is one vector (1 x d). Checks
 * that the data the header promises is present; trailing bytes are an error. */
int sl_npy_parse(const void *buf, size_t len, sl_array *out, char *msg);

/* TEXMEX vector files: records of (int32 little-endian d, then d elements),
 * elements float32 (.fvecs), uint8 (.bvecs) or int32 (.ivecs, used for
 * ground-truth neighbour ids). Every record must have the same d >= 1 and the
 * records must fill the buffer exactly. */
typedef enum sl_vecs_kind { SL_FVECS = 0, SL_BVECS = 1, SL_IVECS = 2 } sl_vecs_kind;
typedef struct sl_vecs {
    sl_vecs_kind kind;
    const unsigned char *base; /* the first record (the parsed buffer) */
    int64_t n, d;
    size_t record; /* bytes per record: 4 + d * element size */
} sl_vecs;
int sl_vecs_parse(const void *buf, size_t len, sl_vecs_kind kind, sl_vecs *out, char *msg);
size_t sl_vecs_elem_size(sl_vecs_kind kind);
const char *sl_vecs_name(sl_vecs_kind kind); /* ".fvecs" ... */

/* .fvecs only: a zero-copy view (data at base + 4, row stride 4 + 4d bytes). */
int sl_vecs_view(const sl_vecs *v, sl_view *out, char *msg);

/* Any kind to a new C-order n x d array of float32 or float64 (free() it).
 * uint8 fits float32 exactly; int32 fits float64 exactly (float32 only up
 * to 2^24 in magnitude). */
int sl_vecs_convert(const sl_vecs *v, sl_dtype to, void **data, char *msg);

/* HDF5 files in the ann-benchmarks layout (datasets train, test, neighbors,
 * distances), when built with libhdf5 (SL_HAVE_HDF5). Reads one 2-D float
 * dataset into a new C-order buffer (*owned, free() it) described by *view.
 * HDF5 needs a file, not memory, so there is no from-memory parser here. */
int sl_hdf5_available(void);
int sl_hdf5_read(const char *path, const char *dataset, sl_view *view, void **owned, char *msg);

/* A file mapped read-only (or read into memory where mmap is impossible,
 * e.g. a pipe). */
typedef struct sl_mapped {
    void *base;
    size_t len;
    int is_mmap;
} sl_mapped;
int sl_map_file(const char *path, sl_mapped *m, char *msg);
void sl_unmap(sl_mapped *m);

/* ---- writing ---- */

/*
 * An output file written atomically: to a temporary file in the same
 * directory, renamed over path by sl_out_commit. If path names something
 * that is not a regular file (a device such as /dev/full or /dev/stdout, a
 * pipe), it is written in place instead and never renamed over. "-" is
 * standard output. sl_out_abort removes the temporary file; it is safe to
 * call after a failed commit, and from a signal handler via sl_out_abort_all.
 */
typedef struct sl_out {
    FILE *f;
    char *path; /* final path */
    char *tmp;  /* temporary path, or NULL when writing in place */
    int in_place;
} sl_out;
int sl_out_open(sl_out *o, const char *path, char *msg);
int sl_out_commit(sl_out *o, char *msg); /* flush, fsync, close, rename */
void sl_out_abort(sl_out *o);
void sl_out_abort_all(void); /* async-signal-safe: unlink every open temp file */

/* A .npy header for a C-order 2-D (cols > 0) or 1-D (cols < 0) array;
 * descr is e.g. "<f4" or "<i8". Returns the header length written (a
 * multiple of 64), or 0 on failure (msg set). */
size_t sl_npy_header(char *buf, size_t cap, const char *descr, int64_t rows, int64_t cols);

/* Whole .npy files to an open sl_out. */
/* A .npy of rows x cols elements written through a memory map: the header
 * is written, the file's space reserved (so a full disk is an error here,
 * never a SIGBUS later) and *data points at the mapped payload, which the
 * caller fills; sl_npy_unmap flushes and unmaps it before sl_out_commit.
 * Returns 1 with msg set on failure, 2 when o cannot be mapped (a pipe, a
 * device, standard output): the caller then writes from memory instead. */
typedef struct sl_npy_map {
    void *base, *data;
    size_t len;
} sl_npy_map;
int sl_npy_map_open(sl_out *o, const char *descr, int64_t rows, int64_t cols, size_t elem,
                    sl_npy_map *m, char *msg);
int sl_npy_map_close(sl_npy_map *m, char *msg);

int sl_npy_write(sl_out *o, const char *descr, int64_t rows, int64_t cols, const void *data,
                 size_t elem, char *msg);

/* An uncompressed (stored) .npz: a zip of named .npy members, written in
 * one pass with CRC-32s. names are without ".npy". */
typedef struct sl_npz_member {
    const char *name;
    const char *descr;
    int64_t rows, cols; /* cols < 0: 1-D */
    const void *data;
    size_t elem;
} sl_npz_member;
int sl_npz_write(sl_out *o, const sl_npz_member *m, int count, char *msg);

/* Pairs (i, j, similarity) as text: CSV with a header line "i,j,similarity",
 * or JSON Lines {"i":..,"j":..,"similarity":..}; similarities with 9
 * significant digits (enough to give back the same float32). */
int sl_pairs_write_csv(sl_out *o, const int64_t *i, const int64_t *j, const float *s, int64_t count,
                       char *msg);
int sl_pairs_write_jsonl(sl_out *o, const int64_t *i, const int64_t *j, const float *s,
                         int64_t count, char *msg);

/* Commit several outputs together: all are flushed and synced first and
 * renamed only if every one of them got that far; otherwise all are
 * aborted. (A failure between two renames can still leave one renamed.) */
int sl_out_commit_all(sl_out *o, int count, char *msg);

uint32_t sl_crc32(uint32_t crc, const void *buf, size_t len);

#endif
