/*
 * freqpipe.jpeg._native: quantised DCT coefficients straight from a JPEG bitstream.
 *
 * libjpeg's jpeg_read_coefficients() does the entropy decoding (no inverse DCT, no colour
 * conversion, no upsampling); this module then copies (or gathers a subset of frequencies
 * of) each block into caller-provided buffers. The whole decode and copy run with the GIL
 * released, and no Python code runs per block or per row.
 *
 * Why the libjpeg API and not TurboJPEG's tjTransform with a custom filter: we need the
 * header before decoding (to enforce max_pixels and let Python allocate pinned outputs of the
 * right shape), setjmp-based error recovery that tells warnings from errors per message code,
 * the saved APP1/APP2 markers for EXIF and ICC, and a scan-count limit against malicious
 * progressive files. tjTransform runs the same jpeg_read_coefficients() internally, so the
 * speed is the same; the filter callback would add a call per block-row region.
 *
 * Usage from Python (freqpipe/jpeg/reader.py; scans.py and reorder.py for the last two):
 *     dec = Decoder(data, strict, max_scans, max_pixels, max_passes)  # header, GIL released
 *     dec.header                                # dict of header facts
 *     dec.decode(outs, components, freqs)       # entropy decode + copy, GIL released
 *     dec.view(component)                       # or borrow libjpeg's array, no copy
 *     dec.gather(component, out, freqs, ...)    # or crop/flip/select into a batch slot
 *     scan_table(data)                          # where each scan starts and ends (scans.py)
 *     complete_after(scans, ncomp, masks)       # the prefix rule (scans.py)
 *     prefix_cut(data, masks_for)               # walk + rule in one call (reader.py)
 *     reorder(data, ends, strip, max_pixels, max_scans, restart_rows)  # lossless rewrite
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#include "_spectral.h"

#define MAX_OUT_COMPONENTS 4
#define MAX_WARNINGS_KEPT 8

/* Error kinds reported to Python; reader.py maps them to FreqpipeError subclasses. */
#define KIND_CORRUPT "corrupt"
/* Damage libjpeg only warns about (it recovers): fatal in a strict read, decoded otherwise. */
#define KIND_DAMAGED "damaged"
#define KIND_UNSUPPORTED "unsupported"
#define KIND_NOT_JPEG "not_jpeg"
#define KIND_TOO_LARGE "too_large"
#define KIND_REFUSED "refused"     /* a corrupt or hostile file refused outright: no hint */
#define KIND_NO_MEMORY "no_memory" /* malloc failed */

/* ---- what a file may make us allocate ----------------------------------------------------
 * Every block of a Huffman-coded image costs at least one bit (its DC code), so a complete
 * file of N bytes holds at most 8N blocks, i.e. 8N * 128 bytes of coefficients; twice that
 * leaves room for the MCU padding libjpeg allocates but a non-interleaved scan does not code.
 * Arithmetic coding can spend far less than a bit on a block, so its allowance is a plain
 * multiple, like libjpeg-turbo's max_memory_to_use. Below COEF_BUDGET_FLOOR nothing is refused.
 * A file asking for more is corrupt or truncated: refused before anything is allocated. */
#define COEF_BUDGET_FLOOR ((unsigned long long)64 << 20)
#define COEF_BYTES_PER_FILE_BYTE_HUFFMAN 2048ULL
#define COEF_BYTES_PER_FILE_BYTE_ARITH (128ULL << 10)
#define MAX_COEF_ARRAYS MAX_COMPONENTS

/* One component's coefficients: a single zeroed allocation (calloc: pages are mapped lazily,
 * nothing is touched twice), rows evenly spaced so NumPy can always borrow it. */
typedef struct {
    JBLOCK *base;
    JBLOCKROW *rows;
    JDIMENSION blocksperrow, numrows;
} CoefArray;

static PyObject *DecodeError; /* args: (kind, message, offset or None) */

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    int strict;
    const char *kind; /* set before longjmp */
    char message[JMSG_LENGTH_MAX + 64];
    int n_warnings;
    char warnings[MAX_WARNINGS_KEPT][JMSG_LENGTH_MAX];
} ErrorState;

typedef struct {
    struct jpeg_progress_mgr pub;
    int max_scans;
    int max_passes;            /* scan work allowed, in passes over all the image's blocks */
    int last_scan;             /* input_scan_number last checked */
    unsigned long long visits; /* blocks walked by the scans so far */
    signed char bits[MAX_COMPONENTS][DCTSIZE2]; /* precision decoded so far; -1: none */
    /* > 0: a single-scan file's caller uses only iMCU rows below this; the decode stops once
     * they are in (stopped set), the rest of the data unread and its blocks zero */
    JDIMENSION stop_row;
    int stopped;
} ScanLimit;

/* libjpeg's in-memory source (jdatasrc.c's, same behaviour) over data[0, len), then an EOI
 * marker when the caller cut the file at a scan boundary (a prefix): the prefix is read in
 * place, not copied to append the EOI. */
typedef struct {
    struct jpeg_source_mgr pub;
    size_t len;
    int eoi_after; /* an EOI follows len */
    int in_eoi;    /* the source is serving that EOI */
    int past_end;  /* ... or, past all of it, the fake EOI libjpeg's memory source gives */
} PrefixSource;

static const JOCTET EOI_BYTES[2] = {0xFF, JPEG_EOI};

static void prefix_init(j_decompress_ptr cinfo) { (void)cinfo; }

static boolean prefix_fill(j_decompress_ptr cinfo) {
    PrefixSource *src = (PrefixSource *)cinfo->src;
    if (src->eoi_after && !src->in_eoi && !src->past_end) {
        src->in_eoi = 1;
    } else { /* as jdatasrc.c at the end of its data: a warning, then a fake EOI */
        WARNMS(cinfo, JWRN_JPEG_EOF);
        src->in_eoi = 0;
        src->past_end = 1;
    }
    src->pub.next_input_byte = EOI_BYTES;
    src->pub.bytes_in_buffer = 2;
    return TRUE;
}

static void prefix_skip(j_decompress_ptr cinfo, long num_bytes) {
    struct jpeg_source_mgr *src = cinfo->src;
    if (num_bytes <= 0) return;
    while (num_bytes > (long)src->bytes_in_buffer) {
        num_bytes -= (long)src->bytes_in_buffer;
        (void)(*src->fill_input_buffer)(cinfo);
    }
    src->next_input_byte += (size_t)num_bytes;
    src->bytes_in_buffer -= (size_t)num_bytes;
}

static void prefix_term(j_decompress_ptr cinfo) { (void)cinfo; }

static void prefix_src(j_decompress_ptr cinfo, PrefixSource *src, const unsigned char *buf,
                       size_t len, int eoi_after) {
    if (buf == NULL || len == 0) ERREXIT(cinfo, JERR_INPUT_EMPTY); /* as jpeg_mem_src */
    src->pub.init_source = prefix_init;
    src->pub.fill_input_buffer = prefix_fill;
    src->pub.skip_input_data = prefix_skip;
    src->pub.resync_to_restart = jpeg_resync_to_restart;
    src->pub.term_source = prefix_term;
    src->pub.next_input_byte = buf;
    src->pub.bytes_in_buffer = len;
    src->len = len;
    src->eoi_after = eoi_after;
    src->in_eoi = 0;
    src->past_end = 0;
    cinfo->src = &src->pub;
}

/* Where libjpeg is in the source: an offset into data[0, len) + EOI (past the end, what
 * jdatasrc.c's accounting gives, as reported before prefixes were read in place). */
static size_t prefix_consumed(const PrefixSource *src) {
    size_t total = src->len + (src->eoi_after ? 2 : 0);
    if (src->in_eoi || src->past_end) return total - src->pub.bytes_in_buffer;
    return src->len - src->pub.bytes_in_buffer;
}

typedef struct {
    PyObject_HEAD
    struct jpeg_decompress_struct cinfo;
    ErrorState err;
    ScanLimit progress;
    PrefixSource source;
    size_t len;    /* bytes of data read: all of it, or a prefix then EOI (eoi_after) */
    int eoi_after;
    Py_buffer data;
    int have_data;
    int created;     /* jpeg_create_decompress done */
    int header_read; /* jpeg_read_header succeeded */
    int decoded;     /* decode() has run (successfully or not): the object is single-use */
    int busy;        /* decode() in progress in another thread */
    int finished;    /* jpeg_read_coefficients returned: coef_arrays valid until destroy */
    jvirt_barray_ptr *coef_arrays;
    PyObject *header;
    CoefArray arrays[MAX_COEF_ARRAYS];
    int narrays;
    int spectral;      /* may decode spectral-selection scans itself (_spectral.c) */
    int spectral_used; /* it did: libjpeg read the header only */
    jvirt_barray_ptr spectral_arrays[MAX_COEF_ARRAYS];
    void (*libjpeg_realize)(j_common_ptr);
} Decoder;

static Decoder *decoder_of(j_common_ptr cinfo) {
    return (Decoder *)((char *)cinfo - offsetof(Decoder, cinfo));
}

static int is_unsupported_code(int code) {
    switch (code) {
    case JERR_BAD_PRECISION:
    case JERR_SOF_UNSUPPORTED:
    case JERR_NOT_COMPILED:
    case JERR_ARITH_NOTIMPL:
    case JERR_COMPONENT_COUNT:
    case JERR_CCIR601_NOTIMPL:
        return 1;
    default:
        return 0;
    }
}

/* Warnings that say nothing about the integrity of the coefficients. */
static int is_benign_warning(int code) {
    return code == JWRN_JFIF_MAJOR || code == JWRN_ADOBE_XFORM;
}

static size_t bytes_consumed(j_decompress_ptr cinfo, size_t total) {
    if (cinfo->src == NULL) return 0;
    return total - cinfo->src->bytes_in_buffer;
}

static void on_error_exit(j_common_ptr cinfo) {
    ErrorState *err = (ErrorState *)cinfo->err;
    int code = err->pub.msg_code;
    (*err->pub.format_message)(cinfo, err->message);
    if (code == JERR_NO_SOI || code == JERR_INPUT_EMPTY)
        err->kind = KIND_NOT_JPEG;
    else if (code == JERR_OUT_OF_MEMORY)
        err->kind = KIND_NO_MEMORY;
    else if (is_unsupported_code(code))
        err->kind = KIND_UNSUPPORTED;
    else
        err->kind = KIND_CORRUPT;
    longjmp(err->jump, 1);
}

