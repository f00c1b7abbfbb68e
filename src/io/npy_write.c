/*
 * Writers: .npy, and .npz as NumPy reads it (a ZIP archive of .npy members,
 * stored uncompressed, with ZIP64 records once a size or offset passes
 * 4 GiB). Everything is written in one pass, so an output can be a pipe;
 * a big .npy can instead be written through a memory map of its file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "io.h"

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void make_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
}

uint32_t sl_crc32(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&table_once, make_table);
    const unsigned char *p = buf;
    crc = ~crc;
    while (len--)
        crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

typedef struct wr {
    sl_out *o;
    uint64_t offset;
    int failed;
} wr;

static void put(wr *w, const void *p, size_t n)
{
    if (w->failed || n == 0)
        return;
    if (fwrite(p, 1, n, w->o->f) != n)
        w->failed = errno ? errno : EIO;
    w->offset += n;
}

static void le(wr *w, uint64_t v, int bytes)
{
    unsigned char b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    put(w, b, (size_t)bytes);
}

static int done(wr *w, char *msg)
{
    if (w->failed) {
        snprintf(msg, SL_MSG, "write failed: %s", strerror(w->failed));
        return 1;
    }
    return 0;
}

int sl_npy_map_open(sl_out *o, const char *descr, int64_t rows, int64_t cols, size_t elem,
                    sl_npy_map *m, char *msg)
{
    memset(m, 0, sizeof *m);
    if (o->in_place || !o->tmp)
        return 2;
    char head[256];
    size_t h = sl_npy_header(head, sizeof head, descr, rows, cols);
    if (!h)
        return snprintf(msg, SL_MSG, "cannot format a .npy header"), 1;
    size_t bytes = (size_t)rows * (size_t)cols * elem, len = h + bytes;
    int fd = fileno(o->f);
    if (fflush(o->f) != 0 || fd < 0)
        return snprintf(msg, SL_MSG, "write failed: %s", strerror(errno)), 1;
    int e = posix_fallocate(fd, 0, (off_t)len);
    if (e == EOPNOTSUPP || e == EINVAL)
        e = ftruncate(fd, (off_t)len) == 0 ? 0 : errno;
    if (e)
        return snprintf(msg, SL_MSG, "cannot reserve %zu bytes: %s", len, strerror(e)), 1;
    if (pwrite(fd, head, h, 0) != (ssize_t)h)
        return snprintf(msg, SL_MSG, "write failed: %s", strerror(errno)), 1;
    void *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED)
        return 2;
    /* The FILE's position must agree with what is now in the file, so that
     * closing it writes nothing more. */
    if (fseeko(o->f, (off_t)len, SEEK_SET) != 0) {
        munmap(base, len);
        return snprintf(msg, SL_MSG, "seek failed: %s", strerror(errno)), 1;
    }
    m->base = base;
    m->data = (char *)base + h;
    m->len = len;
    return 0;
}

int sl_npy_map_close(sl_npy_map *m, char *msg)
{
    if (!m->base)
        return 0;
    int rc = 0;
    if (msync(m->base, m->len, MS_SYNC) != 0)
        rc = 1, snprintf(msg, SL_MSG, "write failed: %s", strerror(errno));
    munmap(m->base, m->len);
    m->base = m->data = NULL;
    return rc;
}

int sl_npy_write(sl_out *o, const char *descr, int64_t rows, int64_t cols, const void *data,
                 size_t elem, char *msg)
{
    char head[256];
    size_t h = sl_npy_header(head, sizeof head, descr, rows, cols);
    if (!h)
        return snprintf(msg, SL_MSG, "cannot format a .npy header"), 1;
    wr w = {o, 0, 0};
    put(&w, head, h);
    put(&w, data, (size_t)rows * (size_t)(cols < 0 ? 1 : cols) * elem);
    return done(&w, msg);
}

enum { MAX_MEMBERS = 16 };

