/*
 * simladder._core: the C library behind the Python module.
 *
 * Written against the CPython API and the buffer protocol only, so the
 * extension does not link NumPy: the Python layer (simladder/__init__.py)
 * checks shapes and allocates the output arrays with NumPy, this layer turns
 * buffers into sl_views, releases the GIL and calls the library. Any strides
 * (slices, Fortran order, negative steps) go to the library as they are; it
 * reads them during its own packing pass, so no copy is made here.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string.h>

#include "simladder.h"

/* ---- buffers -> views ---- */

typedef struct operand {
    Py_buffer buf;
    int have;
    sl_view view;
} operand;

static void operand_release(operand *o)
{
    if (o->have)
        PyBuffer_Release(&o->buf);
    o->have = 0;
}

/* The element type from a struct-module format: "f", "<f", "=e", ">d"... */
static int parse_format(const char *fmt, sl_dtype *dt, int *swap)
{
    int big = 0;
    const union {
        unsigned short u;
        unsigned char c[2];
    } probe = {1};
    int host_big = probe.c[0] == 0;
    if (!fmt)
        fmt = "B";
    if (*fmt == '<' || *fmt == '>' || *fmt == '!' || *fmt == '=' || *fmt == '@') {
        big = *fmt == '>' || *fmt == '!' ? 1 : *fmt == '<' ? 0 : host_big;
        fmt++;
    } else {
        big = host_big;
    }
    if (fmt[0] == 0 || fmt[1] != 0)
        return -1;
    switch (fmt[0]) {
    case 'f': *dt = SL_F32; break;
    case 'd': *dt = SL_F64; break;
    case 'e': *dt = SL_F16; break;
    default: return -1;
    }
    *swap = big != host_big;
    return 0;
}

/* Gets a 2-D float buffer from obj; name is used in messages. */
static int operand_get(PyObject *obj, const char *name, operand *o)
{
    memset(o, 0, sizeof *o);
    if (PyObject_GetBuffer(obj, &o->buf, PyBUF_RECORDS_RO) < 0)
        return -1;
    o->have = 1;
    if (o->buf.ndim != 2) {
        PyErr_Format(PyExc_ValueError, "%s must be 2-D (n vectors x d), got %d-D", name,
                     o->buf.ndim);
        goto fail;
    }
    sl_dtype dt;
    int swap;
    if (parse_format(o->buf.format, &dt, &swap) < 0) {
        PyErr_Format(PyExc_TypeError, "%s: unsupported element format '%s' (float16/32/64 only)",
                     name, o->buf.format ? o->buf.format : "B");
        goto fail;
    }
    o->view.data = o->buf.buf;
    o->view.n = o->buf.shape[0];
    o->view.d = o->buf.shape[1];
    o->view.dtype = dt;
    o->view.row_stride = o->buf.strides[0];
    o->view.col_stride = o->buf.strides[1];
    o->view.swap_bytes = swap;
    return 0;
fail:
    operand_release(o);
    return -1;
}

/* The job's operands: x, and y unless it is None (a self job). */
static int operands_get(PyObject *ox, PyObject *oy, const char *yname, operand *x, operand *y)
{
    memset(y, 0, sizeof *y);
    if (operand_get(ox, "X", x) < 0)
        return -1;
    if (oy != Py_None && operand_get(oy, yname, y) < 0) {
        operand_release(x);
        return -1;
    }
    return 0;
}