static void on_emit_message(j_common_ptr cinfo, int level) {
    ErrorState *err = (ErrorState *)cinfo->err;
    if (level >= 0) return; /* trace messages */
    if (is_benign_warning(err->pub.msg_code)) return;
    err->pub.num_warnings++;
    /* Garbage between segments is skipped once the preceding scan is complete, so the
     * coefficients are intact: report it, but do not fail a strict read over it. */
    if (err->strict && err->pub.msg_code != JWRN_EXTRANEOUS_DATA) {
        (*err->pub.format_message)(cinfo, err->message);
        err->kind = KIND_DAMAGED;
        longjmp(err->jump, 1);
    }
    if (err->n_warnings < MAX_WARNINGS_KEPT) {
        (*err->pub.format_message)(cinfo, err->warnings[err->n_warnings]);
        err->n_warnings++;
    }
}

static void on_output_message(j_common_ptr cinfo) { /* never print to stderr */ }

/* A progressive file may hold thousands of tiny scans that each re-walk the whole
 * coefficient buffer; cap them so a malicious file cannot make a decode take minutes. */
static void refuse(j_common_ptr cinfo) {
    ErrorState *err = (ErrorState *)cinfo->err;
    err->kind = KIND_REFUSED;
    longjmp(err->jump, 1);
}

/* A scan that sends a coefficient at a precision already decoded adds nothing but work (libjpeg
 * accepts a repeated first scan without a warning): refuse it. Each accepted scan lowers the
 * precision of its coefficients, so no coefficient is sent more than 14 times; on top, the
 * blocks walked by all scans together are capped at max_passes times the image's blocks. */
static void check_scan(j_decompress_ptr d, ScanLimit *limit) {
    ErrorState *err = (ErrorState *)d->err;
    unsigned long long in_scan = 0, total = 0;
    for (int ci = 0; ci < d->num_components; ci++)
        total += (unsigned long long)d->comp_info[ci].width_in_blocks *
                 d->comp_info[ci].height_in_blocks;
    for (int i = 0; i < d->comps_in_scan; i++) {
        jpeg_component_info *comp = d->cur_comp_info[i];
        int ci = comp->component_index;
        in_scan += (unsigned long long)comp->width_in_blocks * comp->height_in_blocks;
        if (ci < 0 || ci >= MAX_COMPONENTS) continue;
        int ss = d->progressive_mode ? d->Ss : 0, se = d->progressive_mode ? d->Se : 63;
        for (int k = ss; k <= se && k < DCTSIZE2; k++) {
            int bits = limit->bits[ci][k];
            int al = d->progressive_mode ? d->Al : 0;
            int again = d->progressive_mode && d->Ah != 0 ? bits >= 0 && bits <= al : bits >= 0;
            if (again) {
                snprintf(err->message, sizeof(err->message),
                         "scan %d sends coefficient %d of component %d again at a precision "
                         "already decoded (Ss=%d, Se=%d, Ah=%d, Al=%d); refusing redundant "
                         "scans", d->input_scan_number, k, ci, d->Ss, d->Se, d->Ah, d->Al);
                refuse((j_common_ptr)d);
            }
            limit->bits[ci][k] = (signed char)al;
        }
    }
    limit->visits += in_scan;
    if (limit->max_passes > 0 && limit->visits > (unsigned long long)limit->max_passes * total) {
        snprintf(err->message, sizeof(err->message),
                 "its %d scans walk the image's %llu blocks more than %d times over; refusing "
                 "to decode (progressive scan bomb?)", d->input_scan_number, total,
                 limit->max_passes);
        refuse((j_common_ptr)d);
    }
}

static void on_progress(j_common_ptr cinfo) {
    if (!cinfo->is_decompressor) return;
    j_decompress_ptr dinfo = (j_decompress_ptr)cinfo;
    ScanLimit *limit = (ScanLimit *)cinfo->progress;
    if (limit->max_scans > 0 && dinfo->input_scan_number > limit->max_scans) {
        ErrorState *err = (ErrorState *)cinfo->err;
        snprintf(err->message, sizeof(err->message),
                 "more than %d scans; refusing to decode (progressive scan bomb?)",
                 limit->max_scans);
        refuse(cinfo);
    }
    /* Called before each chunk of input is consumed, so a new scan's header (read by the
     * previous chunk) is seen here before any of its data is decoded. */
    if (dinfo->input_scan_number != limit->last_scan && dinfo->comps_in_scan > 0) {
        limit->last_scan = dinfo->input_scan_number;
        check_scan(dinfo, limit);
    }
    /* jpeg_read_coefficients calls this before each iMCU row it consumes */
    if (limit->stop_row > 0 && dinfo->input_scan_number == 1 && dinfo->comps_in_scan > 0 &&
        dinfo->input_iMCU_row >= limit->stop_row) {
        limit->stopped = 1;
        longjmp(((ErrorState *)cinfo->err)->jump, 1);
    }
}

/* ---- the coefficient arrays: one allocation per component ---------------------------------
 * libjpeg's own manager splits a virtual array into 1 GB chunks, which NumPy cannot borrow, and
 * zero-fills it eagerly. These three replace its barray methods (jpeg_read_coefficients only
 * uses barrays); the arrays belong to the Decoder and are freed with it. */
static jvirt_barray_ptr coef_request(j_common_ptr cinfo, int pool_id, boolean pre_zero,
                                     JDIMENSION blocksperrow, JDIMENSION numrows,
                                     JDIMENSION maxaccess) {
    Decoder *self = decoder_of(cinfo);
    if (self->narrays >= MAX_COEF_ARRAYS) ERREXIT(cinfo, JERR_VIRTUAL_BUG);
    CoefArray *a = &self->arrays[self->narrays++];
    a->base = NULL;
    a->rows = NULL;
    a->blocksperrow = blocksperrow;
    a->numrows = numrows;
    return (jvirt_barray_ptr)a;
}

static void free_coef_arrays(Decoder *self) {
    for (int i = 0; i < self->narrays; i++) {
        free(self->arrays[i].base);
        free(self->arrays[i].rows);
    }
    self->narrays = 0;
}

/* Whether the requested arrays need more memory than the file can code: 1 (err->message set)
 * or 0. */
static int over_budget(Decoder *self) {
    ErrorState *err = &self->err;
    j_decompress_ptr d = &self->cinfo;
    unsigned long long need = 0;
    for (int i = 0; i < self->narrays; i++)
        need += (unsigned long long)self->arrays[i].blocksperrow * self->arrays[i].numrows *
                sizeof(JBLOCK);
    unsigned long long file = (unsigned long long)self->len;
    unsigned long long budget =
        file * (d->arith_code ? COEF_BYTES_PER_FILE_BYTE_ARITH : COEF_BYTES_PER_FILE_BYTE_HUFFMAN);
    if (budget < COEF_BUDGET_FLOOR) budget = COEF_BUDGET_FLOOR;
    if (need > budget) {
        snprintf(err->message, sizeof(err->message),
                 "its %ux%u frame needs %llu bytes of coefficients, more than a %s-coded file "
                 "of %llu bytes can hold (at most %llu); the file is corrupt or truncated",
                 (unsigned)d->image_width, (unsigned)d->image_height, need,
                 d->arith_code ? "arithmetic" : "Huffman", file, budget);
        return 1;
    }
    return 0;
}

/* Allocate the requested arrays within the budget: NULL, or the error kind (err->message set). */
static const char *allocate_coef_arrays(Decoder *self) {
    ErrorState *err = &self->err;
    j_decompress_ptr d = &self->cinfo;
    if (over_budget(self)) return KIND_REFUSED;
    unsigned long long need = 0;
    for (int i = 0; i < self->narrays; i++)
        need += (unsigned long long)self->arrays[i].blocksperrow * self->arrays[i].numrows *
                sizeof(JBLOCK);
    for (int i = 0; i < self->narrays; i++) {
        CoefArray *a = &self->arrays[i];
        size_t nblocks = (size_t)a->blocksperrow * a->numrows;
        a->base = (JBLOCK *)calloc(nblocks ? nblocks : 1, sizeof(JBLOCK));
        a->rows = (JBLOCKROW *)malloc((a->numrows ? a->numrows : 1) * sizeof(JBLOCKROW));
        if (a->base == NULL || a->rows == NULL) {
            snprintf(err->message, sizeof(err->message),
                     "out of memory allocating %llu bytes of coefficients for a %ux%u image",
                     need, (unsigned)d->image_width, (unsigned)d->image_height);
            return KIND_NO_MEMORY;
        }
        for (JDIMENSION r = 0; r < a->numrows; r++) a->rows[r] = a->base + (size_t)r * a->blocksperrow;
    }
    return NULL;
}

static void coef_realize(j_common_ptr cinfo) {
    Decoder *self = decoder_of(cinfo);
    self->libjpeg_realize(cinfo); /* anything else requested from libjpeg's own manager */
    const char *kind = allocate_coef_arrays(self);
    if (kind != NULL) {
        self->err.kind = kind;
        longjmp(self->err.jump, 1);
    }
}

static JBLOCKARRAY coef_access(j_common_ptr cinfo, jvirt_barray_ptr ptr, JDIMENSION start_row,
                               JDIMENSION num_rows, boolean writable) {
    CoefArray *a = (CoefArray *)ptr;
    if (a->rows == NULL || start_row > a->numrows || num_rows > a->numrows - start_row)
        ERREXIT(cinfo, JERR_BAD_VIRTUAL_ACCESS);
    return a->rows + start_row;
}

static void raise_decode_error(Decoder *self) {
    size_t offset = self->cinfo.src != NULL ? prefix_consumed(&self->source) : 0;
    PyObject *args = Py_BuildValue("(ssn)", self->err.kind ? self->err.kind : KIND_CORRUPT,
                                   self->err.message, (Py_ssize_t)offset);
    if (args != NULL) {
        PyErr_SetObject(DecodeError, args);
        Py_DECREF(args);
    }
}

/* ---- header pre-scan ----------------------------------------------------------------------
 * libjpeg reports lossless, hierarchical and JPEG-LS frames as "unsupported marker" or
 * "bogus marker length", indistinguishable from corruption. Walk the markers up to the frame
 * header ourselves so those files get an accurate UnsupportedJpegError. */
static const char *too_large(unsigned long long width, unsigned long long height,
                             unsigned long long max_pixels, char *why, size_t whylen) {
    if (max_pixels == 0 || width * height <= max_pixels) return NULL;
    snprintf(why, whylen, "%llux%llu = %llu pixels exceeds max_pixels=%llu", width, height,
             width * height, max_pixels);
    return KIND_TOO_LARGE;
}

