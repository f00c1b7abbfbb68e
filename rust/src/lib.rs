//! simladder_rs: the Rust rung of the simladder ladder.
//!
//! Exact cosine similarity over the rows of a C-contiguous float32 2-D array,
//! read in place through the buffer protocol. Two jobs, each in a sequential
//! and a rayon version:
//!
//! * `matrix(x)`: the n x n cosine matrix as a bytearray of n*n float32
//!   (row-major). Each unordered pair is computed once (upper triangle), in
//!   64 x 64 tiles, each mirrored into the lower triangle as it is done.
//! * `knn(x, k)`: for every row, the k most similar other rows (self excluded
//!   by index), best first, ties by the lower index; where fewer than k
//!   candidates exist the tail is sim -inf, idx -1. Returns two bytearrays:
//!   n*k float32 similarities and n*k int64 indices.
//!
//! cos(a, b) = a.b / (|a| |b|), and 0 when either norm is 0 (a zero row is
//! 0-similar to everything, itself included). Norms are computed once, in
//! float64; dot products are float32 with several independent accumulators.
//! The GIL is released for all the arithmetic.
//!
//! bytearrays (not bytes) so that NumPy can wrap them writable, without a copy.

use std::cmp::Ordering;

use pyo3::buffer::PyBuffer;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyByteArray;
use rayon::prelude::*;

/// Independent float32 accumulators in the dot product. Without a target-cpu
/// flag LLVM maps them onto SSE registers of 4 lanes, i.e. 4 vector
/// accumulators: enough independent add chains to hide most of the add latency.
const LANES: usize = 16;

/// Side of the square tiles of the matrix job (64 x 64 f32 = 16 KiB of
/// output; the tile's 64 rows j are 64 * d floats, in L2 for d = 768).
/// (32-row blocks, for finer rayon tasks, measured slower on the whole.)
const TILE: usize = 64;

// ---------------------------------------------------------------- kernels

/// The main loop of the dot product: LANES independent running sums over
/// chunks of LANES elements; the caller reduces them. Written so that LLVM's
/// SLP vectoriser turns each group of 4 lanes into one SSE register
/// (`movups`, `mulps`, `addps`).
///
/// Kept out of line on purpose: when the lane reduction below is inlined into
/// the same function, LLVM 14 (Debian's rustc 1.63) and LLVM 20 both pair the
/// accumulators by twos instead and emit half-width `movsd` loads, which
/// halves the arithmetic per instruction. The call costs a few ns per pair.
#[inline(never)]
fn dot_lanes(a: &[f32], b: &[f32]) -> [f32; LANES] {
    let mut acc = [0.0f32; LANES];
    for (x, y) in a.chunks_exact(LANES).zip(b.chunks_exact(LANES)) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    acc
}

/// Two rows against one: the same lane sums as `dot_lanes(a0, b)` and
/// `dot_lanes(a1, b)`, in the same order (so bitwise the same results), but
/// each chunk of `b` is loaded once for both: 8 SSE accumulators, and half the
/// memory traffic for the streamed row.
#[inline(never)]
fn dot2_lanes(a0: &[f32], a1: &[f32], b: &[f32]) -> [[f32; LANES]; 2] {
    let mut s0 = [0.0f32; LANES];
    let mut s1 = [0.0f32; LANES];
    let chunks = a0.chunks_exact(LANES).zip(a1.chunks_exact(LANES));
    for ((x0, x1), y) in chunks.zip(b.chunks_exact(LANES)) {
        for l in 0..LANES {
            s0[l] += x0[l] * y[l];
            s1[l] += x1[l] * y[l];
        }
    }
    [s0, s1]
}

/// Finishes a dot product from its lane sums: the remainder (< LANES
/// elements), then a fixed pairwise reduction of the lanes, so the result
/// does not depend on which thread, job or kernel variant computed it.
#[inline]
fn finish(mut acc: [f32; LANES], a: &[f32], b: &[f32]) -> f32 {
    let done = a.len() / LANES * LANES;
    let mut tail = 0.0f32;
    for (x, y) in a[done..].iter().zip(&b[done..]) {
        tail += x * y;
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for l in 0..width {
            acc[l] += acc[l + width];
        }
    }
    acc[0] + tail
}