/* A writable C-contiguous output buffer of exactly `bytes` bytes. */
static int out_get(PyObject *obj, const char *name, Py_ssize_t bytes, Py_buffer *b)
{
    if (PyObject_GetBuffer(obj, b, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    if (b->len != bytes) {
        PyErr_Format(PyExc_ValueError, "%s: output buffer has %zd bytes, expected %zd", name,
                     b->len, bytes);
        PyBuffer_Release(b);
        return -1;
    }
    return 0;
}

/* ---- options, progress and errors ---- */

typedef struct call {
    sl_options opt;
    sl_stats stats;
    char kernel[64];
    int interrupted;
} call;

/* Called by the library from this (the calling) thread while the GIL is
 * released: take it briefly to let Ctrl-C cancel the job. */
static int check_signals(void *ctx, double fraction)
{
    (void)fraction;
    call *c = ctx;
    PyGILState_STATE g = PyGILState_Ensure();
    if (PyErr_CheckSignals() < 0)
        c->interrupted = 1;
    PyGILState_Release(g);
    return c->interrupted;
}

static int call_init(call *c, const char *kernel, int threads, unsigned long long limit)
{
    memset(c, 0, sizeof *c);
    if (kernel) {
        if (strlen(kernel) >= sizeof c->kernel) {
            PyErr_SetString(PyExc_ValueError, "kernel name too long");
            return -1;
        }
        strcpy(c->kernel, kernel);
        c->opt.kernel = c->kernel;
    }
    if (threads < 0) {
        PyErr_Format(PyExc_ValueError, "threads must be >= 0 (0: all cores), got %d", threads);
        return -1;
    }
    c->opt.threads = threads;
    c->opt.memory_limit = (size_t)limit;
    c->opt.progress = check_signals;
    c->opt.progress_ctx = c;
    c->opt.stats = &c->stats;
    return 0;
}

static PyObject *raise_status(call *c, sl_status st, const sl_error *e)
{
    if (c->interrupted) {
        if (!PyErr_Occurred())
            PyErr_SetNone(PyExc_KeyboardInterrupt);
        return NULL;
    }
    PyObject *type = PyExc_RuntimeError;
    switch (st) {
    case SL_EINVAL:
    case SL_EVALUE:
    case SL_EKERNEL: type = PyExc_ValueError; break;
    case SL_ENOMEM:
    case SL_ELIMIT: type = PyExc_MemoryError; break;
    default: break;
    }
    PyErr_SetString(type, e->message[0] ? e->message : sl_status_name(st));
    return NULL;
}

static PyObject *stats_dict(const call *c)
{
    return Py_BuildValue(
        "{s:s,s:i,s:n,s:d,s:d,s:d,s:L,s:L,s:d,s:L,s:L}", "kernel", c->stats.kernel, "threads",
        c->stats.threads, "memory_planned", (Py_ssize_t)c->stats.memory_planned, "seconds_prepare",
        c->stats.seconds_prepare, "seconds_compute", c->stats.seconds_compute, "seconds_finish",
        c->stats.seconds_finish, "candidates", (long long)c->stats.candidates, "candidates_max_row",
        (long long)c->stats.candidates_max_row, "seconds_rerank", c->stats.seconds_rerank,
        "filtered", (long long)c->stats.filtered, "rows_redone", (long long)c->stats.rows_redone);
}

/* ---- the jobs ---- */

static PyObject *py_matrix(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *names[] = {"x", "y", "out", "kernel", "threads", "memory_limit", NULL};
    PyObject *ox, *oy, *oout;
    const char *kernel = NULL;
    int threads = 0;
    unsigned long long limit = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOO|ziK", names, &ox, &oy, &oout, &kernel, &threads,
                                     &limit))
        return NULL;
    call c;
    if (call_init(&c, kernel, threads, limit) < 0)
        return NULL;
    operand x, y;
    if (operands_get(ox, oy, "Y", &x, &y) < 0)
        return NULL;
    int64_t m = oy != Py_None ? y.view.n : x.view.n;
    Py_buffer out;
    if (out_get(oout, "out", (Py_ssize_t)(x.view.n * m * 4), &out) < 0) {
        operand_release(&x);
        operand_release(&y);
        return NULL;
    }
    sl_error e;
    sl_status st;
    Py_BEGIN_ALLOW_THREADS st =
        sl_matrix(&x.view, oy != Py_None ? &y.view : NULL, out.buf, 0, &c.opt, &e);
    Py_END_ALLOW_THREADS PyBuffer_Release(&out);
    operand_release(&x);
    operand_release(&y);
    if (st != SL_OK)
        return raise_status(&c, st, &e);
    return stats_dict(&c);
}