static const char *classify_frame(const unsigned char *buf, size_t len, char *why, size_t whylen,
                                  size_t *where, unsigned long long max_pixels) {
    size_t pos = 2;
    if (len < 2 || buf[0] != 0xFF || buf[1] != 0xD8) return NULL; /* libjpeg says NO_SOI */
    while (pos + 4 <= len) {
        if (buf[pos] != 0xFF) return NULL; /* let libjpeg diagnose */
        unsigned marker = buf[pos + 1];
        if (marker == 0xFF) { pos++; continue; } /* fill byte */
        if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
            pos += 2;
            continue;
        }
        size_t seglen = ((size_t)buf[pos + 2] << 8) | buf[pos + 3];
        *where = pos;
        if (marker == 0xF7 || marker == 0xF8) {
            snprintf(why, whylen, "JPEG-LS (marker 0xFF%02X) is not supported", marker);
            return KIND_UNSUPPORTED;
        }
        if (marker == 0xC3 || marker == 0xCB || marker == 0xC7 || marker == 0xCF) {
            snprintf(why, whylen, "lossless JPEG (SOF%u) is not supported", marker - 0xC0);
            return KIND_UNSUPPORTED;
        }
        if (marker == 0xC5 || marker == 0xC6 || marker == 0xCD || marker == 0xCE) {
            snprintf(why, whylen, "hierarchical JPEG (SOF%u) is not supported", marker - 0xC0);
            return KIND_UNSUPPORTED;
        }
        if (marker == 0xC0 || marker == 0xC1 || marker == 0xC2 || marker == 0xC9 ||
            marker == 0xCA) {
            if (pos + 10 > len) return NULL;
            unsigned precision = buf[pos + 4];
            unsigned ncomp = buf[pos + 9];
            if (precision != 8) {
                snprintf(why, whylen, "%u-bit samples are not supported (8-bit only)",
                         precision);
                return KIND_UNSUPPORTED;
            }
            if (ncomp > MAX_OUT_COMPONENTS) {
                snprintf(why, whylen, "%u components are not supported (at most 4)", ncomp);
                return KIND_UNSUPPORTED;
            }
            /* Checked here, before libjpeg reads the rest of the header, so a tiny file that
             * declares a huge image is refused whatever follows its frame header. */
            unsigned long long height = ((unsigned)buf[pos + 5] << 8) | buf[pos + 6];
            unsigned long long width = ((unsigned)buf[pos + 7] << 8) | buf[pos + 8];
            return too_large(width, height, max_pixels, why, whylen);
        }
        if (marker == 0xDA || marker == 0xD9) return NULL; /* no frame yet: libjpeg decides */
        pos += 2 + seglen;
    }
    return NULL;
}

/* ---- Decoder object ----------------------------------------------------------------------- */

static void Decoder_dealloc(Decoder *self) {
    if (self->created) jpeg_destroy_decompress(&self->cinfo);
    free_coef_arrays(self);
    if (self->have_data) PyBuffer_Release(&self->data);
    Py_XDECREF(self->header);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static const char *colorspace_name(J_COLOR_SPACE cs) {
    switch (cs) {
    case JCS_GRAYSCALE: return "gray";
    case JCS_YCbCr: return "ycbcr";
    case JCS_RGB: return "rgb";
    case JCS_CMYK: return "cmyk";
    case JCS_YCCK: return "ycck";
    default: return "unknown";
    }
}

static PyObject *build_header(Decoder *self) {
    j_decompress_ptr c = &self->cinfo;
    PyObject *comps = PyList_New(c->num_components);
    if (comps == NULL) return NULL;
    for (int i = 0; i < c->num_components; i++) {
        jpeg_component_info *comp = &c->comp_info[i];
        PyObject *t = Py_BuildValue("{s:i,s:i,s:i,s:i,s:I,s:I}", "id", comp->component_id,
                                    "h", comp->h_samp_factor, "v", comp->v_samp_factor,
                                    "quant_table", comp->quant_tbl_no, "height_in_blocks",
                                    (unsigned)comp->height_in_blocks, "width_in_blocks",
                                    (unsigned)comp->width_in_blocks);
        if (t == NULL) { Py_DECREF(comps); return NULL; }
        PyList_SET_ITEM(comps, i, t);
    }
    PyObject *markers = PyList_New(0);
    if (markers == NULL) { Py_DECREF(comps); return NULL; }
    for (jpeg_saved_marker_ptr m = c->marker_list; m != NULL; m = m->next) {
        PyObject *t = Py_BuildValue("(iy#)", (int)m->marker, (const char *)m->data,
                                    (Py_ssize_t)m->data_length);
        if (t == NULL || PyList_Append(markers, t) < 0) {
            Py_XDECREF(t); Py_DECREF(comps); Py_DECREF(markers);
            return NULL;
        }
        Py_DECREF(t);
    }
    return Py_BuildValue("{s:I,s:I,s:N,s:s,s:O,s:O,s:I,s:N,s:O,s:O}", "width",
                         (unsigned)c->image_width, "height", (unsigned)c->image_height,
                         "components", comps, "colorspace",
                         colorspace_name(c->jpeg_color_space), "progressive",
                         c->progressive_mode ? Py_True : Py_False, "arithmetic",
                         c->arith_code ? Py_True : Py_False, "restart_interval",
                         (unsigned)c->restart_interval, "markers", markers, "jfif",
                         c->saw_JFIF_marker ? Py_True : Py_False, "adobe",
                         c->saw_Adobe_marker ? Py_True : Py_False);
}

static int Decoder_init(Decoder *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"data",       "strict",   "max_scans", "max_pixels",
                             "max_passes", "spectral", "end",       NULL};
    PyObject *data_obj;
    int strict = 1, max_scans = 1000, max_passes = 0, spectral = 1;
    Py_ssize_t end = -1; /* -1: all of data; else data[:end] then an EOI marker */
    unsigned long long max_pixels = 0; /* 0: no limit */
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|piKipn", kwlist, &data_obj, &strict,
                                     &max_scans, &max_pixels, &max_passes, &spectral, &end))
        return -1;
    self->spectral = spectral;
    if (self->have_data || self->created) {
        PyErr_SetString(PyExc_RuntimeError, "Decoder cannot be re-initialised");
        return -1;
    }
    if (PyObject_GetBuffer(data_obj, &self->data, PyBUF_SIMPLE) < 0) return -1;
    self->have_data = 1;
    self->len = (size_t)self->data.len;
    self->eoi_after = 0;
    if (end >= 0 && end < self->data.len) { /* a cut inside the SOI: libjpeg says what */
        self->len = (size_t)end;
        self->eoi_after = 1;
    }

    char why[160];
    size_t where = 0;
    const char *kind = classify_frame((const unsigned char *)self->data.buf, self->len, why,
                                      sizeof(why), &where, max_pixels);
    if (kind != NULL) {
        PyObject *e = Py_BuildValue("(ssn)", kind, why, (Py_ssize_t)where);
        if (e != NULL) { PyErr_SetObject(DecodeError, e); Py_DECREF(e); }
        return -1;
    }

    memset(&self->err, 0, sizeof(self->err));
    self->cinfo.err = jpeg_std_error(&self->err.pub);
    self->err.pub.error_exit = on_error_exit;
    self->err.pub.emit_message = on_emit_message;
    self->err.pub.output_message = on_output_message;
    self->err.strict = strict;
    self->progress.pub.progress_monitor = on_progress;
    self->progress.max_scans = max_scans;
    self->progress.max_passes = max_passes;
    memset(self->progress.bits, -1, sizeof(self->progress.bits));
    self->progress.stop_row = 0;
    self->progress.stopped = 0;

    volatile int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    if (setjmp(self->err.jump)) {
        failed = 1;
    } else {
        jpeg_create_decompress(&self->cinfo);
        self->created = 1;
        self->libjpeg_realize = self->cinfo.mem->realize_virt_arrays;
        self->cinfo.mem->request_virt_barray = coef_request;
        self->cinfo.mem->realize_virt_arrays = coef_realize;
        self->cinfo.mem->access_virt_barray = coef_access;
        self->cinfo.progress = &self->progress.pub;
        jpeg_save_markers(&self->cinfo, JPEG_APP0 + 1, 0xFFFF); /* EXIF */
        jpeg_save_markers(&self->cinfo, JPEG_APP0 + 2, 0xFFFF); /* ICC */
        prefix_src(&self->cinfo, &self->source, (const unsigned char *)self->data.buf,
                   self->len, self->eoi_after);
        jpeg_read_header(&self->cinfo, TRUE);
    }
    Py_END_ALLOW_THREADS
    if (failed) {
        raise_decode_error(self);
        return -1;
    }
    if (self->cinfo.num_components > MAX_OUT_COMPONENTS) {
        PyObject *e = Py_BuildValue("(ssO)", KIND_UNSUPPORTED,
                                    "more than 4 components are not supported", Py_None);
        if (e != NULL) { PyErr_SetObject(DecodeError, e); Py_DECREF(e); }
        return -1;
    }
    kind = too_large(self->cinfo.image_width, self->cinfo.image_height, max_pixels, why,
                     sizeof(why));
    if (kind != NULL) {
        PyObject *e = Py_BuildValue("(ssO)", kind, why, Py_None);
        if (e != NULL) { PyErr_SetObject(DecodeError, e); Py_DECREF(e); }
        return -1;
    }
    self->header_read = 1;
    self->header = build_header(self);
    return self->header == NULL ? -1 : 0;
}

static PyObject *Decoder_get_entropy_decoder(Decoder *self, void *closure) {
    if (!self->finished) Py_RETURN_NONE;
    return PyUnicode_FromString(self->spectral_used ? "freqpipe" : "libjpeg");
}

static PyObject *Decoder_get_header(Decoder *self, void *closure) {
    if (self->header == NULL) Py_RETURN_NONE;
    Py_INCREF(self->header);
    return self->header;
}

typedef struct {
    int component;
    unsigned char *dst;
    Py_ssize_t dst_len;
    int nfreq; /* 0: nothing copied; 64 in order: one memcpy per block row */
    unsigned char freqs[64];
} OutPlan;

/* Copy one component's coefficient array into dst as (height_in_blocks, width_in_blocks,
 * nfreq) int16. The virtual arrays live entirely in memory (no backing store), so
 * access_virt_barray is pointer arithmetic. */
static void copy_component(j_decompress_ptr cinfo, jvirt_barray_ptr array,
                           jpeg_component_info *comp, const OutPlan *plan) {
    JDIMENSION rows = comp->height_in_blocks, cols = comp->width_in_blocks;
    int16_t *dst = (int16_t *)plan->dst;
    if (plan->nfreq == 0) return;
    int identity = plan->nfreq == 64;
    for (int k = 0; identity && k < 64; k++) identity = plan->freqs[k] == k;
    for (JDIMENSION r = 0; r < rows; r++) {
        JBLOCKARRAY row = (*cinfo->mem->access_virt_barray)((j_common_ptr)cinfo, array, r, 1,
                                                            FALSE);
        JBLOCKROW blocks = row[0];
        if (identity) {
            memcpy(dst, blocks, (size_t)cols * DCTSIZE2 * sizeof(JCOEF));
            dst += (size_t)cols * DCTSIZE2;
            continue;
        }
        for (JDIMENSION c = 0; c < cols; c++) {
            const JCOEF *blk = blocks[c];
            for (int f = 0; f < plan->nfreq; f++) dst[f] = blk[plan->freqs[f]];
            dst += plan->nfreq;
        }
    }
}