/// float32 dot product.
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    finish(dot_lanes(a, b), a, b)
}

/// (a0.b, a1.b), each bitwise equal to `dot`.
#[inline]
fn dot2(a0: &[f32], a1: &[f32], b: &[f32]) -> (f32, f32) {
    let [s0, s1] = dot2_lanes(a0, a1, b);
    (finish(s0, a0, b), finish(s1, a1, b))
}

/// The rows of the input and their inverse norms (0 for a zero row).
struct Rows<'a> {
    data: &'a [f32],
    n: usize,
    d: usize,
    inv: Vec<f64>,
}

impl<'a> Rows<'a> {
    /// Checks every value is finite and computes the inverse norms once.
    /// (The parallel version spreads the rows over rayon's threads: at
    /// n = 10,000 this pass is a few percent of the matrix job, and a serial
    /// part is what keeps two threads from halving the time.)
    fn new(data: &'a [f32], n: usize, d: usize, parallel: bool) -> Result<Self, String> {
        // Per row: its inverse norm, or the column of its first non-finite value.
        let one = |i: usize| -> Result<f64, usize> {
            let r = &data[i * d..(i + 1) * d];
            if let Some(c) = r.iter().position(|v| !v.is_finite()) {
                return Err(c);
            }
            let ss: f64 = r.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
            Ok(if ss > 0.0 { 1.0 / ss.sqrt() } else { 0.0 })
        };
        let each: Vec<Result<f64, usize>> = if parallel {
            (0..n).into_par_iter().map(one).collect()
        } else {
            (0..n).map(one).collect()
        };
        let mut inv = Vec::with_capacity(n);
        for (i, v) in each.into_iter().enumerate() {
            match v {
                Ok(x) => inv.push(x),
                Err(c) => {
                    let v = data[i * d + c];
                    return Err(format!("non-finite value {v} at row {i}, column {c}"));
                }
            }
        }
        Ok(Rows { data, n, d, inv })
    }

    #[inline]
    fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.d..(i + 1) * self.d]
    }

    /// cos(row i, row j) from their dot product, clamped to [-1, 1], with -0
    /// folded into +0 so that equal similarities compare equal.
    #[inline]
    fn scale(&self, dot: f32, i: usize, j: usize) -> f32 {
        let s = (f64::from(dot) * self.inv[i] * self.inv[j]) as f32;
        let s = s.clamp(-1.0, 1.0);
        if s == 0.0 {
            0.0
        } else {
            s
        }
    }
}

/// The output matrix as a raw pointer, shared by the block-row tasks. Sound
/// because each cell is written by exactly one task (see `matrix_block_row`)
/// and read only by the task that wrote it.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

/// Block row `br` (rows r0..r1, TILE of them) of the matrix, tile by tile
/// across the upper triangle: each TILE x TILE tile (i <= j) is computed two
/// rows at a time (`dot2`: one load of row j serves rows i and i + 1), then
/// mirrored into the lower triangle while it is still in cache. The rows j of
/// a tile (TILE x d floats) stay in L2 for all the row pairs of the block.
///
/// # Safety
/// `out` points to n*n floats. The task writes cells (i, j) and (j, i) with
/// i in r0..r1 and j >= i: no other block row writes those, and it reads back
/// only cells it wrote itself.
unsafe fn matrix_block_row(rows: &Rows, out: SharedOut, br: usize) {
    let n = rows.n;
    let at = |r: usize, c: usize| out.0.add(r * n + c);
    let r0 = br * TILE;
    let r1 = (r0 + TILE).min(n);
    for c0 in (r0..n).step_by(TILE) {
        let c1 = (c0 + TILE).min(n);
        for i in (r0..r1).step_by(2) {
            let a0 = rows.row(i);
            if i + 1 == r1 {
                for j in c0.max(i)..c1 {
                    *at(i, j) = rows.scale(dot(a0, rows.row(j)), i, j);
                }
                continue;
            }
            let a1 = rows.row(i + 1);
            if c0 <= i {
                *at(i, i) = rows.scale(dot(a0, a0), i, i);
            }
            for j in c0.max(i + 1)..c1 {
                let (d0, d1) = dot2(a0, a1, rows.row(j));
                *at(i, j) = rows.scale(d0, i, j);
                *at(i + 1, j) = rows.scale(d1, i + 1, j);
            }
        }
        // The mirror: cells (j, i), j > i, from the tile just computed.
        for j in c0..c1 {
            for i in r0..r1.min(j) {
                *at(j, i) = *at(i, j);
            }
        }
    }
}

