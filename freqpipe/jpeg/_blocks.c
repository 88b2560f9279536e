/*
 * Quantised coefficient blocks already in memory, with the GIL released:
 *
 *   gather_windows: one block-aligned window of each whole-image record (C, h, w) into its
 *     batch row (C, n, n), zero outside the record, optionally mirrored left-right with the
 *     odd-u channels negated (the exact DCT-domain flip, conventions §1);
 *   pack_planes: a batch of int16 quantised coefficients packed for the transfer to the
 *     device, plane by plane (one sample's channel): lines repeated in pairs (chroma
 *     repeated onto the luma grid) kept once, DC planes as differences from the left
 *     neighbour (the first column from the block above), the values bit-packed at the width
 *     of fewest bits, 0 to 16, each value that does not fit escaped (its code the width's
 *     most negative value) into a second bit stream at the plane's widest width;
 *   unpack_planes: the inverse, on the host. freqpipe/jpeg/blocks.py documents the format.
 *
 * The Python side (freqpipe/jpeg/blocks.py) checks dtypes and shapes and says what was wrong;
 * the checks here only guard memory, so a caller that skips it gets ValueError, not a crash.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Zero bytes after a packed stream: the device reads three bytes from each value's first, the
 * host eight. */
#define PACK_PAD 8

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

/* Bits a value needs in a plane's two's-complement width, its most negative code kept as the
 * escape mark: 0 for 0, b for |v| <= 2^(b-1) - 1; -32768 needs 17 (always an escape). */
static inline int needed_bits(int32_t v) {
    const uint32_t a = (uint32_t)(v < 0 ? -v : v);
    /* no branch on zero: planes mix zeros and nonzeros at random, a branch mispredicts */
    return (33 - __builtin_clz(a | 1)) & -(int)(a != 0);
}

/* Whether every row r of a plane with (r + phase) odd equals the row before it (rows come in
 * repeated pairs starting at -phase); stride 1 and step w checks columns instead. */
static int pairs_repeat(const int16_t *p, int64_t h, int64_t w, int64_t phase, int rows) {
    const int64_t lines = rows ? h : w, len = rows ? w : h;
    const int64_t step = rows ? w : 1, stride = rows ? 1 : w;
    for (int64_t r = 1; r < lines; r++) {
        if (((r + phase) & 1) == 0) continue;
        const int16_t *a = p + r * step, *b = p + (r - 1) * step;
        for (int64_t k = 0; k < len; k++)
            if (a[k * stride] != b[k * stride]) return 0;
    }
    return 1;
}

/* 0: lines not repeated; 1 + phase: lines repeated in pairs starting at -phase. */
static int repeat_code(const int16_t *p, int64_t h, int64_t w, int rows) {
    if ((rows ? h : w) < 2) return 0;
    for (int phase = 0; phase < 2; phase++)
        if (pairs_repeat(p, h, w, phase, rows)) return 1 + phase;
    return 0;
}

/* Bits of v in two's complement (no mark): 0 for 0. */
static inline int signed_bits(int32_t v) {
    const uint32_t a = (uint32_t)(v < 0 ? ~v : v);
    return v == 0 ? 0 : a ? 33 - __builtin_clz(a) : 1;
}

/* A little-endian bit stream, written from its first byte on. */
typedef struct {
    uint8_t *out;
    int64_t bytes;
    uint64_t acc;
    int filled;
} BitWriter;

static inline void put_bits(BitWriter *bw, uint32_t code, int bits) {
    bw->acc |= (uint64_t)code << bw->filled;
    bw->filled += bits;
    if (bw->filled >= 32) { /* four bytes at a time (little-endian hosts: the stream's order) */
        const uint32_t low = (uint32_t)bw->acc;
        memcpy(bw->out + bw->bytes, &low, 4);
        bw->bytes += 4;
        bw->acc >>= 32;
        bw->filled -= 32;
    }
}

