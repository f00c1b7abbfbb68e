/*
 * Files: read-only maps of inputs, and outputs that appear whole or not at
 * all (a temporary file in the same directory, renamed when complete).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

int sl_map_file(const char *path, sl_mapped *m, char *msg)
{
    memset(m, 0, sizeof *m);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(msg, SL_MSG, "cannot open: %s", strerror(errno));
        return 1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(msg, SL_MSG, "cannot stat: %s", strerror(errno));
        close(fd);
        return 1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(msg, SL_MSG, "is a directory");
        close(fd);
        return 1;
    }
    if (S_ISREG(st.st_mode)) {
        if (st.st_size == 0) {
            snprintf(msg, SL_MSG, "empty file");
            close(fd);
            return 1;
        }
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (p == MAP_FAILED) {
            snprintf(msg, SL_MSG, "cannot map: %s", strerror(errno));
            return 1;
        }
        m->base = p;
        m->len = (size_t)st.st_size;
        m->is_mmap = 1;
        return 0;
    }
    /* A pipe or a device: read it all. */
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            snprintf(msg, SL_MSG, "out of memory reading");
            close(fd);
            return 1;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(msg, SL_MSG, "read failed: %s", strerror(errno));
            free(buf);
            close(fd);
            return 1;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len == cap) {
            char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
            if (!nb)
                free(buf);
            buf = nb;
            cap *= 2;
        }
    }
    close(fd);
    if (len == 0) {
        free(buf);
        snprintf(msg, SL_MSG, "empty file");
        return 1;
    }
    m->base = buf;
    m->len = len;
    return 0;
}

void sl_unmap(sl_mapped *m)
{
    if (!m->base)
        return;
    if (m->is_mmap)
        munmap(m->base, m->len);
    else
        free(m->base);
    memset(m, 0, sizeof *m);
}

/* ---- atomic outputs ---- */

/* Temporary files in flight, for the signal handler: a path is published
 * (the flag set) only after it is complete, and cleared before it is freed. */
enum { SLOTS = 16 };
static char slot_path[SLOTS][4096];
static volatile sig_atomic_t slot_used[SLOTS];

static void publish(const char *tmp)
{
    for (int i = 0; i < SLOTS; i++)
        if (!slot_used[i]) {
            snprintf(slot_path[i], sizeof slot_path[i], "%s", tmp);
            slot_used[i] = 1;
            return;
        }
}

static void unpublish(const char *tmp)
{
    for (int i = 0; i < SLOTS; i++)
        if (slot_used[i] && !strcmp(slot_path[i], tmp))
            slot_used[i] = 0;
}

void sl_out_abort_all(void)
{
    for (int i = 0; i < SLOTS; i++)
        if (slot_used[i])
            unlink(slot_path[i]);
}

int sl_out_open(sl_out *o, const char *path, char *msg)
{
    memset(o, 0, sizeof *o);
    if (!path || !*path) {
        snprintf(msg, SL_MSG, "no output path");
        return 1;
    }
    if (!strcmp(path, "-")) {
        o->f = stdout;
        o->in_place = 1;
        o->path = strdup(path);
        return o->path ? 0 : (snprintf(msg, SL_MSG, "out of memory"), 1);
    }
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(msg, SL_MSG, "is a directory");
        return 1;
    }
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* A device or a pipe: write in place, never rename over it. */
        o->f = fopen(path, "wb");
        if (!o->f) {
            snprintf(msg, SL_MSG, "cannot open for writing: %s", strerror(errno));
            return 1;
        }
        o->in_place = 1;
        o->path = strdup(path);
        return 0;
    }
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path + 1) : 0;
    const char *base = slash ? slash + 1 : path;
    size_t need = dirlen + strlen(base) + 32;
    o->tmp = malloc(need);
    o->path = strdup(path);
    if (!o->tmp || !o->path) {
        free(o->tmp);
        free(o->path);
        snprintf(msg, SL_MSG, "out of memory");
        return 1;
    }
    snprintf(o->tmp, need, "%.*s.%s.tmp.XXXXXX", (int)dirlen, path, base);
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        snprintf(msg, SL_MSG, "cannot create a file beside it: %s", strerror(errno));
        free(o->tmp);
        free(o->path);
        o->tmp = o->path = NULL;
        return 1;
    }
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    publish(o->tmp);
    o->f = fdopen(fd, "wb");
    if (!o->f) {
        snprintf(msg, SL_MSG, "cannot open: %s", strerror(errno));
        close(fd);
        sl_out_abort(o);
        return 1;
    }
    return 0;
}

/* Flush, sync and close; 0 or an errno. Leaves the temporary file in place. */
static int finish(sl_out *o)
{
    int e = 0;
    if (fflush(o->f) != 0 || ferror(o->f))
        e = errno ? errno : EIO;
    if (!e && !o->in_place && fsync(fileno(o->f)) != 0 && errno != EINVAL)
        e = errno;
    if (o->f != stdout && fclose(o->f) != 0 && !e)
        e = errno ? errno : EIO;
    o->f = NULL;
    return e;
}

static void release(sl_out *o)
{
    if (o->tmp)
        unpublish(o->tmp);
    free(o->tmp);
    free(o->path);
    o->tmp = o->path = NULL;
}

int sl_out_commit(sl_out *o, char *msg)
{
    return sl_out_commit_all(o, 1, msg);
}

int sl_out_commit_all(sl_out *o, int count, char *msg)
{
    int e = 0;
    for (int i = 0; i < count; i++) {
        int ei = finish(&o[i]);
        if (ei && !e)
            e = ei;
    }
    for (int i = 0; i < count && !e; i++)
        if (o[i].tmp && rename(o[i].tmp, o[i].path) != 0) {
            snprintf(msg, SL_MSG, "rename to %.180s failed: %s", o[i].path, strerror(errno));
            /* Earlier renames stand; their temporary names are gone. */
            for (int k = 0; k < i; k++)
                release(&o[k]);
            for (int k = i; k < count; k++)
                sl_out_abort(&o[k]);
            return 1;
        }
    if (e) {
        snprintf(msg, SL_MSG, "write failed: %s", strerror(e));
        for (int i = 0; i < count; i++)
            sl_out_abort(&o[i]);
        return 1;
    }
    for (int i = 0; i < count; i++)
        release(&o[i]);
    return 0;
}

void sl_out_abort(sl_out *o)
{
    if (o->f && o->f != stdout)
        fclose(o->f);
    o->f = NULL;
    if (o->tmp) {
        unlink(o->tmp);
        unpublish(o->tmp);
    }
    free(o->tmp);
    free(o->path);
    o->tmp = o->path = NULL;
}