fn fill_matrix(rows: &Rows, out: &mut [f32], parallel: bool) {
    let n = rows.n;
    let p = SharedOut(out.as_mut_ptr());
    let blocks = (n + TILE - 1) / TILE;
    // SAFETY (both branches): block rows write disjoint cells; see above.
    if !parallel {
        (0..blocks).for_each(|b| unsafe { matrix_block_row(rows, p, b) });
        return;
    }
    // Block row b costs about n - b * TILE tiles' worth: pair it with block
    // row blocks-1-b so that every task costs about the same, and let rayon
    // spread the pairs over its threads.
    (0..(blocks + 1) / 2).into_par_iter().for_each(|b| {
        unsafe { matrix_block_row(rows, p, b) };
        if blocks - 1 - b != b {
            unsafe { matrix_block_row(rows, p, blocks - 1 - b) };
        }
    });
}

/// Best first: higher similarity, then lower index. A total order because
/// indices are distinct and similarities are finite (inputs are checked).
#[inline]
fn best_first(a: &(f32, usize), b: &(f32, usize)) -> Ordering {
    b.0.partial_cmp(&a.0)
        .unwrap_or(Ordering::Equal)
        .then(a.1.cmp(&b.1))
}

/// Keeps the best k of `cand` (best first) in sims/idx, padding -inf / -1.
fn select(cand: &mut [(f32, usize)], sims: &mut [f32], idx: &mut [i64]) {
    let k = sims.len();
    let m = k.min(cand.len());
    if m > 0 && m < cand.len() {
        cand.select_nth_unstable_by(m - 1, best_first);
    }
    cand[..m].sort_unstable_by(best_first);
    for r in 0..k {
        if r < m {
            sims[r] = cand[r].0;
            idx[r] = cand[r].1 as i64;
        } else {
            sims[r] = f32::NEG_INFINITY;
            idx[r] = -1;
        }
    }
}

/// Candidate buffers of one worker: one per row of a block.
type Scratch = [Vec<(f32, usize)>; 2];

/// The k nearest other rows of row i (and of row i + 1 when sims/idx hold
/// two rows' worth), each against every other row: full rows, no symmetry.
fn knn_rows(
    rows: &Rows,
    i: usize,
    k: usize,
    cand: &mut Scratch,
    sims: &mut [f32],
    idx: &mut [i64],
) {
    let n = rows.n;
    let [c0, c1] = cand;
    c0.clear();
    c1.clear();
    let a0 = rows.row(i);
    if sims.len() == k {
        c0.extend(
            (0..n)
                .filter(|&j| j != i)
                .map(|j| (rows.scale(dot(a0, rows.row(j)), i, j), j)),
        );
        select(c0, sims, idx);
        return;
    }
    let a1 = rows.row(i + 1);
    for j in 0..n {
        let (d0, d1) = dot2(a0, a1, rows.row(j));
        if j != i {
            c0.push((rows.scale(d0, i, j), j));
        }
        if j != i + 1 {
            c1.push((rows.scale(d1, i + 1, j), j));
        }
    }
    let (s0, s1) = sims.split_at_mut(k);
    let (x0, x1) = idx.split_at_mut(k);
    select(c0, s0, x0);
    select(c1, s1, x1);
}