/* Flushes the last bits and adds PACK_PAD zero bytes; returns the bytes written. */
static inline int64_t finish_bits(BitWriter *bw) {
    for (; bw->filled > 0; bw->filled -= 8, bw->acc >>= 8) bw->out[bw->bytes++] = (uint8_t)bw->acc;
    memset(bw->out + bw->bytes, 0, PACK_PAD);
    return bw->bytes + PACK_PAD;
}

/* The ``bits`` (<= 16) bits at bit ``at`` of a stream; 0 with *bad set where the eight bytes
 * from its first are not all inside (a stream packed here ends with PACK_PAD zero bytes). */
static inline uint32_t bits_at(const uint8_t *in, int64_t len, int64_t at, int bits, int *bad) {
    const int64_t byte = at >> 3;
    if (byte + 8 > len) {
        *bad = 1;
        return 0;
    }
    uint64_t word;
    memcpy(&word, in + byte, 8); /* little-endian hosts: the stream's byte order */
    return (uint32_t)(word >> (at & 7)) & ((1u << bits) - 1);
}

static inline int32_t sign_extend(uint32_t code, int bits) {
    /* by shifts, not a branch on the sign: signs come at random */
    return bits ? (int32_t)(code << (32 - bits)) >> (32 - bits) : (int32_t)code;
}