static PyObject *py_knn(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *names[] = {"x",       "queries",      "k", "sims", "idx", "kernel",
                            "threads", "memory_limit", NULL};
    PyObject *ox, *oq, *osims, *oidx;
    long long k;
    const char *kernel = NULL;
    int threads = 0;
    unsigned long long limit = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOLOO|ziK", names, &ox, &oq, &k, &osims, &oidx,
                                     &kernel, &threads, &limit))
        return NULL;
    call c;
    if (call_init(&c, kernel, threads, limit) < 0)
        return NULL;
    operand x, q;
    if (operands_get(ox, oq, "queries", &x, &q) < 0)
        return NULL;
    int64_t nq = oq != Py_None ? q.view.n : x.view.n;
    Py_buffer sims, idx;
    if (k < 1) {
        PyErr_Format(PyExc_ValueError, "k must be >= 1, got %lld", k);
        goto fail_xq;
    }
    if (out_get(osims, "similarities", (Py_ssize_t)(nq * k * 4), &sims) < 0)
        goto fail_xq;
    if (out_get(oidx, "indices", (Py_ssize_t)(nq * k * 8), &idx) < 0) {
        PyBuffer_Release(&sims);
        goto fail_xq;
    }
    sl_error e;
    sl_status st;
    Py_BEGIN_ALLOW_THREADS st =
        sl_knn(&x.view, oq != Py_None ? &q.view : NULL, (int64_t)k, sims.buf, idx.buf, &c.opt, &e);
    Py_END_ALLOW_THREADS PyBuffer_Release(&sims);
    PyBuffer_Release(&idx);
    operand_release(&x);
    operand_release(&q);
    if (st != SL_OK)
        return raise_status(&c, st, &e);
    return stats_dict(&c);
fail_xq:
    operand_release(&x);
    operand_release(&q);
    return NULL;
}

/* Copies n items of `size` bytes into a new bytearray (NumPy wraps it). */
static PyObject *to_bytearray(const void *p, int64_t n, size_t size)
{
    return PyByteArray_FromStringAndSize(p ? p : "", (Py_ssize_t)((size_t)n * size));
}

static PyObject *py_join(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *names[] = {"x", "y", "tau", "kernel", "threads", "memory_limit", NULL};
    PyObject *ox, *oy;
    double tau;
    const char *kernel = NULL;
    int threads = 0;
    unsigned long long limit = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOd|ziK", names, &ox, &oy, &tau, &kernel, &threads,
                                     &limit))
        return NULL;
    call c;
    if (call_init(&c, kernel, threads, limit) < 0)
        return NULL;
    operand x, y;
    if (operands_get(ox, oy, "Y", &x, &y) < 0)
        return NULL;
    sl_error e;
    sl_status st;
    sl_pairs p;
    Py_BEGIN_ALLOW_THREADS st =
        sl_join(&x.view, oy != Py_None ? &y.view : NULL, tau, &p, &c.opt, &e);
    Py_END_ALLOW_THREADS operand_release(&x);
    operand_release(&y);
    if (st != SL_OK)
        return raise_status(&c, st, &e);
    PyObject *i = to_bytearray(p.i, p.count, 8), *j = to_bytearray(p.j, p.count, 8),
             *s = to_bytearray(p.sim, p.count, 4);
    sl_pairs_free(&p);
    PyObject *st_d = i && j && s ? stats_dict(&c) : NULL;
    if (!st_d) {
        Py_XDECREF(i);
        Py_XDECREF(j);
        Py_XDECREF(s);
        return NULL;
    }
    return Py_BuildValue("(NNNN)", i, j, s, st_d);
}