static PyObject *quant_tables(Decoder *self, const OutPlan *plans, int nout) {
    PyObject *list = PyList_New(nout);
    if (list == NULL) return NULL;
    for (int i = 0; i < nout; i++) {
        jpeg_component_info *comp = &self->cinfo.comp_info[plans[i].component];
        /* quant_table is latched when the component's first scan starts; a component that
         * never appeared in a scan (truncated file, strict=False) falls back to its slot. */
        JQUANT_TBL *q = comp->quant_table;
        if (q == NULL && comp->quant_tbl_no >= 0 && comp->quant_tbl_no < NUM_QUANT_TBLS)
            q = self->cinfo.quant_tbl_ptrs[comp->quant_tbl_no];
        uint16_t values[64];
        for (int k = 0; k < 64; k++) values[k] = q ? (uint16_t)q->quantval[k] : 0;
        PyObject *b = PyBytes_FromStringAndSize((const char *)values, sizeof(values));
        if (b == NULL) { Py_DECREF(list); return NULL; }
        PyList_SET_ITEM(list, i, b);
    }
    return list;
}

/* Decode a progressive file's spectral-selection scans with _spectral.c. With `compact`, straight
 * into the caller's planes (only the frequencies asked for; nothing else allocated, zeroed or
 * copied, so view() and gather() have nothing to read afterwards); otherwise into arrays laid
 * out as libjpeg's jpeg_read_coefficients lays them out (jdcoefct.c: each component padded to
 * whole MCUs), so copy, view and gather cannot tell the two decoders apart. 0: nothing was
 * decoded and nothing is left allocated; libjpeg decodes the file as if this had not been
 * tried. */
static int decode_spectral(Decoder *self, const OutPlan *plans, int nout, int compact,
                           const long *pixel_rows, int *scans) {
    j_decompress_ptr d = &self->cinfo;
    if (!self->spectral || !d->progressive_mode || d->arith_code || self->narrays != 0 ||
        self->err.pub.num_warnings != 0 || d->num_components > SPECTRAL_MAX_COMPONENTS)
        return 0;
    SpectralFrame f;
    memset(&f, 0, sizeof(f));
    f.ncomp = d->num_components;
    f.max_h = d->max_h_samp_factor;
    f.max_v = d->max_v_samp_factor;
    f.image_width = d->image_width;
    f.image_height = d->image_height;
    f.max_scans = self->progress.max_scans;
    f.max_passes = self->progress.max_passes;
    for (int c = 0; c < f.ncomp; c++) {
        jpeg_component_info *comp = &d->comp_info[c];
        f.ids[c] = comp->component_id;
        f.h[c] = comp->h_samp_factor;
        f.v[c] = comp->v_samp_factor;
        f.width_in_blocks[c] = comp->width_in_blocks;
        f.height_in_blocks[c] = comp->height_in_blocks;
        f.quant_known[c] = comp->quant_tbl_no >= 0 && comp->quant_tbl_no < NUM_QUANT_TBLS &&
                           d->quant_tbl_ptrs[comp->quant_tbl_no] != NULL;
        if (pixel_rows != NULL) {
            /* the component's samples covering image rows [y0, y1), as whole block rows */
            unsigned long long v = (unsigned long long)comp->v_samp_factor,
                               vmax = (unsigned long long)d->max_v_samp_factor;
            unsigned long long s0 = (unsigned long long)pixel_rows[0] * v / vmax,
                               s1 = ((unsigned long long)pixel_rows[1] * v + vmax - 1) / vmax;
            f.limit_rows = 1;
            f.row_start[c] = (unsigned)(s0 / DCTSIZE);
            f.row_stop[c] = (unsigned)((s1 + DCTSIZE - 1) / DCTSIZE);
        }
        memset(f.sinks[c].offset, -1, sizeof(f.sinks[c].offset));
        /* what libjpeg would allocate, for its budget check (and for the arrays) */
        CoefArray *a = &self->arrays[c];
        a->base = NULL;
        a->rows = NULL;
        a->blocksperrow = (JDIMENSION)((comp->width_in_blocks + comp->h_samp_factor - 1) /
                                       comp->h_samp_factor * comp->h_samp_factor);
        a->numrows = (JDIMENSION)((comp->height_in_blocks + comp->v_samp_factor - 1) /
                                  comp->v_samp_factor * comp->v_samp_factor);
    }
    self->narrays = f.ncomp;
    int ok;
    if (compact) {
        ok = 1;
        for (int i = 0; i < nout; i++) {
            const OutPlan *p = &plans[i];
            SpectralSink *sink = &f.sinks[p->component];
            for (int k = 0; k < p->nfreq; k++) sink->offset[p->freqs[k]] = (int8_t)k;
            sink->base = (int16_t *)p->dst;
            sink->block_stride = (size_t)p->nfreq;
            sink->row_stride = (size_t)p->nfreq * f.width_in_blocks[p->component];
            sink->rows = f.height_in_blocks[p->component];
            sink->cols = f.width_in_blocks[p->component];
        }
        /* the planes are the caller's: zero what no scan will write */
        for (int i = 0; ok && i < nout; i++) memset(plans[i].dst, 0, (size_t)plans[i].dst_len);
        if (ok) ok = over_budget(self) == 0;
    } else {
        ok = allocate_coef_arrays(self) == NULL;
        for (int c = 0; ok && c < f.ncomp; c++) {
            CoefArray *a = &self->arrays[c];
            SpectralSink *sink = &f.sinks[c];
            sink->base = (int16_t *)a->base;
            sink->block_stride = DCTSIZE2;
            sink->row_stride = (size_t)a->blocksperrow * DCTSIZE2;
            sink->rows = a->numrows;
            sink->cols = a->blocksperrow;
            for (int k = 0; k < DCTSIZE2; k++) sink->offset[k] = (int8_t)k;
        }
    }
    f.eoi_at_end = self->eoi_after;
    if (ok) ok = spectral_decode((const unsigned char *)self->data.buf, self->len,
                                 &f, scans);
    if (!ok || compact) free_coef_arrays(self); /* none allocated when compact */
    if (!ok) return 0; /* also when over budget: libjpeg refuses it in its words */
    if (!compact) {
        for (int c = 0; c < f.ncomp; c++)
            self->spectral_arrays[c] = (jvirt_barray_ptr)&self->arrays[c];
        self->coef_arrays = self->spectral_arrays;
    }
    self->spectral_used = 1;
    return 1;
}

/* Whether a decode can go straight into the caller's planes: every plane given, no component
 * and no frequency of one asked for twice (a plane's frequency has one place to go). */
static int fills_planes(const OutPlan *plans, int nout) {
    unsigned char seen[MAX_COMPONENTS][DCTSIZE2 + 1];
    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < nout; i++) {
        unsigned char *mine = seen[plans[i].component];
        if (plans[i].dst == NULL || mine[DCTSIZE2]) return 0;
        mine[DCTSIZE2] = 1;
        for (int k = 0; k < plans[i].nfreq; k++) {
            if (mine[plans[i].freqs[k]]) return 0;
            mine[plans[i].freqs[k]] = 1;
        }
    }
    return nout > 0;
}

/* decode(outs, components, freqs, rows=None) -> (warnings, quant_tables, scans, warnings seen)
 *   outs: list of writable C-contiguous buffers, one per requested component, each exactly
 *         height_in_blocks * width_in_blocks * len(freqs[i]) int16 values;
 *   components: list of component indices;  freqs: list of bytes (natural-order indices);
 *   rows: None, or the image rows (y0, y1) the caller will use: the spectral decoder then
 *         skips unread the restart intervals that hold no block of them, and libjpeg stops a
 *         single-scan (sequential) file after the last iMCU row they need; rows outside are
 *         unspecified (zero). */