static PyObject *pack_planes(PyObject *self, PyObject *args) {
    PyObject *objs[5];
    Py_ssize_t count, channels, h, w;
    if (!PyArg_ParseTuple(args, "OOOOOnnnn", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4],
                          &count, &channels, &h, &w))
        return NULL;
    static const char *names[5] = {"coefficients", "dc", "meta", "stream", "escapes"};
    Py_buffer b[5];
    int got = 0;
    PyObject *result = NULL;
    int16_t *coded = NULL;
    uint16_t *magnitude = NULL; /* each value's absolute value, for the width passes */
    int32_t *marked = NULL;     /* where a plane's escapes are */
    for (; got < 5; got++)
        if (get_buffer(objs[got], &b[got], got >= 2, names[got]) < 0) goto done;
    const Py_ssize_t plane = h * w;
    if (count < 0 || channels < 1 || h < 1 || w < 1 || b[1].len != channels) {
        PyErr_SetString(PyExc_ValueError, "need count >= 0, h, w >= 1, one DC flag per channel");
        goto done;
    }
    /* worst case: every value 16 bits wide in either stream, then PACK_PAD zero bytes */
    const Py_ssize_t room = count * channels * plane * 2 + PACK_PAD;
    if (b[0].len < count * channels * plane * 2 || b[2].len < count * channels * 2 ||
        b[3].len < room || b[4].len < room) {
        PyErr_SetString(PyExc_ValueError, "batch buffers too small for the count given");
        goto done;
    }
    coded = malloc((size_t)plane * sizeof(int16_t));
    magnitude = malloc((size_t)plane * sizeof(uint16_t));
    marked = malloc((size_t)plane * sizeof(int32_t));
    if (coded == NULL || magnitude == NULL || marked == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    int64_t nbytes = 0, escape_bytes = 0;
    Py_BEGIN_ALLOW_THREADS
    const int16_t *src = b[0].buf;
    const uint8_t *dc = b[1].buf;
    uint8_t *meta = b[2].buf;
    BitWriter values = {b[3].buf, 0, 0, 0}, escapes = {b[4].buf, 0, 0, 0};
    for (Py_ssize_t i = 0; i < count * channels; i++, src += plane) {
        const int rc = repeat_code(src, h, w, 1), cc = repeat_code(src, h, w, 0);
        const int64_t hc = rc ? h / 2 + 1 : h, wc = cc ? w / 2 + 1 : w;
        const int64_t pr = rc == 2, pc = cc == 2;
        /* the coded plane: one value per repeated pair, pair j at line 2j - phase; a pair
         * wholly past the plane repeats the last line (no jump for the differences) */
        const int16_t *vals = coded; /* the plane itself when nothing is recoded */
        if (!rc && !cc) {
            if (dc[i % channels])
                memcpy(coded, src, (size_t)plane * sizeof(int16_t));
            else
                vals = src;
        } else {
            for (int64_t r = 0; r < hc; r++) {
                int64_t sr = rc ? 2 * r - pr : r;
                sr = sr < 0 ? 0 : sr >= h ? h - 1 : sr;
                for (int64_t x = 0; x < wc; x++) {
                    int64_t sx = cc ? 2 * x - pc : x;
                    sx = sx < 0 ? 0 : sx >= w ? w - 1 : sx;
                    coded[r * wc + x] = src[sr * w + sx];
                }
            }
        }
        const int64_t n = hc * wc;
        if (dc[i % channels]) { /* left neighbour; the first column from the one above */
            for (int64_t r = hc - 1; r >= 0; r--) {
                for (int64_t x = wc - 1; x >= 1; x--)
                    coded[r * wc + x] = (int16_t)(coded[r * wc + x] - coded[r * wc + x - 1]);
                if (r) coded[r * wc] = (int16_t)(coded[r * wc] - coded[(r - 1) * wc]);
            }
        }
        /* the width of fewest bits: the values at it plus the escapes at the widest's width;
         * above[b] counts the values that need more than b bits, one compare-and-count pass
         * per width up to the widest (loops the compiler vectorises; a histogram of each
         * value's width is a load-add-store per value) */
        int32_t lo = 0, hi = 0;
        for (int64_t k = 0; k < n; k++) {
            lo = vals[k] < lo ? vals[k] : lo;
            hi = vals[k] > hi ? vals[k] : hi;
            magnitude[k] = (uint16_t)(vals[k] < 0 ? -vals[k] : vals[k]); /* -32768: 32768 */
        }
        const int wide = signed_bits(lo) > signed_bits(hi) ? signed_bits(lo) : signed_bits(hi);
        const int top = needed_bits(lo) > needed_bits(hi) ? needed_bits(lo) : needed_bits(hi);
        int64_t above[18] = {0};
        for (int bits = 0; bits < top; bits++) {
            const int16_t fits = (int16_t)(bits ? (1 << (bits - 1)) - 1 : 0);
            uint32_t count = 0;
            for (int64_t k = 0; k < n; k++) count += magnitude[k] > (uint16_t)fits;
            above[bits] = count;
        }
        int64_t best_cost = -1;
        int best = 0;
        for (int bits = 0; bits <= 16; bits++) {
            if (!bits && above[0]) continue; /* width 0 has no mark: only an all-zero plane */
            const int64_t cost = n * bits + above[bits] * wide;
            if (best_cost < 0 || cost < best_cost) best_cost = cost, best = bits;
        }
        meta[2 * i] = (uint8_t)(best + 17 * (3 * rc + cc));
        meta[2 * i + 1] = (uint8_t)wide;
        const uint32_t mask = (1u << best) - 1, mark = best ? 1u << (best - 1) : 0;
        const uint32_t wide_mask = (uint32_t)((1u << wide) - 1);
        const int32_t limit = best ? (int32_t)mark - 1 : 0;
        BitWriter vw = values, ew = escapes; /* locals: the stores to the streams alias nothing */
        /* the values with the marks, noting where they are, then the escapes: no branch on
         * the data (a sixth of photo values are escapes, at random) */
        int64_t marks = 0;
        for (int64_t k = 0; best && k < n; k++) {
            const int32_t v = vals[k];
            const int out = v > limit || v < -limit;
            put_bits(&vw, out ? mark : (uint32_t)v & mask, best);
            marked[marks] = (int32_t)k;
            marks += out;
        }
        for (int64_t j = 0; j < marks; j++)
            put_bits(&ew, (uint32_t)vals[marked[j]] & wide_mask, wide);
        values = vw;
        escapes = ew;
    }
    nbytes = finish_bits(&values);
    escape_bytes = finish_bits(&escapes);
    Py_END_ALLOW_THREADS
    result = Py_BuildValue("LL", (long long)nbytes, (long long)escape_bytes);
done:
    free(coded);
    free(magnitude);
    free(marked);
    for (int i = 0; i < got; i++) PyBuffer_Release(&b[i]);
    return result;
}