int sl_npz_write(sl_out *o, const sl_npz_member *m, int count, char *msg)
{
    if (count > MAX_MEMBERS)
        return snprintf(msg, SL_MSG, "too many .npz members"), 1;
    wr w = {o, 0, 0};
    char names[MAX_MEMBERS][80];
    uint64_t offs[MAX_MEMBERS], sizes[MAX_MEMBERS];
    uint32_t crcs[MAX_MEMBERS];
    for (int i = 0; i < count; i++) {
        char head[256];
        size_t h = sl_npy_header(head, sizeof head, m[i].descr, m[i].rows, m[i].cols);
        if (!h)
            return snprintf(msg, SL_MSG, "cannot format a .npy header"), 1;
        size_t bytes = (size_t)m[i].rows * (size_t)(m[i].cols < 0 ? 1 : m[i].cols) * m[i].elem;
        snprintf(names[i], sizeof names[i], "%s.npy", m[i].name);
        size_t nl = strlen(names[i]);
        crcs[i] = sl_crc32(sl_crc32(0, head, h), m[i].data, bytes);
        sizes[i] = h + bytes;
        offs[i] = w.offset;
        int z64 = sizes[i] >= 0xffffffffu;
        le(&w, 0x04034b50, 4);
        le(&w, z64 ? 45 : 20, 2); /* version needed */
        le(&w, 0, 2);             /* flags */
        le(&w, 0, 2);             /* stored */
        le(&w, 0, 2);             /* time */
        le(&w, (1 << 5) | 1, 2);  /* date: 1980-01-01 */
        le(&w, crcs[i], 4);
        le(&w, z64 ? 0xffffffffu : sizes[i], 4);
        le(&w, z64 ? 0xffffffffu : sizes[i], 4);
        le(&w, nl, 2);
        le(&w, z64 ? 20 : 0, 2);
        put(&w, names[i], nl);
        if (z64) {
            le(&w, 1, 2);
            le(&w, 16, 2);
            le(&w, sizes[i], 8);
            le(&w, sizes[i], 8);
        }
        put(&w, head, h);
        put(&w, m[i].data, bytes);
    }
    uint64_t cd = w.offset;
    for (int i = 0; i < count; i++) {
        int zs = sizes[i] >= 0xffffffffu, zo = offs[i] >= 0xffffffffu;
        size_t nl = strlen(names[i]);
        le(&w, 0x02014b50, 4);
        le(&w, 45, 2);
        le(&w, zs || zo ? 45 : 20, 2);
        le(&w, 0, 2);
        le(&w, 0, 2);
        le(&w, 0, 2);
        le(&w, (1 << 5) | 1, 2);
        le(&w, crcs[i], 4);
        le(&w, zs ? 0xffffffffu : sizes[i], 4);
        le(&w, zs ? 0xffffffffu : sizes[i], 4);
        le(&w, nl, 2);
        le(&w, (zs ? 16 : 0) + (zo ? 8 : 0) + (zs || zo ? 4 : 0), 2);
        le(&w, 0, 2); /* comment */
        le(&w, 0, 2); /* disk */
        le(&w, 0, 2); /* internal attributes */
        le(&w, 0, 4); /* external attributes */
        le(&w, zo ? 0xffffffffu : offs[i], 4);
        put(&w, names[i], nl);
        if (zs || zo) {
            le(&w, 1, 2);
            le(&w, (zs ? 16 : 0) + (zo ? 8 : 0), 2);
            if (zs) {
                le(&w, sizes[i], 8);
                le(&w, sizes[i], 8);
            }
            if (zo)
                le(&w, offs[i], 8);
        }
    }
    uint64_t cd_size = w.offset - cd;
    if (cd >= 0xffffffffu || cd_size >= 0xffffffffu) {
        uint64_t z = w.offset;
        le(&w, 0x06064b50, 4);
        le(&w, 44, 8);
        le(&w, 45, 2);
        le(&w, 45, 2);
        le(&w, 0, 4);
        le(&w, 0, 4);
        le(&w, (uint64_t)count, 8);
        le(&w, (uint64_t)count, 8);
        le(&w, cd_size, 8);
        le(&w, cd, 8);
        le(&w, 0x07064b50, 4);
        le(&w, 0, 4);
        le(&w, z, 8);
        le(&w, 1, 4);
    }
    le(&w, 0x06054b50, 4);
    le(&w, 0, 2);
    le(&w, 0, 2);
    le(&w, (uint64_t)count, 2);
    le(&w, (uint64_t)count, 2);
    le(&w, cd_size >= 0xffffffffu ? 0xffffffffu : cd_size, 4);
    le(&w, cd >= 0xffffffffu ? 0xffffffffu : cd, 4);
    le(&w, 0, 2);
    return done(&w, msg);
}