static PyObject *Decoder_decode(Decoder *self, PyObject *args) {
    PyObject *outs, *components, *freqs, *rows = Py_None;
    if (!PyArg_ParseTuple(args, "O!O!O!|O", &PyList_Type, &outs, &PyList_Type, &components,
                          &PyList_Type, &freqs, &rows))
        return NULL;
    long pixel_rows[2];
    if (rows != Py_None) {
        if (!PyArg_ParseTuple(rows, "ll", &pixel_rows[0], &pixel_rows[1])) return NULL;
        if (pixel_rows[0] < 0 || pixel_rows[1] < pixel_rows[0] || pixel_rows[1] > 1L << 20) {
            PyErr_SetString(PyExc_ValueError, "rows must be (y0, y1) with 0 <= y0 <= y1");
            return NULL;
        }
    }
    if (!self->header_read) {
        PyErr_SetString(PyExc_RuntimeError, "Decoder header was not read");
        return NULL;
    }
    if (self->busy || self->decoded) {
        PyErr_SetString(PyExc_RuntimeError, "a Decoder decodes once, from one thread");
        return NULL;
    }
    Py_ssize_t nout = PyList_GET_SIZE(outs);
    if (nout > MAX_OUT_COMPONENTS || PyList_GET_SIZE(components) != nout ||
        PyList_GET_SIZE(freqs) != nout) {
        PyErr_SetString(PyExc_ValueError, "outs, components and freqs must have equal length");
        return NULL;
    }
    OutPlan plans[MAX_OUT_COMPONENTS];
    Py_buffer views[MAX_OUT_COMPONENTS];
    int nviews = 0;
    PyObject *result = NULL;
    for (Py_ssize_t i = 0; i < nout; i++) {
        long ci = PyLong_AsLong(PyList_GET_ITEM(components, i));
        if (ci == -1 && PyErr_Occurred()) goto done;
        if (ci < 0 || ci >= self->cinfo.num_components) {
            PyErr_SetString(PyExc_ValueError, "component index out of range");
            goto done;
        }
        PyObject *fb = PyList_GET_ITEM(freqs, i);
        if (!PyBytes_Check(fb) || PyBytes_GET_SIZE(fb) > 64) {
            PyErr_SetString(PyExc_ValueError, "freqs must be bytes of 0..64 indices");
            goto done;
        }
        plans[i].component = (int)ci;
        plans[i].nfreq = (int)PyBytes_GET_SIZE(fb);
        memcpy(plans[i].freqs, PyBytes_AS_STRING(fb), (size_t)plans[i].nfreq);
        for (int f = 0; f < plans[i].nfreq; f++) {
            if (plans[i].freqs[f] > 63) {
                PyErr_SetString(PyExc_ValueError, "frequency index out of range");
                goto done;
            }
        }
        jpeg_component_info *comp = &self->cinfo.comp_info[ci];
        if (PyList_GET_ITEM(outs, i) == Py_None) { /* borrowed later through view() */
            plans[i].dst = NULL;
            plans[i].dst_len = 0;
            views[i].obj = NULL;
            nviews++;
            continue;
        }
        if (PyObject_GetBuffer(PyList_GET_ITEM(outs, i), &views[i],
                               PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0)
            goto done;
        nviews++;
        Py_ssize_t need = (Py_ssize_t)comp->height_in_blocks * comp->width_in_blocks *
                          plans[i].nfreq * (Py_ssize_t)sizeof(int16_t);
        if (views[i].len != need) {
            PyErr_Format(PyExc_ValueError, "output %zd has %zd bytes, expected %zd", i,
                         views[i].len, need);
            goto done;
        }
        plans[i].dst = views[i].buf;
        plans[i].dst_len = views[i].len;
    }

    self->busy = 1;
    self->decoded = 1;
    volatile int failed = 0;
    volatile int scans = 0;
    Py_BEGIN_ALLOW_THREADS
    if (setjmp(self->err.jump)) {
        failed = !self->progress.stopped;
        self->progress.stopped = 0; /* a failure below comes back here as one */
        if (!failed) { /* stopped after the rows asked for: what is in the arrays is theirs */
            for (int c = 0; c < self->narrays; c++)
                self->spectral_arrays[c] = (jvirt_barray_ptr)&self->arrays[c];
            self->coef_arrays = self->spectral_arrays;
            self->finished = 1;
            scans = 1;
            for (Py_ssize_t i = 0; i < nout; i++) {
                int ci = plans[i].component;
                if (plans[i].dst != NULL)
                    copy_component(&self->cinfo, self->coef_arrays[ci],
                                   &self->cinfo.comp_info[ci], &plans[i]);
            }
        }
    } else {
        int spectral_scans = 0;
        jvirt_barray_ptr *arrays;
        int compact = fills_planes(plans, (int)nout);
        if (decode_spectral(self, plans, (int)nout, compact, rows == Py_None ? NULL : pixel_rows,
                            &spectral_scans)) {
            arrays = compact ? NULL : self->coef_arrays;
            scans = spectral_scans;
        } else {
            /* A sequential file whose first scan holds every component is its only scan, its
             * iMCU rows in order: with rows given, stop after the last one they need. */
            j_decompress_ptr d = &self->cinfo;
            if (rows != Py_None && !d->progressive_mode && d->comps_in_scan == d->num_components)
                self->progress.stop_row =
                    (JDIMENSION)(((unsigned long)pixel_rows[1] + 8u * d->max_v_samp_factor - 1) /
                                 (8u * d->max_v_samp_factor));
            arrays = jpeg_read_coefficients(&self->cinfo);
            self->coef_arrays = arrays;
            scans = self->cinfo.input_scan_number;
        }
        self->finished = 1;
        for (Py_ssize_t i = 0; arrays != NULL && i < nout; i++) {
            int ci = plans[i].component;
            if (plans[i].dst != NULL)
                copy_component(&self->cinfo, arrays[ci], &self->cinfo.comp_info[ci], &plans[i]);
        }
    }
    Py_END_ALLOW_THREADS
    self->busy = 0;
    if (failed) {
        raise_decode_error(self);
        goto done;
    }
    PyObject *warn = PyList_New(self->err.n_warnings);
    if (warn == NULL) goto done;
    for (int w = 0; w < self->err.n_warnings; w++) {
        PyObject *s = PyUnicode_FromString(self->err.warnings[w]);
        if (s == NULL) { Py_DECREF(warn); goto done; }
        PyList_SET_ITEM(warn, w, s);
    }
    PyObject *quant = quant_tables(self, plans, (int)nout);
    if (quant == NULL) { Py_DECREF(warn); goto done; }
    result = Py_BuildValue("(NNii)", warn, quant, scans, (int)self->err.pub.num_warnings);

done:
    for (int v = 0; v < nviews; v++)
        if (views[v].obj != NULL) PyBuffer_Release(&views[v]);
    if (!self->finished && self->created) {
        /* Failed: free libjpeg's pools now rather than when Python collects the object. */
        jpeg_destroy_decompress(&self->cinfo);
        self->created = 0;
        free_coef_arrays(self);
    }
    /* The source bytes are no longer needed; the coefficients may still be borrowed. */
    if (self->have_data) {
        PyBuffer_Release(&self->data);
        self->have_data = 0;
    }
    return result;
}

/* ---- zero-copy access to libjpeg's coefficient arrays ---------------------------------------
 * After decode, each component's coefficients sit in one libjpeg allocation whose rows are the
 * component's block rows padded to whole MCUs. When those rows are evenly spaced (one chunk, the
 * normal case with libjpeg's in-memory arrays) a CoefView exposes them to NumPy as a strided
 * (height_in_blocks, width_in_blocks, 64) int16 buffer that keeps the Decoder, and so libjpeg's
 * memory pool, alive: no copy at all. */

typedef struct {
    PyObject_HEAD
    Decoder *owner;
    void *base;
    Py_ssize_t shape[3];
    Py_ssize_t strides[3];
} CoefView;

static void CoefView_dealloc(CoefView *self) {
    Py_XDECREF(self->owner);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int CoefView_getbuffer(CoefView *self, Py_buffer *view, int flags) {
    if ((flags & PyBUF_C_CONTIGUOUS) == PyBUF_C_CONTIGUOUS ||
        (flags & PyBUF_F_CONTIGUOUS) == PyBUF_F_CONTIGUOUS ||
        (flags & PyBUF_ANY_CONTIGUOUS) == PyBUF_ANY_CONTIGUOUS) {
        if (self->strides[0] != self->shape[1] * self->strides[1]) {
            PyErr_SetString(PyExc_BufferError, "coefficient view is strided");
            return -1;
        }
    }
    view->obj = (PyObject *)self;
    Py_INCREF(self);
    view->buf = self->base;
    view->len = self->shape[0] * self->shape[1] * self->shape[2] * (Py_ssize_t)sizeof(JCOEF);
    view->readonly = 0;
    view->itemsize = sizeof(JCOEF);
    view->format = (flags & PyBUF_FORMAT) ? "h" : NULL;
    view->ndim = 3;
    view->shape = self->shape;
    view->strides = self->strides;
    view->suboffsets = NULL;
    view->internal = NULL;
    return 0;
}

static PyBufferProcs CoefView_as_buffer = {(getbufferproc)CoefView_getbuffer, NULL};

static PyTypeObject CoefViewType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "freqpipe.jpeg._native.CoefView",
    .tp_basicsize = sizeof(CoefView),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A component's coefficients inside libjpeg's memory (buffer protocol).",
    .tp_dealloc = (destructor)CoefView_dealloc,
    .tp_as_buffer = &CoefView_as_buffer,
};

/* view(component) -> CoefView, or None when the rows are not evenly spaced (then copy). */
static PyObject *Decoder_view(Decoder *self, PyObject *arg) {
    long ci = PyLong_AsLong(arg);
    if (ci == -1 && PyErr_Occurred()) return NULL;
    if (!self->finished || !self->created || self->coef_arrays == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "view() needs a successful decode()");
        return NULL;
    }
    if (ci < 0 || ci >= self->cinfo.num_components) {
        PyErr_SetString(PyExc_ValueError, "component index out of range");
        return NULL;
    }
    jpeg_component_info *comp = &self->cinfo.comp_info[ci];
    JDIMENSION rows = comp->height_in_blocks, cols = comp->width_in_blocks;
    jvirt_barray_ptr array = self->coef_arrays[ci];
    char *volatile base = NULL;
    volatile Py_ssize_t stride = (Py_ssize_t)cols * DCTSIZE2 * sizeof(JCOEF);
    volatile int failed = 0, even = 1;
    if (setjmp(self->err.jump)) {
        failed = 1;
    } else {
        for (JDIMENSION r = 0; r < rows && even; r++) {
            char *row = (char *)(*self->cinfo.mem->access_virt_barray)(
                (j_common_ptr)&self->cinfo, array, r, 1, FALSE)[0];
            if (r == 0) base = row;
            else if (r == 1) stride = row - base;
            if (r > 0 && row != base + (Py_ssize_t)r * stride) even = 0;
        }
    }
    if (failed) {
        raise_decode_error(self);
        return NULL;
    }
    if (!even || base == NULL || stride < (Py_ssize_t)cols * DCTSIZE2 * (Py_ssize_t)sizeof(JCOEF))
        Py_RETURN_NONE;
    CoefView *view = PyObject_New(CoefView, &CoefViewType);
    if (view == NULL) return NULL;
    Py_INCREF(self);
    view->owner = self;
    view->base = base;
    view->shape[0] = rows;
    view->shape[1] = cols;
    view->shape[2] = DCTSIZE2;
    view->strides[0] = stride;
    view->strides[1] = DCTSIZE2 * sizeof(JCOEF);
    view->strides[2] = sizeof(JCOEF);
    return (PyObject *)view;
}