/* The inverse of pack_planes, plane by plane (the host's unpack; the device has a batched
 * torch one); ValueError when the streams do not match the planes' meta. */
static PyObject *unpack_planes(PyObject *self, PyObject *args) {
    PyObject *objs[5];
    Py_ssize_t count, channels, h, w;
    if (!PyArg_ParseTuple(args, "OOOOOnnnn", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4],
                          &count, &channels, &h, &w))
        return NULL;
    static const char *names[5] = {"meta", "stream", "escapes", "dc", "out"};
    Py_buffer b[5];
    int got = 0;
    PyObject *result = NULL;
    int32_t *coded = NULL, *marked = NULL; /* marked: where a plane's escapes go */
    for (; got < 5; got++)
        if (get_buffer(objs[got], &b[got], got == 4, names[got]) < 0) goto done;
    const Py_ssize_t plane = h * w;
    if (count < 0 || channels < 1 || h < 1 || w < 1 || b[3].len != channels ||
        b[0].len < count * channels * 2 || b[4].len < count * channels * plane * 2) {
        PyErr_SetString(PyExc_ValueError, "meta, DC flags or out do not fit the batch");
        goto done;
    }
    coded = malloc((size_t)plane * sizeof(int32_t));
    marked = malloc((size_t)plane * sizeof(int32_t));
    if (coded == NULL || marked == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    int bad = 0;
    Py_BEGIN_ALLOW_THREADS
    const uint8_t *meta = b[0].buf, *dc = b[3].buf;
    int16_t *out = b[4].buf;
    const uint8_t *values = b[1].buf, *escapes = b[2].buf;
    const int64_t values_len = b[1].len, escapes_len = b[2].len;
    int64_t at = 0, escape_at = 0;
    for (Py_ssize_t i = 0; i < count * channels && !bad; i++, out += plane) {
        const int bits = meta[2 * i] % 17, code = meta[2 * i] / 17, wide = meta[2 * i + 1];
        const int rc = code / 3, cc = code % 3;
        if (code > 8 || wide > 16) {
            bad = 1;
            break;
        }
        const int64_t hc = rc ? h / 2 + 1 : h, wc = cc ? w / 2 + 1 : w, n = hc * wc;
        const uint32_t mark = bits ? 1u << (bits - 1) : 0;
        if (!bits) {
            memset(coded, 0, (size_t)n * sizeof(int32_t));
        } else if ((at + n * bits) / 8 + 8 > values_len) {
            bad = 1;
            break;
        }
        /* Two passes with no branch on the data (a sixth of photo values are escapes, at
         * random): the values, as many per 8-byte load as its 57 usable bits hold (they lie
         * inside the stream, checked above), noting where the marks are; then the escapes,
         * each at its own offset (one width per plane: no chain from one to the next). */
        const int per = bits ? 57 / bits : 0;
        const uint32_t value_mask = (1u << bits) - 1;
        int64_t k = 0, marks = 0;
        for (; per && k + per <= n; k += per, at += (int64_t)per * bits) {
            uint64_t word;
            memcpy(&word, values + (at >> 3), 8); /* little-endian hosts: the stream's order */
            word >>= at & 7;
            for (int j = 0; j < per; j++, word >>= bits) {
                const uint32_t u = (uint32_t)word & value_mask;
                coded[k + j] = sign_extend(u, bits);
                marked[marks] = (int32_t)(k + j);
                marks += u == mark;
            }
        }
        for (; bits && k < n; k++, at += bits) {
            const uint32_t u = bits_at(values, values_len, at, bits, &bad);
            coded[k] = sign_extend(u, bits);
            marked[marks] = (int32_t)k;
            marks += u == mark;
        }
        for (int64_t j = 0; j < marks; j++)
            coded[marked[j]] =
                sign_extend(bits_at(escapes, escapes_len, escape_at + j * wide, wide, &bad), wide);
        escape_at += marks * wide;
        if (dc[i % channels]) { /* differences -> values: down the first column, then rows */
            for (int64_t r = 0; r < hc; r++) {
                if (r) coded[r * wc] = (int16_t)(coded[r * wc] + coded[(r - 1) * wc]);
                for (int64_t x = 1; x < wc; x++)
                    coded[r * wc + x] = (int16_t)(coded[r * wc + x] + coded[r * wc + x - 1]);
            }
        }
        for (int64_t r = 0; r < h; r++) {
            const int32_t *row = coded + (rc ? (r + rc - 1) / 2 : r) * wc;
            if (!cc) {
                for (int64_t x = 0; x < w; x++) out[r * w + x] = (int16_t)row[x];
            } else {
                for (int64_t x = 0; x < w; x++) out[r * w + x] = (int16_t)row[(x + cc - 1) / 2];
            }
        }
    }
    /* both streams used to their padding, no more and no less */
    if ((at + 7) / 8 + PACK_PAD != values_len || (escape_at + 7) / 8 + PACK_PAD != escapes_len)
        bad = 1;
    Py_END_ALLOW_THREADS
    if (bad) {
        PyErr_Format(PyExc_ValueError,
                     "the stream (%zd bytes) or the escapes (%zd bytes) do not match the "
                     "planes' meta",
                     b[1].len, b[2].len);
        goto done;
    }
    result = Py_None;
    Py_INCREF(result);
done:
    free(coded);
    free(marked);
    for (int i = 0; i < got; i++) PyBuffer_Release(&b[i]);
    return result;
}