fn fill_knn_seq(rows: &Rows, k: usize, sims: &mut [f32], idx: &mut [i64]) {
    let mut cand: Scratch = [Vec::with_capacity(rows.n), Vec::with_capacity(rows.n)];
    let blocks = sims.chunks_mut(2 * k).zip(idx.chunks_mut(2 * k));
    for (t, (s, x)) in blocks.enumerate() {
        knn_rows(rows, 2 * t, k, &mut cand, s, x);
    }
}

fn fill_knn_par(rows: &Rows, k: usize, sims: &mut [f32], idx: &mut [i64]) {
    sims.par_chunks_mut(2 * k)
        .zip(idx.par_chunks_mut(2 * k))
        .enumerate()
        .for_each_init(
            || [Vec::with_capacity(rows.n), Vec::with_capacity(rows.n)],
            |cand, (t, (s, x))| knn_rows(rows, 2 * t, k, cand, s, x),
        );
}

// ---------------------------------------------------------------- Python glue

/// The input, checked: a 2-D C-contiguous float32 buffer. Holding the
/// PyBuffer keeps the exporter's memory alive (NumPy also refuses to resize
/// an array while a buffer is exported).
struct Input {
    buf: PyBuffer<f32>,
    n: usize,
    d: usize,
}

impl Input {
    fn get(x: &PyAny) -> PyResult<Self> {
        let buf = PyBuffer::<f32>::get(x).map_err(|e| {
            PyTypeError::new_err(format!(
                "expected a float32 array (C-contiguous, 2-D) supporting the buffer protocol, \
                 got {}: {}",
                x.get_type().name().unwrap_or("?"),
                e
            ))
        })?;
        if buf.dimensions() != 2 {
            return Err(PyValueError::new_err(format!(
                "expected a 2-D array, got {} dimension(s)",
                buf.dimensions()
            )));
        }
        if !buf.is_c_contiguous() {
            return Err(PyValueError::new_err(
                "expected a C-contiguous array (use numpy.ascontiguousarray)",
            ));
        }
        let (n, d) = (buf.shape()[0], buf.shape()[1]);
        Ok(Input { buf, n, d })
    }

    /// The values, borrowed from the exporter without a copy.
    fn data(&self) -> &[f32] {
        let len = self.n * self.d;
        if len == 0 {
            return &[];
        }
        // SAFETY: PyBuffer::get checked item size, format and alignment; the
        // buffer is C-contiguous with n*d items and lives as long as self.
        // (Mutating the array from another Python thread during a call gives
        // unspecified results, as with any GIL-releasing NumPy routine.)
        unsafe { std::slice::from_raw_parts(self.buf.buf_ptr() as *const f32, len) }
    }
}

/// A new bytearray of `count` items of T, and its storage as &mut [T]. The
/// storage is NOT initialised (PyO3's `new_with` would zero it first: a
/// single-threaded pass over the whole n x n matrix, with the GIL held):
/// every caller writes every item before Python sees the array.
fn new_array<'py, T: Copy>(
    py: Python<'py>,
    count: usize,
) -> PyResult<(&'py PyByteArray, &'py mut [T])> {
    let bytes = count
        .checked_mul(std::mem::size_of::<T>())
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or_else(|| PyValueError::new_err("output too large"))?;
    // SAFETY: a NULL source asks CPython for an uninitialised buffer of
    // `bytes` bytes; a NULL result is a raised MemoryError, which
    // from_owned_ptr_or_err turns into Err.
    let ba: &PyByteArray = unsafe {
        let raw = pyo3::ffi::PyByteArray_FromStringAndSize(std::ptr::null(), bytes as isize);
        py.from_owned_ptr_or_err(raw)?
    };
    if count == 0 {
        return Ok((ba, &mut []));
    }
    // SAFETY: the bytearray was just created and no Python code has seen it,
    // so this is the only reference to its storage until we return it. Its
    // bytes are uninitialised, but u8/f32/i64 have no invalid bit patterns
    // and the caller overwrites them all.
    let raw = unsafe { ba.as_bytes_mut() };
    // SAFETY: T is a plain number type; every bit pattern is valid.
    let (pre, mid, post) = unsafe { raw.align_to_mut::<T>() };
    if !pre.is_empty() || !post.is_empty() {
        return Err(PyRuntimeError::new_err("bytearray storage is misaligned"));
    }
    Ok((ba, mid))
}

