/*
 * Quantised coefficient blocks already in memory, with the GIL released:
 *
 *   gather_windows: one block-aligned window of each whole-image record (C, h, w) into its
 *     batch row (C, n, n), zero outside the record, optionally mirrored left-right with the
 *     odd-u channels negated (the exact DCT-domain flip, conventions §1);
 *   pack_dc_ac: a batch of int16 quantised coefficients split for the transfer to the
 *     device: the DC channels as int16, the AC channels as int8, and every AC value outside
 *     -127..127 as an int16 escape (its int8 slot holds -128), in row-major order.
 *
 * The Python side (freqpipe/jpeg/blocks.py) checks dtypes and shapes and says what was wrong;
 * the checks here only guard memory, so a caller that skips it gets ValueError, not a crash.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

static int get_buffer(PyObject *obj, Py_buffer *view, int writable, const char *name) {
    int flags = PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) {
        PyErr_Format(PyExc_ValueError, "%s: a C-contiguous%s buffer is needed", name,
                     writable ? " writable" : "");
        return -1;
    }
    return 0;
}

/* One record's window into one batch row, for each (source, destination) element type. */
#define DEFINE_WINDOW(NAME, SRC_T, DST_T)                                                    \
    static void NAME(const SRC_T *rec, int64_t h, int64_t w, DST_T *dst, int64_t channels,   \
                     int64_t n, int64_t top, int64_t left, int flip,                         \
                     const uint8_t *negate) {                                                \
        /* output columns x whose source column lies inside the record */                   \
        int64_t x0, x1;                                                                      \
        if (flip) { /* source column of x is left + n - 1 - x */                             \
            x0 = left + n - 1 - (w - 1);                                                     \
            x1 = left + n - 1;                                                               \
        } else {                                                                             \
            x0 = -left;                                                                      \
            x1 = w - 1 - left;                                                               \
        }                                                                                    \
        if (x0 < 0) x0 = 0;                                                                  \
        if (x1 > n - 1) x1 = n - 1;                                                          \
        for (int64_t c = 0; c < channels; c++) {                                             \
            const int neg = flip && negate[c];                                               \
            const SRC_T *plane = rec + c * h * w;                                            \
            for (int64_t r = 0; r < n; r++) {                                                \
                DST_T *out = dst + (c * n + r) * n;                                          \
                const int64_t sr = top + r;                                                  \
                if (sr < 0 || sr >= h || x0 > x1) {                                          \
                    memset(out, 0, (size_t)n * sizeof(DST_T));                               \
                    continue;                                                                \
                }                                                                            \
                const SRC_T *row = plane + sr * w;                                           \
                for (int64_t x = 0; x < x0; x++) out[x] = 0;                                 \
                if (!flip) {                                                                 \
                    for (int64_t x = x0; x <= x1; x++) out[x] = (DST_T)row[left + x];        \
                } else if (!neg) {                                                           \
                    for (int64_t x = x0; x <= x1; x++)                                       \
                        out[x] = (DST_T)row[left + n - 1 - x];                               \
                } else { /* wraps as NumPy's negation does: -(-32768) stays -32768 */       \
                    for (int64_t x = x0; x <= x1; x++)                                       \
                        out[x] = (DST_T)(-(int32_t)row[left + n - 1 - x]);                   \
                }                                                                            \
                for (int64_t x = x1 + 1; x < n; x++) out[x] = 0;                             \
            }                                                                                \
        }                                                                                    \
    }

DEFINE_WINDOW(window_8_8, int8_t, int8_t)
DEFINE_WINDOW(window_8_16, int8_t, int16_t)
DEFINE_WINDOW(window_16_16, int16_t, int16_t)