/* copy_out(component, out): copy all 64 frequencies after decode (view() fallback). */
static PyObject *Decoder_copy_out(Decoder *self, PyObject *args) {
    int ci;
    PyObject *out;
    if (!PyArg_ParseTuple(args, "iO", &ci, &out)) return NULL;
    if (!self->finished || !self->created || self->coef_arrays == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "copy_out() needs a successful decode()");
        return NULL;
    }
    if (ci < 0 || ci >= self->cinfo.num_components) {
        PyErr_SetString(PyExc_ValueError, "component index out of range");
        return NULL;
    }
    jpeg_component_info *comp = &self->cinfo.comp_info[ci];
    OutPlan plan;
    plan.component = ci;
    plan.nfreq = DCTSIZE2;
    for (int k = 0; k < DCTSIZE2; k++) plan.freqs[k] = (unsigned char)k;
    Py_buffer view;
    if (PyObject_GetBuffer(out, &view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) return NULL;
    Py_ssize_t need = (Py_ssize_t)comp->height_in_blocks * comp->width_in_blocks * DCTSIZE2 *
                      (Py_ssize_t)sizeof(JCOEF);
    if (view.len != need) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "copy_out buffer has the wrong size");
        return NULL;
    }
    plan.dst = view.buf;
    plan.dst_len = view.len;
    volatile int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    if (setjmp(self->err.jump))
        failed = 1;
    else
        copy_component(&self->cinfo, self->coef_arrays[ci], comp, &plan);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (failed) {
        raise_decode_error(self);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* ---- fused crop + flip + select + chroma repetition into a channel-first slot -----------------
 * gather(component, out, freqs, top, left, rows, cols, hflip, rep_v, rep_h, bound_rows,
 *        bound_cols)
 * writes (len(freqs), rows, cols) int16 into `out` (writable, C-contiguous, exactly that many
 * values; e.g. one image's slot of a pinned batch). Output block (r, c) reads the block at
 * "aligned" position (top + r, left + c') with c' = cols - 1 - c when hflip, else c; the
 * aligned grid is the component's grid with every block repeated rep_v x rep_h times (chroma
 * "upsample" alignment to the luma grid). Positions outside [0, bound_rows) x [0, bound_cols)
 * or outside the repeated component grid are zero (padding); a bound < 0 means the repeated
 * grid. With hflip every odd-u frequency (k % 8 odd) is negated (exact flip, conventions §1). */
static PyObject *Decoder_gather(Decoder *self, PyObject *args) {
    int ci, hflip, rep_v, rep_h;
    PyObject *out;
    Py_buffer fb;
    long top, left, rows, cols, bound_rows = -1, bound_cols = -1;
    if (!PyArg_ParseTuple(args, "iOy*llllpii|ll", &ci, &out, &fb, &top, &left, &rows, &cols,
                          &hflip, &rep_v, &rep_h, &bound_rows, &bound_cols))
        return NULL;
    PyObject *result = NULL;
    Py_buffer view;
    view.obj = NULL;
    long *src_cols = NULL;
    if (!self->finished || !self->created || self->coef_arrays == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "gather() needs a successful decode()");
        goto done;
    }
    if (ci < 0 || ci >= self->cinfo.num_components) {
        PyErr_SetString(PyExc_ValueError, "component index out of range");
        goto done;
    }
    if (rows < 1 || cols < 1 || rows > 65536 || cols > 65536 || rep_v < 1 || rep_h < 1 ||
        rep_v > 4 || rep_h > 4) {
        PyErr_SetString(PyExc_ValueError, "rows, cols must be in 1..65536 and rep_v, rep_h in 1..4");
        goto done;
    }
    Py_ssize_t nfreq = fb.len;
    const unsigned char *freqs = (const unsigned char *)fb.buf;
    if (nfreq > 64) {
        PyErr_SetString(PyExc_ValueError, "freqs must be bytes of at most 64 indices");
        goto done;
    }
    for (Py_ssize_t f = 0; f < nfreq; f++) {
        if (freqs[f] > 63) {
            PyErr_SetString(PyExc_ValueError, "frequency index out of range");
            goto done;
        }
    }
    if (PyObject_GetBuffer(out, &view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) {
        view.obj = NULL;
        goto done;
    }
    Py_ssize_t need = (Py_ssize_t)nfreq * rows * cols * (Py_ssize_t)sizeof(int16_t);
    if (view.len != need) {
        PyErr_Format(PyExc_ValueError, "gather output has %zd bytes, expected %zd", view.len,
                     need);
        goto done;
    }
    jpeg_component_info *comp = &self->cinfo.comp_info[ci];
    long grid_rows = (long)comp->height_in_blocks * rep_v;
    long grid_cols = (long)comp->width_in_blocks * rep_h;
    if (bound_rows < 0 || bound_rows > grid_rows) bound_rows = grid_rows;
    if (bound_cols < 0 || bound_cols > grid_cols) bound_cols = grid_cols;
    src_cols = (long *)PyMem_Malloc((size_t)cols * sizeof(long));
    if (src_cols == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (long c = 0; c < cols; c++) {
        long pos = left + (hflip ? cols - 1 - c : c);
        src_cols[c] = (pos >= 0 && pos < bound_cols) ? pos / rep_h : -1;
    }
    int16_t sign[64];
    for (Py_ssize_t f = 0; f < nfreq; f++) sign[f] = (hflip && (freqs[f] & 1)) ? -1 : 1;
    int16_t *dst = (int16_t *)view.buf;
    Py_ssize_t plane = (Py_ssize_t)rows * cols;
    jvirt_barray_ptr array = self->coef_arrays[ci];
    volatile int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    if (setjmp(self->err.jump)) {
        failed = 1;
    } else {
        for (long r = 0; r < rows; r++) {
            long pos = top + r;
            if (pos < 0 || pos >= bound_rows) {
                for (Py_ssize_t f = 0; f < nfreq; f++)
                    memset(dst + f * plane + r * cols, 0, (size_t)cols * sizeof(int16_t));
                continue;
            }
            JBLOCKROW blocks = (*self->cinfo.mem->access_virt_barray)(
                (j_common_ptr)&self->cinfo, array, (JDIMENSION)(pos / rep_v), 1, FALSE)[0];
            for (Py_ssize_t f = 0; f < nfreq; f++) {
                int16_t *d = dst + f * plane + r * cols;
                int k = freqs[f];
                int16_t s = sign[f];
                for (long c = 0; c < cols; c++) {
                    long sc = src_cols[c];
                    d[c] = sc >= 0 ? (int16_t)(blocks[sc][k] * s) : 0;
                }
            }
        }
    }
    Py_END_ALLOW_THREADS
    if (failed) {
        raise_decode_error(self);
        goto done;
    }
    Py_INCREF(Py_None);
    result = Py_None;

done:
    PyMem_Free(src_cols);
    if (view.obj != NULL) PyBuffer_Release(&view);
    PyBuffer_Release(&fb);
    return result;
}

static PyMethodDef Decoder_methods[] = {
    {"copy_out", (PyCFunction)Decoder_copy_out, METH_VARARGS,
     "copy_out(component, out): copy a component's 64 frequencies after decode()"},
    {"decode", (PyCFunction)Decoder_decode, METH_VARARGS,
     "decode(outs, components, freqs) -> (warnings, quant_tables, scans, n_warnings); an out "
     "of None copies nothing (borrow it with view())"},
    {"gather", (PyCFunction)Decoder_gather, METH_VARARGS,
     "gather(component, out, freqs, top, left, rows, cols, hflip, rep_v, rep_h[, bound_rows, "
     "bound_cols]): crop + flip + select (+ chroma repetition, zero padding) into (F, rows, "
     "cols) int16 after decode()"},
    {"view", (PyCFunction)Decoder_view, METH_O,
     "view(component) -> zero-copy buffer of its coefficients, or None"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Decoder_getset[] = {
    {"header", (getter)Decoder_get_header, NULL, "header facts as a dict", NULL},
    {"entropy_decoder", (getter)Decoder_get_entropy_decoder, NULL,
     "after decode(): 'freqpipe' (spectral-selection scans, _spectral.c) or 'libjpeg'", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject DecoderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "freqpipe.jpeg._native.Decoder",
    .tp_basicsize = sizeof(Decoder),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Decoder(data, strict=True, max_scans=1000, max_pixels=0, max_passes=0, spectral=True): one JPEG's "
               "coefficients.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Decoder_init,
    .tp_dealloc = (destructor)Decoder_dealloc,
    .tp_methods = Decoder_methods,
    .tp_getset = Decoder_getset,
};

/* ---- scan walk: where each scan of a file starts and ends ----------------------------------
 * scan_table(data) -> None | {"ncomp", "progressive", "scans": [(offset, end, components, Ss,
 * Se, Ah, Al), ...], "eoi": offset or -1, "complete": bool}
 * A marker walk over the bytes, no Huffman decoding: offset is the SOS marker's position, end
 * the position of the marker that follows the scan's entropy-coded data (the data's length
 * when it is truncated), components the scan's component indices in frame order. None when
 * the structure is not one this walk can vouch for (no SOI, no or several frames, unknown
 * component ids): the caller then hands libjpeg the whole file and lets it diagnose.
 * "complete" is False when the walk stopped early (truncated segment, too many scans). */

#define WALK_MAX_SCANS 1024

typedef struct {
    size_t offset, end;
    int ncomp, comps[MAX_COMPS_IN_SCAN];
    int Ss, Se, Ah, Al;
} ScanEntry;

typedef struct {
    int ok, progressive, ncomp, complete;
    int ids[MAX_OUT_COMPONENTS];
    long eoi;
    int nscans;
    ScanEntry scans[WALK_MAX_SCANS];
} ScanWalk;

/* Position of the marker that ends entropy-coded data starting at pos (stuffed zeros and
 * restart markers belong to the data; a run of fill bytes belongs to the marker after it). */
static size_t skip_entropy_data(const unsigned char *buf, size_t len, size_t pos) {
    while (pos < len) {
        const unsigned char *ff = memchr(buf + pos, 0xFF, len - pos);
        if (ff == NULL) return len;
        size_t at = (size_t)(ff - buf);
        size_t next = at + 1;
        while (next < len && buf[next] == 0xFF) next++;
        if (next >= len) return len;
        unsigned m = buf[next];
        if (m == 0x00 || (m >= 0xD0 && m <= 0xD7)) {
            pos = next + 1;
            continue;
        }
        return at;
    }
    return len;
}

static void walk_scans(const unsigned char *buf, size_t len, ScanWalk *w) {
    int frames = 0;
    w->ok = 0;
    w->complete = 0;
    w->nscans = 0;
    w->eoi = -1;
    w->ncomp = 0;
    if (len < 2 || buf[0] != 0xFF || buf[1] != 0xD8) return;
    size_t pos = 2;
    while (pos + 2 <= len) {
        if (buf[pos] != 0xFF) return; /* garbage where a marker belongs: libjpeg decides */
        unsigned marker = buf[pos + 1];
        if (marker == 0xFF) { pos++; continue; }
        if (marker == 0xD9) {
            w->eoi = (long)pos;
            w->complete = 1;
            break;
        }
        if ((marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) { pos += 2; continue; }
        if (marker == 0xD8 || pos + 4 > len) break;
        size_t seglen = ((size_t)buf[pos + 2] << 8) | buf[pos + 3];
        if (seglen < 2 || pos + 2 + seglen > len) break;
        const unsigned char *seg = buf + pos + 4;
        if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 &&
            marker != 0xCC) {
            if (++frames > 1 || seglen < 8) return;
            int n = seg[5];
            if (n < 1 || n > MAX_OUT_COMPONENTS || seglen < (size_t)(8 + 3 * n)) return;
            w->ncomp = n;
            w->progressive = marker == 0xC2 || marker == 0xCA;
            for (int i = 0; i < n; i++) w->ids[i] = seg[6 + 3 * i];
        } else if (marker == 0xDA) {
            if (frames != 1) return;
            int n = seg[0];
            if (n < 1 || n > MAX_COMPS_IN_SCAN || seglen != (size_t)(6 + 2 * n)) return;
            if (w->nscans == WALK_MAX_SCANS) break;
            ScanEntry *s = &w->scans[w->nscans];
            s->offset = pos;
            s->ncomp = n;
            for (int i = 0; i < n; i++) {
                int id = seg[1 + 2 * i], found = -1;
                for (int c = 0; c < w->ncomp; c++)
                    if (w->ids[c] == id) found = c;
                if (found < 0) return;
                s->comps[i] = found;
            }
            const unsigned char *tail = seg + 1 + 2 * n;
            s->Ss = tail[0];
            s->Se = tail[1];
            s->Ah = tail[2] >> 4;
            s->Al = tail[2] & 15;
            s->end = skip_entropy_data(buf, len, pos + 2 + seglen);
            w->nscans++;
            pos = s->end;
            continue;
        }
        pos += 2 + seglen;
    }
    w->ok = frames == 1;
}

/* The walk of a buffer object, the GIL released: a ScanWalk to PyMem_Free, or NULL with an
 * exception set. */
static ScanWalk *walk_buffer(PyObject *obj) {
    Py_buffer data;
    if (PyObject_GetBuffer(obj, &data, PyBUF_SIMPLE) < 0) return NULL;
    ScanWalk *w = (ScanWalk *)PyMem_Malloc(sizeof(ScanWalk));
    if (w == NULL) {
        PyBuffer_Release(&data);
        PyErr_NoMemory();
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    walk_scans((const unsigned char *)data.buf, (size_t)data.len, w);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&data);
    return w;
}

static PyObject *native_scan_table(PyObject *module, PyObject *arg) {
    ScanWalk *w = walk_buffer(arg);
    if (w == NULL) return NULL;
    PyObject *result = NULL, *scans = NULL;
    if (!w->ok) {
        Py_INCREF(Py_None);
        result = Py_None;
        goto done;
    }
    scans = PyList_New(w->nscans);
    if (scans == NULL) goto done;
    for (int i = 0; i < w->nscans; i++) {
        ScanEntry *s = &w->scans[i];
        PyObject *comps = PyTuple_New(s->ncomp);
        if (comps == NULL) goto done;
        for (int c = 0; c < s->ncomp; c++) PyTuple_SET_ITEM(comps, c, PyLong_FromLong(s->comps[c]));
        PyObject *t = Py_BuildValue("(nnNiiii)", (Py_ssize_t)s->offset, (Py_ssize_t)s->end, comps,
                                    s->Ss, s->Se, s->Ah, s->Al);
        if (t == NULL) goto done;
        PyList_SET_ITEM(scans, i, t);
    }
    result = Py_BuildValue("{s:i,s:O,s:O,s:l,s:O}", "ncomp", w->ncomp, "progressive",
                           w->progressive ? Py_True : Py_False, "scans", scans, "eoi", w->eoi,
                           "complete", w->complete ? Py_True : Py_False);
done:
    Py_XDECREF(scans);
    PyMem_Free(w);
    return result;
}

/* ---- the prefix rule: after which scan every wanted coefficient is exact -------------------
 * masks[c]: the zigzag ranks wanted of component c (bit r = rank r). The answer is the last
 * scan touching any wanted coefficient, provided each was sent to its last bit (Al = 0) by
 * then; -1 when nothing is wanted or some wanted coefficient is never exact. The one home of
 * this rule: scans.py's complete_after and prefix_end, and the reader's prefix_cut, call it. */

static int scans_complete_after(const ScanEntry *scans, int nscans, int ncomp,
                                const uint64_t *masks) {
    uint64_t exact[MAX_OUT_COMPONENTS] = {0};
    int any = 0, last = -1;
    for (int c = 0; c < ncomp; c++) any |= masks[c] != 0;
    if (!any) return -1;
    for (int i = 0; i < nscans; i++) {
        const ScanEntry *s = &scans[i];
        uint64_t band = 0; /* ranks Ss..Se; a band past rank 63 counts up to 63 */
        if (s->Ss <= 63 && s->Se >= s->Ss) {
            uint64_t upto = s->Se >= 63 ? ~(uint64_t)0 : ((uint64_t)1 << (s->Se + 1)) - 1;
            band = upto & ~(((uint64_t)1 << s->Ss) - 1);
        }
        for (int k = 0; k < s->ncomp; k++) {
            int c = s->comps[k];
            uint64_t hit = masks[c] & band;
            if (hit) {
                last = i;
                if (s->Al == 0) exact[c] |= hit;
            }
        }
    }
    for (int c = 0; c < ncomp; c++)
        if (exact[c] != masks[c]) return -1;
    return last;
}

/* masks: a sequence of one int per component (missing ones are 0). -1 with an exception set
 * when it is not one. */
static int read_masks(PyObject *seq, int ncomp, uint64_t *masks) {
    PyObject *fast = PySequence_Fast(seq, "masks must be a sequence of ints");
    if (fast == NULL) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    for (int c = 0; c < ncomp; c++) {
        masks[c] = 0;
        if (c < n) {
            masks[c] = PyLong_AsUnsignedLongLong(PySequence_Fast_GET_ITEM(fast, c));
            if (PyErr_Occurred()) {
                Py_DECREF(fast);
                return -1;
            }
        }
    }
    Py_DECREF(fast);
    return 0;
}

/* complete_after(scans, ncomp, masks) -> int | None, scans as scan_table lists them. */
static PyObject *native_complete_after(PyObject *module, PyObject *args) {
    PyObject *scan_seq, *mask_seq;
    int ncomp;
    if (!PyArg_ParseTuple(args, "OiO", &scan_seq, &ncomp, &mask_seq)) return NULL;
    if (ncomp < 1 || ncomp > MAX_OUT_COMPONENTS) {
        PyErr_Format(PyExc_ValueError, "ncomp must be in 1..%d", MAX_OUT_COMPONENTS);
        return NULL;
    }
    uint64_t masks[MAX_OUT_COMPONENTS];
    if (read_masks(mask_seq, ncomp, masks) < 0) return NULL;
    PyObject *fast = PySequence_Fast(scan_seq, "scans must be a sequence");
    if (fast == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    ScanEntry *scans = (ScanEntry *)PyMem_Malloc(sizeof(ScanEntry) * (size_t)(n > 0 ? n : 1));
    if (scans == NULL) {
        Py_DECREF(fast);
        return PyErr_NoMemory();
    }
    PyObject *result = NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        ScanEntry *s = &scans[i];
        PyObject *comps, *cfast;
        Py_ssize_t offset, end;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(fast, i), "nnOiiii", &offset, &end, &comps,
                              &s->Ss, &s->Se, &s->Ah, &s->Al))
            goto done;
        cfast = PySequence_Fast(comps, "a scan's components must be a sequence");
        if (cfast == NULL) goto done;
        s->ncomp = 0;
        for (Py_ssize_t k = 0; k < PySequence_Fast_GET_SIZE(cfast) && k < MAX_COMPS_IN_SCAN; k++) {
            long c = PyLong_AsLong(PySequence_Fast_GET_ITEM(cfast, k));
            if (c == -1 && PyErr_Occurred()) {
                Py_DECREF(cfast);
                goto done;
            }
            if (c >= 0 && c < ncomp) s->comps[s->ncomp++] = (int)c; /* others cannot be wanted */
        }
        Py_DECREF(cfast);
    }
    int last = scans_complete_after(scans, (int)n, ncomp, masks);
    result = last < 0 ? Py_NewRef(Py_None) : PyLong_FromLong(last);
done:
    PyMem_Free(scans);
    Py_DECREF(fast);
    return result;
}

/* prefix_cut(data, masks_for) -> None | (end, nscans)
 * The reader's cut in one call: the marker walk (GIL released), masks_for(ncomp) for the
 * component count found, then the rule. None means read the whole file: not progressive, the
 * walk incomplete or unsure, nothing wanted, a wanted coefficient never exact, or a prefix
 * that reaches the last scan or the EOI. */
static PyObject *native_prefix_cut(PyObject *module, PyObject *args) {
    PyObject *buffer, *masks_for;
    if (!PyArg_ParseTuple(args, "OO", &buffer, &masks_for)) return NULL;
    ScanWalk *w = walk_buffer(buffer);
    if (w == NULL) return NULL;
    PyObject *result = NULL;
    if (!w->ok || !w->progressive || !w->complete || w->eoi < 0) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    PyObject *mask_seq = PyObject_CallFunction(masks_for, "i", w->ncomp);
    if (mask_seq == NULL) goto done;
    uint64_t masks[MAX_OUT_COMPONENTS];
    int bad = read_masks(mask_seq, w->ncomp, masks);
    Py_DECREF(mask_seq);
    if (bad < 0) goto done;
    int last = scans_complete_after(w->scans, w->nscans, w->ncomp, masks);
    if (last < 0 || last == w->nscans - 1 || (long)w->scans[last].end >= w->eoi) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    result = Py_BuildValue("(ni)", (Py_ssize_t)w->scans[last].end, last + 1);
done:
    PyMem_Free(w);
    return result;
}

/* ---- lossless frequency-ordered rewrite ----------------------------------------------------
 * reorder(data, ends, strip, max_pixels, max_scans, restart_rows) -> bytes
 * ends: bytes of 4 * nsel zigzag ranks, ends[4 s + c] the last zigzag rank selection s needs
 * of component c (components past the 4th use slot 3). The output is progressive with
 * spectral selection only (Ah = Al = 0, so every prefix that ends on a scan boundary holds
 * exact coefficients): one DC scan, then per selection and per component the zigzag band that
 * completes it, then whatever each component still lacks; optimised Huffman tables. APPn and
 * COM markers are copied unless strip (libjpeg writes its own JFIF/Adobe markers). */

#define REORDER_MAX_SEL 64

/* A growable output buffer we own: libjpeg's jpeg_mem_dest frees and replaces its buffer as it
 * grows but reports the current one only at the end, so after an error midway nobody could
 * free it safely. */
typedef struct {
    struct jpeg_destination_mgr pub;
    unsigned char *buf;
    size_t cap;
} GrowDest;

static void grow_init(j_compress_ptr cinfo) {
    GrowDest *d = (GrowDest *)cinfo->dest;
    d->cap = 1 << 16;
    d->buf = (unsigned char *)malloc(d->cap);
    if (d->buf == NULL) ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 10);
    d->pub.next_output_byte = d->buf;
    d->pub.free_in_buffer = d->cap;
}

static boolean grow_empty(j_compress_ptr cinfo) {
    GrowDest *d = (GrowDest *)cinfo->dest;
    unsigned char *bigger = (unsigned char *)realloc(d->buf, d->cap * 2);
    if (bigger == NULL) ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 10); /* d->buf is still ours */
    d->buf = bigger;
    d->pub.next_output_byte = bigger + d->cap;
    d->pub.free_in_buffer = d->cap;
    d->cap *= 2;
    return TRUE;
}

static void grow_term(j_compress_ptr cinfo) { /* the size is cap - free_in_buffer */ }

typedef struct {
    struct jpeg_decompress_struct src;
    struct jpeg_compress_struct dst;
    ErrorState err;
    ScanLimit progress;
    GrowDest out;
    int src_created, dst_created;
    jpeg_scan_info scans[1 + MAX_OUT_COMPONENTS * (REORDER_MAX_SEL + 2)];
} Reorder;

static int build_script(Reorder *r, const unsigned char *ends, int nsel) {
    int ncomp = r->src.num_components, n = 0, blocks = 0, done[MAX_OUT_COMPONENTS];
    for (int c = 0; c < ncomp; c++) {
        done[c] = 0;
        blocks += r->src.comp_info[c].h_samp_factor * r->src.comp_info[c].v_samp_factor;
    }
    /* An interleaved DC scan is best (one pass over the MCUs), but libjpeg's encoder caps an
     * MCU at C_MAX_BLOCKS_IN_MCU blocks; some odd samplings need one DC scan per component. */
    if (ncomp <= MAX_COMPS_IN_SCAN && blocks <= C_MAX_BLOCKS_IN_MCU) {
        jpeg_scan_info *s = &r->scans[n++];
        s->comps_in_scan = ncomp;
        for (int c = 0; c < ncomp; c++) s->component_index[c] = c;
        s->Ss = s->Se = s->Ah = s->Al = 0;
    } else {
        for (int c = 0; c < ncomp; c++) {
            jpeg_scan_info *s = &r->scans[n++];
            s->comps_in_scan = 1;
            s->component_index[0] = c;
            s->Ss = s->Se = s->Ah = s->Al = 0;
        }
    }
    for (int sel = 0; sel <= nsel; sel++) {
        for (int c = 0; c < ncomp; c++) {
            int want = sel < nsel ? ends[4 * sel + (c < 3 ? c : 3)] : 63;
            if (want > 63) want = 63;
            if (want <= done[c]) continue;
            jpeg_scan_info *s = &r->scans[n++];
            s->comps_in_scan = 1; /* libjpeg: progressive AC scans hold one component */
            s->component_index[0] = c;
            s->Ss = done[c] + 1;
            s->Se = want;
            s->Ah = s->Al = 0;
            done[c] = want;
        }
    }
    return n;
}

static int is_writer_marker(const struct jpeg_compress_struct *dst, jpeg_saved_marker_ptr m) {
    if (m->marker == JPEG_APP0 && dst->write_JFIF_header && m->data_length >= 5 &&
        memcmp(m->data, "JFIF", 5) == 0)
        return 1;
    if (m->marker == JPEG_APP0 + 14 && dst->write_Adobe_marker && m->data_length >= 5 &&
        memcmp(m->data, "Adobe", 5) == 0)
        return 1;
    return 0;
}

/* Whether every DC coefficient can be coded on its own, as it is after each restart marker
 * (the prediction resets to 0): a DC difference has at most 11 magnitude bits, so |DC| must
 * stay below 2048. Legal files always do; a file that only ever coded DC differences may not,
 * and then its rewrite keeps the file's own restart markers. */
static int dc_fits_restarts(j_decompress_ptr src, jvirt_barray_ptr *arrays) {
    for (int c = 0; c < src->num_components; c++) {
        jpeg_component_info *comp = &src->comp_info[c];
        for (JDIMENSION r = 0; r < comp->height_in_blocks; r++) {
            JBLOCKROW row = (*src->mem->access_virt_barray)((j_common_ptr)src, arrays[c], r, 1,
                                                            FALSE)[0];
            for (JDIMENSION b = 0; b < comp->width_in_blocks; b++)
                if (row[b][0] > 2047 || row[b][0] < -2047) return 0;
        }
    }
    return 1;
}

static PyObject *native_reorder(PyObject *module, PyObject *args) {
    Py_buffer data, endb;
    int strip = 0, max_scans = 1000, restart_rows = 0;
    unsigned long long max_pixels = 0;
    if (!PyArg_ParseTuple(args, "y*y*|pKii", &data, &endb, &strip, &max_pixels, &max_scans,
                          &restart_rows))
        return NULL;
    if (restart_rows < 0 || restart_rows > 65535) {
        PyBuffer_Release(&data);
        PyBuffer_Release(&endb);
        PyErr_SetString(PyExc_ValueError, "restart_rows must be in 0..65535");
        return NULL;
    }
    PyObject *result = NULL;
    Reorder *r = NULL;
    int nsel = (int)(endb.len / 4);
    if (endb.len % 4 != 0 || nsel > REORDER_MAX_SEL) {
        PyErr_Format(PyExc_ValueError, "ends must be 4 bytes per selection, at most %d",
                     REORDER_MAX_SEL);
        goto done;
    }
    char why[160];
    size_t where = 0;
    const char *kind = classify_frame((const unsigned char *)data.buf, (size_t)data.len, why,
                                      sizeof(why), &where, max_pixels);
    if (kind != NULL) {
        PyObject *e = Py_BuildValue("(ssn)", kind, why, (Py_ssize_t)where);
        if (e != NULL) { PyErr_SetObject(DecodeError, e); Py_DECREF(e); }
        goto done;
    }
    r = (Reorder *)PyMem_Calloc(1, sizeof(Reorder));
    if (r == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    r->src.err = jpeg_std_error(&r->err.pub);
    r->dst.err = &r->err.pub;
    r->err.pub.error_exit = on_error_exit;
    r->err.pub.emit_message = on_emit_message;
    r->err.pub.output_message = on_output_message;
    r->err.strict = 1; /* a lossless rewrite of damaged data would hide the damage */
    r->progress.pub.progress_monitor = on_progress;
    r->progress.max_scans = max_scans;
    /* the redundant-scan check of on_progress starts from "nothing decoded yet" */
    memset(r->progress.bits, -1, sizeof(r->progress.bits));
    const unsigned char *ends = (const unsigned char *)endb.buf;
    volatile int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    if (setjmp(r->err.jump)) {
        failed = 1;
    } else {
        jpeg_create_decompress(&r->src);
        r->src_created = 1;
        r->src.progress = &r->progress.pub;
        if (!strip) {
            jpeg_save_markers(&r->src, JPEG_COM, 0xFFFF);
            for (int m = 0; m < 16; m++) jpeg_save_markers(&r->src, JPEG_APP0 + m, 0xFFFF);
        }
        jpeg_mem_src(&r->src, (const unsigned char *)data.buf, (unsigned long)data.len);
        jpeg_read_header(&r->src, TRUE);
        if (max_pixels && (unsigned long long)r->src.image_width * r->src.image_height >
                              max_pixels) {
            too_large(r->src.image_width, r->src.image_height, max_pixels, r->err.message,
                      sizeof(r->err.message));
            r->err.kind = KIND_TOO_LARGE;
            longjmp(r->err.jump, 1);
        }
        jvirt_barray_ptr *arrays = jpeg_read_coefficients(&r->src);
        jpeg_create_compress(&r->dst);
        r->dst_created = 1;
        jpeg_copy_critical_parameters(&r->src, &r->dst);
        r->dst.num_scans = build_script(r, ends, nsel);
        r->dst.scan_info = r->scans;
        r->dst.optimize_coding = TRUE;
        /* A restart marker every restart_rows MCU rows of each scan (libjpeg works out each
         * scan's interval and writes a DRI where it changes): a reader that wants some rows
         * skips the intervals of the others unread. 0 keeps the file's own restart markers. */
        if (restart_rows > 0 && dc_fits_restarts(&r->src, arrays))
            r->dst.restart_in_rows = restart_rows;
        else
            r->dst.restart_interval = r->src.restart_interval;
        r->out.pub.init_destination = grow_init;
        r->out.pub.empty_output_buffer = grow_empty;
        r->out.pub.term_destination = grow_term;
        r->dst.dest = &r->out.pub;
        jpeg_write_coefficients(&r->dst, arrays);
        for (jpeg_saved_marker_ptr m = r->src.marker_list; m != NULL; m = m->next)
            if (!is_writer_marker(&r->dst, m))
                jpeg_write_marker(&r->dst, m->marker, m->data, m->data_length);
        jpeg_finish_compress(&r->dst);
        jpeg_finish_decompress(&r->src);
    }
    Py_END_ALLOW_THREADS
    if (failed) {
        size_t offset = r->src_created ? bytes_consumed(&r->src, (size_t)data.len) : 0;
        PyObject *e = Py_BuildValue("(ssn)", r->err.kind ? r->err.kind : KIND_CORRUPT,
                                    r->err.message, (Py_ssize_t)offset);
        if (e != NULL) { PyErr_SetObject(DecodeError, e); Py_DECREF(e); }
    } else {
        result = PyBytes_FromStringAndSize((const char *)r->out.buf,
                                           (Py_ssize_t)(r->out.cap - r->out.pub.free_in_buffer));
    }
done:
    if (r != NULL) {
        if (r->dst_created) jpeg_destroy_compress(&r->dst);
        if (r->src_created) jpeg_destroy_decompress(&r->src);
        free(r->out.buf);
        PyMem_Free(r);
    }
    PyBuffer_Release(&data);
    PyBuffer_Release(&endb);
    return result;
}

static PyMethodDef native_functions[] = {
    {"scan_table", (PyCFunction)native_scan_table, METH_O,
     "scan_table(data) -> dict of the scans' offsets, ends, components, Ss, Se, Ah, Al, or "
     "None"},
    {"complete_after", (PyCFunction)native_complete_after, METH_VARARGS,
     "complete_after(scans, ncomp, masks) -> index of the scan after which every wanted "
     "coefficient is exact, or None"},
    {"prefix_cut", (PyCFunction)native_prefix_cut, METH_VARARGS,
     "prefix_cut(data, masks_for) -> (end, nscans) of the shortest exact prefix, or None"},
    {"reorder", (PyCFunction)native_reorder, METH_VARARGS,
     "reorder(data, ends, strip=False, max_pixels=0, max_scans=1000, restart_rows=0) -> bytes: "
     "lossless "
     "frequency-ordered progressive rewrite"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "freqpipe.jpeg._native",
    .m_doc = "Native JPEG coefficient reader over libjpeg-turbo (GIL released while decoding).",
    .m_size = -1,
    .m_methods = native_functions,
};

PyMODINIT_FUNC PyInit__native(void) {
    if (PyType_Ready(&DecoderType) < 0 || PyType_Ready(&CoefViewType) < 0) return NULL;
    PyObject *m = PyModule_Create(&native_module);
    if (m == NULL) return NULL;
    DecodeError = PyErr_NewException("freqpipe.jpeg._native.DecodeError", NULL, NULL);
    if (DecodeError == NULL || PyModule_AddObject(m, "DecodeError", DecodeError) < 0) {
        Py_XDECREF(DecodeError);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(DecodeError);
    Py_INCREF(&DecoderType);
    if (PyModule_AddObject(m, "Decoder", (PyObject *)&DecoderType) < 0) {
        Py_DECREF(&DecoderType);
        Py_DECREF(m);
        return NULL;
    }
    PyModule_AddIntConstant(m, "LIBJPEG_VERSION", JPEG_LIB_VERSION);
#ifdef LIBJPEG_TURBO_VERSION_NUMBER
    PyModule_AddIntConstant(m, "LIBJPEG_TURBO_VERSION", LIBJPEG_TURBO_VERSION_NUMBER);
#endif
    return m;
}