/* narrow_int16(src int16, dst int8, escapes int16) -> escapes written: each value in
 * -127..127 as itself, any other as -128 with the value appended to escapes (in order). */
static PyObject *narrow_int16(PyObject *self, PyObject *args) {
    PyObject *objs[3];
    if (!PyArg_ParseTuple(args, "OOO", &objs[0], &objs[1], &objs[2])) return NULL;
    static const char *names[3] = {"values", "narrow", "escapes"};
    Py_buffer b[3];
    int got = 0;
    PyObject *result = NULL;
    for (; got < 3; got++)
        if (get_buffer(objs[got], &b[got], got >= 1, names[got]) < 0) goto done;
    const Py_ssize_t n = b[0].len / 2;
    if (b[1].len < n || b[2].len < b[0].len) {
        PyErr_SetString(PyExc_ValueError, "narrow and escapes need room for every value");
        goto done;
    }
    Py_ssize_t m = 0;
    Py_BEGIN_ALLOW_THREADS
    const int16_t *src = b[0].buf;
    int8_t *dst = b[1].buf;
    int16_t *esc = b[2].buf;
    /* two passes the compiler and libc vectorise: the narrowing, then memchr for the marks
     * (few: about 2 % of cover values) */
    for (Py_ssize_t k = 0; k < n; k++) {
        const int16_t v = src[k];
        dst[k] = v >= -127 && v <= 127 ? (int8_t)v : (int8_t)-128;
    }
    const uint8_t *first = (const uint8_t *)dst, *end = first + n, *at = first;
    while (at < end && (at = memchr(at, 0x80, (size_t)(end - at))) != NULL) {
        esc[m++] = src[at - first];
        at++;
    }
    Py_END_ALLOW_THREADS
    result = PyLong_FromSsize_t(m);
done:
    for (int i = 0; i < got; i++) PyBuffer_Release(&b[i]);
    return result;
}

static PyMethodDef methods[] = {
    {"narrow_int16", narrow_int16, METH_VARARGS,
     "narrow_int16(values, narrow, escapes) -> escapes written (int8 values, -128 escaped)"},
    {"gather_windows", gather_windows, METH_VARARGS,
     "gather_windows(coeffs, src_itemsize, offsets, grids, local, windows, negate, out, rows, "
     "dst_itemsize, channels, n): windows of whole-image records into batch rows"},
    {"pack_planes", pack_planes, METH_VARARGS,
     "pack_planes(coefficients, dc, meta, stream, escapes, scratch, count, channels, h, w) -> "
     "(stream bytes, escape bytes)"},
    {"unpack_planes", unpack_planes, METH_VARARGS,
     "unpack_planes(meta, stream, escapes, dc, out, count, channels, h, w)"},
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