static PyObject *py_plan(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *names[] = {"op", "x", "y", "k", "kernel", "threads", NULL};
    const char *op, *kernel = NULL;
    PyObject *ox, *oy;
    long long k = 1;
    int threads = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "sOO|Lzi", names, &op, &ox, &oy, &k, &kernel,
                                     &threads))
        return NULL;
    call c;
    if (call_init(&c, kernel, threads, 0) < 0)
        return NULL;
    operand x, y;
    if (operands_get(ox, oy, "Y", &x, &y) < 0)
        return NULL;
    size_t bytes = 0;
    sl_error e;
    sl_status st =
        sl_plan(op, &x.view, oy != Py_None ? &y.view : NULL, (int64_t)k, &c.opt, &bytes, &e);
    operand_release(&x);
    operand_release(&y);
    if (st != SL_OK)
        return raise_status(&c, st, &e);
    return PyLong_FromSize_t(bytes);
}

/* ---- introspection ---- */

static PyObject *py_info(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    char buf[256];
    PyObject *kernels = PyList_New(0);
    if (!kernels)
        return NULL;
    for (int i = 0; i < sl_kernel_count(); i++) {
        sl_kernel_info ki;
        if (sl_kernel_get(i, NULL, &ki) != SL_OK)
            continue;
        PyObject *t = Py_BuildValue("{s:s,s:s,s:s,s:O}", "name", ki.name, "rung", ki.rung, "about",
                                    ki.about, "usable", ki.usable ? Py_True : Py_False);
        if (!t || PyList_Append(kernels, t) < 0) {
            Py_XDECREF(t);
            Py_DECREF(kernels);
            return NULL;
        }
        Py_DECREF(t);
    }
    const char *au = sl_kernel_auto(NULL);
    return Py_BuildValue("{s:s,s:s,s:s,s:N,s:i}", "version", SL_VERSION, "cpu",
                         sl_cpu_names(sl_cpu_detected(), buf, sizeof buf), "auto", au ? au : "",
                         "kernels", kernels, "hardware_threads", sl_hardware_threads());
}

static PyObject *py_error_bound(PyObject *self, PyObject *arg)
{
    (void)self;
    long long d = PyLong_AsLongLong(arg);
    if (d == -1 && PyErr_Occurred())
        return NULL;
    return PyFloat_FromDouble(sl_error_bound((int64_t)d));
}

static PyObject *py_peak(PyObject *self, PyObject *args)
{
    (void)self;
    int threads = 0;
    double seconds = 0.3;
    if (!PyArg_ParseTuple(args, "|id", &threads, &seconds))
        return NULL;
    double g;
    Py_BEGIN_ALLOW_THREADS g = sl_peak_gflops(NULL, threads, seconds);
    Py_END_ALLOW_THREADS return PyFloat_FromDouble(g);
}

static PyMethodDef methods[] = {
    {"matrix", (PyCFunction)(void (*)(void))py_matrix, METH_VARARGS | METH_KEYWORDS,
     "matrix(x, y, out, kernel=None, threads=0, memory_limit=0) -> stats"},
    {"knn", (PyCFunction)(void (*)(void))py_knn, METH_VARARGS | METH_KEYWORDS,
     "knn(x, queries, k, sims, idx, kernel=None, threads=0, memory_limit=0) -> stats"},
    {"join", (PyCFunction)(void (*)(void))py_join, METH_VARARGS | METH_KEYWORDS,
     "join(x, y, tau, kernel=None, threads=0, memory_limit=0) -> (i, j, sims, stats)"},
    {"plan", (PyCFunction)(void (*)(void))py_plan, METH_VARARGS | METH_KEYWORDS,
     "plan(op, x, y, k=1, kernel=None, threads=0) -> bytes the library will allocate"},
    {"info", py_info, METH_NOARGS, "info() -> dict of CPU features and kernels"},
    {"error_bound", py_error_bound, METH_O, "error_bound(d) -> float"},
    {"peak_gflops", py_peak, METH_VARARGS, "peak_gflops(threads=0, seconds=0.3) -> float"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT,
                                    "_core",
                                    "The C library behind simladder (use the simladder module).",
                                    -1,
                                    methods,
                                    NULL,
                                    NULL,
                                    NULL,
                                    NULL};

PyMODINIT_FUNC PyInit__core(void)
{
    return PyModule_Create(&module);
}