static PyObject *gather_windows(PyObject *self, PyObject *args) {
    PyObject *objs[8];
    int src_size, dst_size;
    Py_ssize_t channels, n;
    if (!PyArg_ParseTuple(args, "OiOOOOOOOinn", &objs[0], &src_size, &objs[1], &objs[2],
                          &objs[3], &objs[4], &objs[5], &objs[6], &objs[7], &dst_size,
                          &channels, &n))
        return NULL;
    static const char *names[8] = {"coeffs", "offsets", "grids", "local",
                                   "windows", "negate", "out", "rows"};
    Py_buffer b[8];
    int got = 0;
    PyObject *result = NULL;
    for (; got < 8; got++)
        if (get_buffer(objs[got], &b[got], got == 6, names[got]) < 0) goto done;
    /* an int16 record never narrows into an int8 batch: a store is int8 only when all are */
    if ((src_size != 1 && src_size != 2) || (dst_size != 1 && dst_size != 2) ||
        src_size > dst_size || channels < 1 || n < 1) {
        PyErr_SetString(PyExc_ValueError,
                        "element sizes must be 1 -> 1, 1 -> 2 or 2 -> 2; channels, n >= 1");
        goto done;
    }
    const Py_ssize_t records = b[1].len / 8 - 1, m = b[3].len / 8;
    const uint64_t *offsets = b[1].buf;
    const int32_t *grids = b[2].buf;
    const int64_t *local = b[3].buf, *windows = b[4].buf, *rows = b[7].buf;
    const uint8_t *negate = b[5].buf;
    const Py_ssize_t row_elems = channels * n * n, out_rows = b[6].len / (row_elems * dst_size);
    if (records < 0 || b[2].len != records * 8 || b[4].len != m * 24 || b[5].len != channels ||
        b[7].len != m * 8) {
        PyErr_SetString(PyExc_ValueError, "section or batch buffers of inconsistent sizes");
        goto done;
    }
    for (Py_ssize_t i = 0; i < m; i++) {
        const int64_t j = local[i];
        if (j < 0 || j >= records || rows[i] < 0 || rows[i] >= out_rows) {
            PyErr_Format(PyExc_ValueError, "record %lld or batch row %lld out of range",
                         (long long)j, (long long)rows[i]);
            goto done;
        }
        const int64_t h = grids[2 * j], w = grids[2 * j + 1];
        const uint64_t a = offsets[j], e = offsets[j + 1];
        if (h < 1 || w < 1 || e < a || e - a != (uint64_t)(channels * h * w) ||
            e > (uint64_t)(b[0].len / src_size)) {
            PyErr_Format(PyExc_ValueError, "record %lld: offsets and grid disagree",
                         (long long)j);
            goto done;
        }
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < m; i++) {
        const int64_t j = local[i], h = grids[2 * j], w = grids[2 * j + 1];
        const int64_t top = windows[3 * i], left = windows[3 * i + 1];
        const int flip = windows[3 * i + 2] != 0;
        const char *rec = (const char *)b[0].buf + offsets[j] * (uint64_t)src_size;
        char *dst = (char *)b[6].buf + rows[i] * row_elems * dst_size;
        if (src_size == 1 && dst_size == 1)
            window_8_8((const int8_t *)rec, h, w, (int8_t *)dst, channels, n, top, left, flip,
                       negate);
        else if (src_size == 1)
            window_8_16((const int8_t *)rec, h, w, (int16_t *)dst, channels, n, top, left, flip,
                        negate);
        else
            window_16_16((const int16_t *)rec, h, w, (int16_t *)dst, channels, n, top, left,
                         flip, negate);
    }
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    for (int i = 0; i < got; i++) PyBuffer_Release(&b[i]);
    return result;
}

static PyObject *pack_dc_ac(PyObject *self, PyObject *args) {
    PyObject *objs[5];
    Py_ssize_t count, channels, plane;
    if (!PyArg_ParseTuple(args, "OOOOOnnn", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4],
                          &count, &channels, &plane))
        return NULL;
    static const char *names[5] = {"coefficients", "dc", "dc_out", "ac_out", "escapes"};
    Py_buffer b[5];
    int got = 0;
    PyObject *result = NULL;
    for (; got < 5; got++)
        if (get_buffer(objs[got], &b[got], got >= 2, names[got]) < 0) goto done;
    if (count < 0 || channels < 1 || plane < 0 || b[1].len != channels) {
        PyErr_SetString(PyExc_ValueError, "need count >= 0 and one DC flag per channel");
        goto done;
    }
    const uint8_t *dc = b[1].buf;
    Py_ssize_t dcs = 0;
    for (Py_ssize_t c = 0; c < channels; c++) dcs += dc[c] != 0;
    const Py_ssize_t acs = channels - dcs;
    if (b[0].len < count * channels * plane * 2 || b[2].len < count * dcs * plane * 2 ||
        b[3].len < count * acs * plane || b[4].len < count * acs * plane * 2) {
        PyErr_SetString(PyExc_ValueError, "batch buffers too small for the count given");
        goto done;
    }
    Py_ssize_t escapes = 0;
    Py_BEGIN_ALLOW_THREADS
    const int16_t *src = b[0].buf;
    int16_t *dc_out = b[2].buf, *esc = b[4].buf;
    int8_t *ac_out = b[3].buf;
    for (Py_ssize_t i = 0; i < count; i++) {
        for (Py_ssize_t c = 0; c < channels; c++, src += plane) {
            if (dc[c]) {
                memcpy(dc_out, src, (size_t)plane * 2);
                dc_out += plane;
                continue;
            }
            for (Py_ssize_t k = 0; k < plane; k++) {
                const int16_t v = src[k];
                if (v >= -127 && v <= 127) {
                    ac_out[k] = (int8_t)v;
                } else {
                    ac_out[k] = -128;
                    esc[escapes++] = v;
                }
            }
            ac_out += plane;
        }
    }
    Py_END_ALLOW_THREADS
    result = PyLong_FromSsize_t(escapes);
done:
    for (int i = 0; i < got; i++) PyBuffer_Release(&b[i]);
    return result;
}

static PyMethodDef methods[] = {
    {"gather_windows", gather_windows, METH_VARARGS,
     "gather_windows(coeffs, src_itemsize, offsets, grids, local, windows, negate, out, rows, "
     "dst_itemsize, channels, n): windows of whole-image records into batch rows"},
    {"pack_dc_ac", pack_dc_ac, METH_VARARGS,
     "pack_dc_ac(coefficients, dc, dc_out, ac_out, escapes, count, channels, plane) -> "
     "escapes written"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_blocks",
    .m_doc = "Quantised coefficient blocks in memory: window gather and transfer packing.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__blocks(void) { return PyModule_Create(&module); }