fn check_k(k: i64) -> PyResult<usize> {
    if k <= 0 {
        return Err(PyValueError::new_err(format!("k must be >= 1, got {k}")));
    }
    usize::try_from(k).map_err(|_| PyValueError::new_err("k too large"))
}

fn run_matrix(py: Python<'_>, x: &PyAny, parallel: bool) -> PyResult<Py<PyByteArray>> {
    let input = Input::get(x)?;
    let (n, d) = (input.n, input.d);
    let count = n
        .checked_mul(n)
        .ok_or_else(|| PyValueError::new_err("n too large"))?;
    let (ba, out) = new_array::<f32>(py, count)?;
    let data = input.data();
    py.allow_threads(|| {
        let rows = Rows::new(data, n, d, parallel)?;
        fill_matrix(&rows, out, parallel);
        Ok::<(), String>(())
    })
    .map_err(PyValueError::new_err)?;
    Ok(ba.into())
}

fn run_knn(
    py: Python<'_>,
    x: &PyAny,
    k: i64,
    parallel: bool,
) -> PyResult<(Py<PyByteArray>, Py<PyByteArray>)> {
    let k = check_k(k)?;
    let input = Input::get(x)?;
    let (n, d) = (input.n, input.d);
    let count = n
        .checked_mul(k)
        .ok_or_else(|| PyValueError::new_err("n * k too large"))?;
    let (sba, sims) = new_array::<f32>(py, count)?;
    let (iba, idx) = new_array::<i64>(py, count)?;
    let data = input.data();
    py.allow_threads(|| {
        let rows = Rows::new(data, n, d, parallel)?;
        if n > 0 {
            if parallel {
                fill_knn_par(&rows, k, sims, idx);
            } else {
                fill_knn_seq(&rows, k, sims, idx);
            }
        }
        Ok::<(), String>(())
    })
    .map_err(PyValueError::new_err)?;
    Ok((sba.into(), iba.into()))
}

/// matrix(x) -> bytearray of n*n float32: the cosine matrix, one thread.
#[pyfunction]
fn matrix(py: Python<'_>, x: &PyAny) -> PyResult<Py<PyByteArray>> {
    run_matrix(py, x, false)
}

/// matrix_par(x) -> bytearray of n*n float32: the cosine matrix, rayon threads.
#[pyfunction]
fn matrix_par(py: Python<'_>, x: &PyAny) -> PyResult<Py<PyByteArray>> {
    run_matrix(py, x, true)
}

/// knn(x, k) -> (sims: bytearray n*k float32, idx: bytearray n*k int64), one thread.
#[pyfunction]
fn knn(py: Python<'_>, x: &PyAny, k: i64) -> PyResult<(Py<PyByteArray>, Py<PyByteArray>)> {
    run_knn(py, x, k, false)
}

/// knn_par(x, k) -> as knn, rayon threads.
#[pyfunction]
fn knn_par(py: Python<'_>, x: &PyAny, k: i64) -> PyResult<(Py<PyByteArray>, Py<PyByteArray>)> {
    run_knn(py, x, k, true)
}

/// The number of threads the *_par functions use (RAYON_NUM_THREADS or all cores).
#[pyfunction]
fn num_threads() -> usize {
    rayon::current_num_threads()
}

#[pymodule]
fn simladder_rs(_py: Python<'_>, m: &PyModule) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(matrix, m)?)?;
    m.add_function(wrap_pyfunction!(matrix_par, m)?)?;
    m.add_function(wrap_pyfunction!(knn, m)?)?;
    m.add_function(wrap_pyfunction!(knn_par, m)?)?;
    m.add_function(wrap_pyfunction!(num_threads, m)?)?;
    m.add("LANES", LANES)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
