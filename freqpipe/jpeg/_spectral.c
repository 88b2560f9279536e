/*
 * Progressive first scans (spectral selection, Ah = 0), Huffman coded, decoded without libjpeg;
 * see _spectral.h for the contract. Every check below that returns 0 stands for a libjpeg
 * error, a libjpeg warning, or a case this decoder does not handle: libjpeg then decodes the
 * file and says what it says. The byte-level rules (0xFF stuffing, fill bytes, restart
 * markers, padding) and the scan rules (progression, table checks) follow libjpeg-turbo's
 * jdmarker.c, jdhuff.c and jdphuff.c, so that a file accepted here decodes to the same
 * coefficients as there.
 */
#include "_spectral.h"

#include <string.h>

/* Codes up to this long resolve in one table lookup; longer ones (rare) walk maxcode. */
#define FAST_BITS 12
#define MAX_BLOCKS_IN_MCU 10 /* libjpeg's D_MAX_BLOCKS_IN_MCU */
#define MAX_AL 13
#define FAST_EOB 0x200

static const uint8_t natural_order[64] = {
    0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,  12, 19, 26, 33, 40, 48,
    41, 34, 27, 20, 13, 6,  7,  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23,
    30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
};

typedef struct {
    int defined;
    uint8_t counts[17]; /* counts[l]: codes of length l */
    uint8_t symbols[256];
} HuffSpec;

typedef struct {
    uint16_t fast[1 << FAST_BITS]; /* (length << 8) | symbol; 0: longer code (or none) */
    /* AC tables, in one lookup when the code and its extra bits fit FAST_BITS: a nonzero
     * coefficient, (value << 16) | (run << 5) | bits used; or an end of block starting a run
     * of EOBRUN blocks, ((EOBRUN - 1) << 16) | FAST_EOB | bits used. 0: the general path. */
    int32_t fast_ac[1 << FAST_BITS];
    /* DC tables, likewise: a difference whose code and magnitude bits fit FAST_BITS,
     * (value << 16) | bits used (never 0: a code has at least one bit). 0: the general path. */
    int32_t fast_dc[1 << FAST_BITS];
    int32_t maxcode[17];           /* largest code of each length, -1 where there is none */
    int32_t valoffset[17];         /* symbol index of a code of that length, minus the code */
    uint8_t symbols[256];
} HuffTable;

/* The checks of libjpeg's jpeg_make_d_derived_tbl, which runs when a scan starts using a
 * table: a DC symbol above 15, or codes that overflow their length (the all-ones code
 * included), is JERR_BAD_HUFF_TABLE. */
/* n in 1..15 magnitude bits, sign-extended as JPEG's EXTEND(V, T). */
static inline int32_t extend_bits(int32_t v, int n) {
    return v < (1 << (n - 1)) ? v - (1 << n) + 1 : v;
}

/* One fast_ac entry: the code of length len for symbol sym, followed by extra bits m. */
static int32_t fast_ac_entry(int len, int sym, uint32_t m) {
    int run = sym >> 4, size = sym & 15;
    if (size) {
        int32_t v = extend_bits((int32_t)m, size);
        return (int32_t)(((uint32_t)v << 16) | (unsigned)(run << 5) | (unsigned)(len + size));
    }
    uint32_t eobrun = (1u << run) + m - 1;
    return (int32_t)((eobrun << 16) | FAST_EOB | (unsigned)(len + run));
}

static int build_table(const HuffSpec *spec, int is_dc, HuffTable *t) {
    if (!spec->defined) return 0; /* JERR_NO_HUFF_TABLE */
    int count = 0;
    for (int l = 1; l <= 16; l++) count += spec->counts[l];
    if (count > 256) return 0;
    for (int i = 0; is_dc && i < count; i++)
        if (spec->symbols[i] > 15) return 0;
    memcpy(t->symbols, spec->symbols, (size_t)count);
    /* Canonical codes of up to FAST_BITS fill the lookups from 0 up, each lookup once (no
     * table-wide clearing: a table is built for every scan); the rest are longer codes. */
    uint32_t code = 0, filled = 0;
    int index = 0;
    for (int l = 1; l <= 16; l++) {
        int n = spec->counts[l];
        t->valoffset[l] = index - (int32_t)code;
        for (int i = 0; i < n; i++, index++, code++) {
            /* an overfull table: libjpeg's error, and checked before the code indexes a table */
            if (code >= (1u << l)) return 0;
            if (l > FAST_BITS) continue;
            int sym = spec->symbols[index];
            uint32_t first = code << (FAST_BITS - l), span = 1u << (FAST_BITS - l);
            for (uint32_t j = 0; j < span; j++) t->fast[first + j] = (uint16_t)((l << 8) | sym);
            filled = first + span;
            if (is_dc) {
                if (l + sym > FAST_BITS) { /* sym <= 15 was checked above */
                    memset(t->fast_dc + first, 0, span * sizeof(int32_t));
                    continue;
                }
                uint32_t sub = 1u << (FAST_BITS - l - sym);
                for (uint32_t m = 0; m < (1u << sym); m++) {
                    int32_t v = sym ? extend_bits((int32_t)m, sym) : 0;
                    int32_t e = (int32_t)(((uint32_t)v << 16) | (unsigned)(l + sym));
                    for (uint32_t j = 0; j < sub; j++) t->fast_dc[first + m * sub + j] = e;
                }
                continue;
            }
            int run = sym >> 4, size = sym & 15, extra = size ? size : run;
            if ((size == 0 && run == 15) || l + extra > FAST_BITS) {
                memset(t->fast_ac + first, 0, span * sizeof(int32_t)); /* the general path */
                continue;
            }
            uint32_t sub = 1u << (FAST_BITS - l - extra);
            for (uint32_t m = 0; m < (1u << extra); m++) {
                int32_t e = fast_ac_entry(l, sym, m);
                for (uint32_t j = 0; j < sub; j++) t->fast_ac[first + m * sub + j] = e;
            }
        }
        t->maxcode[l] = n ? (int32_t)code - 1 : -1;
        if (code >= (1u << l)) return 0;
        code <<= 1;
    }
    uint32_t size = 1u << FAST_BITS;
    memset(t->fast + filled, 0, (size - filled) * sizeof(uint16_t));
    memset((is_dc ? t->fast_dc : t->fast_ac) + filled, 0, (size - filled) * sizeof(int32_t));
    return 1;
}

/* ---- bits ---------------------------------------------------------------------------------
 * The entropy-coded data of one segment (a scan, or a restart interval of one), MSB first.
 * At a marker (or the end of the data) the reader pads with zero bits, as libjpeg does, and
 * counts them: a decode that consumed any padding is one libjpeg warns about ("premature end
 * of data segment"), so it is refused when the segment ends. */
typedef struct {
    const uint8_t *buf;
    size_t len, pos;
    uint64_t acc; /* the next bits, MSB-aligned */
    int nbits;    /* bits in acc, padding included */
    int padded;   /* zero bits added after a marker; nbits < padded: padding was consumed */
    int at_marker;
    size_t marker_pos; /* where the 0xFF (run) of that marker starts */
} Bits;

static void bits_start(Bits *b, const uint8_t *buf, size_t len, size_t pos) {
    b->buf = buf;
    b->len = len;
    b->pos = pos;
    b->acc = 0;
    b->nbits = 0;
    b->padded = 0;
    b->at_marker = 0;
    b->marker_pos = 0;
}

static void refill(Bits *b) {
    /* As many whole bytes as fit, in one load, when none of the next eight is 0xFF: the
     * common case by far. */
    if (b->nbits <= 56 && !b->at_marker && b->pos + 8 <= b->len) {
        uint64_t word, inverted;
        memcpy(&word, b->buf + b->pos, 8);
        inverted = ~word;
        if (((inverted - 0x0101010101010101ULL) & ~inverted & 0x8080808080808080ULL) == 0) {
            int room = (64 - b->nbits) >> 3;
            b->acc |= (__builtin_bswap64(word) >> b->nbits) &
                      ~((1ULL << ((64 - b->nbits) & 7)) - 1);
            b->nbits += 8 * room;
            b->pos += (size_t)room;
            return;
        }
    }
    while (b->nbits <= 56) {
        if (b->at_marker) {
            b->nbits += 8;
            b->padded += 8;
            continue;
        }
        if (b->pos >= b->len) { /* no marker at all: libjpeg would warn of a premature EOF */
            b->at_marker = 1;
            b->marker_pos = b->len;
            continue;
        }
        unsigned c = b->buf[b->pos];
        if (c == 0xFF) {
            size_t q = b->pos + 1;
            while (q < b->len && b->buf[q] == 0xFF) q++; /* fill bytes */
            if (q >= b->len || b->buf[q] != 0x00) {
                b->at_marker = 1;
                b->marker_pos = b->pos;
                continue;
            }
            b->pos = q + 1; /* a stuffed 0xFF 0x00: data byte 0xFF */
        } else {
            b->pos++;
        }
        b->acc |= (uint64_t)c << (56 - b->nbits);
        b->nbits += 8;
    }
}

/* The decode loops keep the reader's bits in locals (acc, nbits): through the struct they
 * would round-trip memory on every symbol, the refill call making it escape. */
#define BITS_LOAD(b) uint64_t acc = (b)->acc; int nbits = (b)->nbits
#define BITS_SAVE(b) ((b)->acc = acc, (b)->nbits = nbits)
/* At least n bits in the reader (padding counts: it is what libjpeg would read there). A
 * fast lookup needs FAST_BITS; anything else, 31 (a 16-bit code and 15 magnitude bits). */
#define ENSURE_BITS(b, n)                                                                          \
    do {                                                                                           \
        if (nbits < (n)) {                                                                         \
            BITS_SAVE(b);                                                                          \
            refill(b);                                                                             \
            acc = (b)->acc;                                                                        \
            nbits = (b)->nbits;                                                                    \
        }                                                                                          \
    } while (0)
#define ENSURE_31_BITS(b) ENSURE_BITS(b, 32)
#define PEEK(n) ((unsigned)(acc >> (64 - (n))))
#define CONSUME(n) (acc <<= (n), nbits -= (n))


/* A symbol into sym; sym = -1 for a code the table does not have (libjpeg: JWRN_HUFF_BAD_CODE).
 * Needs 16 bits in the reader. */
#define DECODE_SYMBOL(t, sym)                                                                      \
    do {                                                                                           \
        unsigned e_ = (t)->fast[PEEK(FAST_BITS)];                                                  \
        if (e_) {                                                                                  \
            CONSUME((int)(e_ >> 8));                                                               \
            sym = (int)(e_ & 0xFF);                                                                \
        } else {                                                                                   \
            sym = -1;                                                                              \
            for (int l_ = FAST_BITS + 1; l_ <= 16; l_++) {                                         \
                int32_t code_ = (int32_t)PEEK(l_);                                                 \
                if (code_ <= (t)->maxcode[l_]) {                                                   \
                    CONSUME(l_);                                                                   \
                    sym = (t)->symbols[code_ + (t)->valoffset[l_]];                                \
                    break;                                                                         \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* Where the segment's marker starts, once its data is used up exactly: no padding consumed
 * and no whole byte left over (libjpeg counts those as extraneous bytes at a restart; a clean
 * encoder leaves none at the end of a scan either). (size_t)-1 when that is not the case. */
static size_t segment_end(Bits *b) {
    if (b->nbits < b->padded || b->nbits - b->padded >= 8) return (size_t)-1;
    if (!b->at_marker) {
        if (b->pos >= b->len) return b->len; /* the end: a marker only if EOI follows */
        if (b->buf[b->pos] != 0xFF) return (size_t)-1;
        size_t q = b->pos + 1;
        while (q < b->len && b->buf[q] == 0xFF) q++;
        if (q >= b->len || b->buf[q] == 0x00) return (size_t)-1;
        return b->pos;
    }
    return b->marker_pos; /* the data's end when no marker came: see marker_at's caller */
}

/* The marker code at pos (a run of 0xFF, then the code), and the position after it. */
static int marker_at(const uint8_t *buf, size_t len, size_t pos, size_t *after) {
    if (pos >= len || buf[pos] != 0xFF) return -1;
    size_t q = pos + 1;
    while (q < len && buf[q] == 0xFF) q++;
    if (q >= len || buf[q] == 0x00) return -1;
    *after = q + 1;
    return buf[q];
}

/* ---- scans --------------------------------------------------------------------------------- */
typedef struct {
    int n;
    int comps[SPECTRAL_MAX_COMPONENTS]; /* frame indices, in scan order */
    const HuffTable *tables[SPECTRAL_MAX_COMPONENTS];
    int Ss, Se, Al;
    unsigned restart_interval;
    unsigned mcus_per_row, total_mcus;
    int limit_rows;           /* only MCU rows [want_lo, want_hi) are wanted */
    unsigned want_lo, want_hi;
} Scan;

/* At a restart boundary: the interval's data used up exactly, then RSTn with the expected n;
 * the reader restarts after it. libjpeg resynchronises on anything else, with a warning. */
static int take_restart(Bits *b, unsigned *next_rst) {
    size_t at = segment_end(b), after;
    if (at == (size_t)-1) return 0;
    if (marker_at(b->buf, b->len, at, &after) != (int)(0xD0 + (*next_rst & 7))) return 0;
    *next_rst = (*next_rst + 1) & 7;
    bits_start(b, b->buf, b->len, after);
    return 1;
}

/* Whether the restart interval starting at MCU m holds a wanted MCU row. */
static inline int interval_wanted(const Scan *s, unsigned m) {
    if (!s->limit_rows) return 1;
    unsigned first = m / s->mcus_per_row, last = (m + s->restart_interval - 1) / s->mcus_per_row;
    return last >= s->want_lo && first < s->want_hi;
}

/* Past a restart interval's entropy-coded data without decoding it, from its first byte (a
 * restart has just started the reader there): 1 with the reader after the RSTn that ends it,
 * the expected n, or for the scan's last interval at the marker that ends the scan; 0 when
 * another marker comes first (libjpeg then decodes the file and says what is wrong). */
static int skip_interval(Bits *b, unsigned *next_rst, int last) {
    size_t p = b->pos;
    for (;;) {
        const uint8_t *ff = p < b->len ? memchr(b->buf + p, 0xFF, b->len - p) : NULL;
        if (ff == NULL) { /* the data ends: an EOI may follow (spectral_decode decides) */
            if (!last) return 0;
            bits_start(b, b->buf, b->len, b->len);
            return 1;
        }
        size_t at = (size_t)(ff - b->buf), after;
        int marker = marker_at(b->buf, b->len, at, &after);
        if (marker < 0) { /* a stuffed 0xFF 0x00 (fill bytes before it included): data */
            p = at + 1;
            continue;
        }
        int rst = marker >= 0xD0 && marker <= 0xD7;
        if (last) {
            if (rst) return 0;
            bits_start(b, b->buf, b->len, at); /* segment_end finds the marker there */
            return 1;
        }
        if (marker != (int)(0xD0 + (*next_rst & 7))) return 0;
        *next_rst = (*next_rst + 1) & 7;
        bits_start(b, b->buf, b->len, after);
        return 1;
    }
}

/* At the start of a restart interval, MCU *m of the scan, as libjpeg does: after the first
 * interval the previous one's data must end at the expected RSTn, and the reader starts again
 * after it; intervals that hold no wanted row are then skipped unread, moving *m past them
 * (to total_mcus when the scan's end was skipped to). 1, or 0 for a restart libjpeg would not
 * take without a warning. Out of line: it runs once per interval, and the decode loops keep
 * their positions in registers. */
static int begin_interval(Bits *b, const Scan *s, unsigned *m, unsigned *next_rst) {
    if (*m > 0 && !take_restart(b, next_rst)) return 0;
    while (*m < s->total_mcus && !interval_wanted(s, *m)) {
        if (!skip_interval(b, next_rst, *m + s->restart_interval >= s->total_mcus)) return 0;
        *m += s->restart_interval;
    }
    return 1;
}

/* Before the MCU at (row, col) of a scan with restart intervals: every restart_interval MCUs,
 * begin_interval; then reset what a restart resets (the statement RESET) and, when intervals
 * were skipped, move (row, col) past them, or leave the loops at the scan's end. Fails the
 * decode (returns 0) where libjpeg would warn. The reader's bits are the caller's locals. */
#define RESTART_BEFORE_MCU(b, s, row, col, to_go, next_rst, RESET, MOVED)                          \
    do {                                                                                           \
        if ((s)->restart_interval) {                                                               \
            if (to_go) {                                                                           \
                to_go--;                                                                           \
            } else {                                                                               \
                unsigned at_ = (row) * (s)->mcus_per_row + (col), m_ = at_;                        \
                BITS_SAVE(b);                                                                      \
                if (!begin_interval(b, s, &m_, &next_rst)) return 0;                               \
                acc = (b)->acc;                                                                    \
                nbits = (b)->nbits;                                                                \
                to_go = (s)->restart_interval - 1;                                                 \
                RESET;                                                                             \
                if (m_ != at_) {                                                                   \
                    if (m_ >= (s)->total_mcus) goto scan_end;                                      \
                    row = m_ / (s)->mcus_per_row;                                                  \
                    col = m_ % (s)->mcus_per_row;                                                  \
                    MOVED;                                                                         \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    } while (0)

static int decode_dc_first(Bits *b, const Scan *s, const SpectralFrame *f) {
    const unsigned mcus_per_row = s->mcus_per_row, total = s->total_mcus;
    /* The MCU's blocks in coding order: which scan component, and where in the MCU. */
    int nblocks = 0, which[MAX_BLOCKS_IN_MCU];
    unsigned dy[MAX_BLOCKS_IN_MCU], dx[MAX_BLOCKS_IN_MCU], bw[MAX_BLOCKS_IN_MCU],
        bh[MAX_BLOCKS_IN_MCU];
    for (int i = 0; i < s->n; i++) {
        int c = s->comps[i];
        unsigned h = s->n == 1 ? 1u : (unsigned)f->h[c], v = s->n == 1 ? 1u : (unsigned)f->v[c];
        for (unsigned y = 0; y < v; y++)
            for (unsigned x = 0; x < h; x++) {
                which[nblocks] = i;
                dy[nblocks] = y;
                dx[nblocks] = x;
                bw[nblocks] = h;
                bh[nblocks] = v;
                nblocks++;
            }
    }
    int32_t pred[SPECTRAL_MAX_COMPONENTS] = {0};
    int16_t scratch = 0;
    unsigned to_go = 0, next_rst = 0;
    const unsigned mcu_rows = total / mcus_per_row;
    const int Al = s->Al;
    BITS_LOAD(b);
    for (unsigned my = 0; my < mcu_rows; my++) {
        for (unsigned mx = 0; mx < mcus_per_row; mx++) {
            RESTART_BEFORE_MCU(b, s, my, mx, to_go, next_rst, memset(pred, 0, sizeof(pred)),
                               (void)0);
            for (int j = 0; j < nblocks; j++) {
                int i = which[j];
                ENSURE_BITS(b, FAST_BITS);
                int32_t fast = s->tables[i]->fast_dc[PEEK(FAST_BITS)];
                if (fast) {
                    CONSUME(fast & 31);
                    pred[i] += fast >> 16;
                } else {
                    ENSURE_31_BITS(b);
                    int t;
                    DECODE_SYMBOL(s->tables[i], t);
                    if (t < 0) return 0;
                    if (t) {
                        pred[i] += extend_bits((int32_t)PEEK(t), t);
                        CONSUME(t);
                    }
                }
                /* libjpeg errors where the sum would overflow an int; far before that, no
                 * real file gets here */
                if (pred[i] > (1 << 28) || pred[i] < -(1 << 28)) return 0;
                const SpectralSink *sink = &f->sinks[s->comps[i]];
                unsigned r = my * bh[j] + dy[j], col = mx * bw[j] + dx[j];
                int16_t *dst = &scratch;
                if (r < sink->rows && col < sink->cols && sink->offset[0] >= 0)
                    dst = sink->base + r * sink->row_stride + col * sink->block_stride +
                          sink->offset[0];
                *dst = (int16_t)(uint16_t)((uint32_t)pred[i] << Al);
            }
        }
    }
scan_end:
    BITS_SAVE(b);
    return 1;
}

/* Inlined twice, with Al a constant 0 (every scan freqpipe writes) and as it comes: a shift by
 * a variable count costs a register the loop cannot spare. */
static inline __attribute__((always_inline)) int ac_first(Bits *b, const Scan *s,
                                                          const SpectralFrame *f, const int Al) {
    int c = s->comps[0];
    const HuffTable *t = s->tables[0];
    unsigned cols = f->width_in_blocks[c], rows = f->height_in_blocks[c];
    unsigned eobrun = 0, to_go = 0, next_rst = 0;
    const int Ss = s->Ss, Se = s->Se;
    const SpectralSink *sink = &f->sinks[c];
    /* by zigzag rank; a coefficient not kept goes to a scratch block, and so does one a
     * corrupt run puts past the band (up to 15 past it), which then refuses the scan */
    int8_t at[64 + 16];
    for (int k = 0; k < 64 + 16; k++) at[k] = k <= Se ? sink->offset[natural_order[k]] : -1;
    int16_t scratch[64];
    int past_band = 0;
    int keep_rows = rows <= sink->rows && cols <= sink->cols;
    BITS_LOAD(b);
    for (unsigned r = 0; r < rows; r++) {
        int16_t *row = keep_rows ? sink->base + r * sink->row_stride : NULL;
        for (unsigned col = 0; col < cols; col++) {
            RESTART_BEFORE_MCU(b, s, r, col, to_go, next_rst, eobrun = 0,
                               row = keep_rows ? sink->base + r * sink->row_stride : NULL);
            if (eobrun) {
                eobrun--;
                continue;
            }
            /* kept or not, chosen by index: a branch here mispredicts on every gap between
             * the frequencies kept */
            int16_t *target[2] = {scratch, row ? row + col * sink->block_stride : scratch};
            for (int k = Ss; k <= Se;) {
                ENSURE_BITS(b, FAST_BITS);
                int32_t fast = t->fast_ac[PEEK(FAST_BITS)];
                if (fast) {
                    CONSUME(fast & 31);
                    if (fast & FAST_EOB) {
                        eobrun = (unsigned)fast >> 16;
                        break;
                    }
                    k += (fast >> 5) & 15;
                    past_band |= k > Se;
                    int o = at[k];
                    target[o >= 0][o & 63] = (int16_t)(uint16_t)((uint32_t)(fast >> 16) << Al);
                    k++;
                    continue;
                }
                ENSURE_31_BITS(b);
                int rs;
                DECODE_SYMBOL(t, rs);
                if (rs < 0) return 0;
                int run = rs >> 4, size = rs & 15;
                if (size) {
                    k += run;
                    past_band |= k > Se;
                    int32_t v = extend_bits((int32_t)PEEK(size), size);
                    CONSUME(size);
                    int o = at[k];
                    target[o >= 0][o & 63] = (int16_t)(uint16_t)((uint32_t)v << Al);
                    k++;
                } else if (run == 15) {
                    k += 16;
                } else {
                    eobrun = 1u << run;
                    if (run) {
                        eobrun += PEEK(run);
                        CONSUME(run);
                    }
                    eobrun--;
                    break;
                }
            }
        }
    }
scan_end:
    BITS_SAVE(b);
    /* libjpeg would have stored a coefficient past the band: not a file we vouch for */
    return !past_band;
}

static int decode_ac_first(Bits *b, const Scan *s, const SpectralFrame *f) {
    return s->Al == 0 ? ac_first(b, s, f, 0) : ac_first(b, s, f, s->Al);
}

/* ---- the marker walk ----------------------------------------------------------------------- */

/* DHT: libjpeg's get_dht checks, then the raw tables (built per scan, as libjpeg does). */
static int read_dht(const uint8_t *seg, size_t n, HuffSpec dc[4], HuffSpec ac[4]) {
    while (n > 0) {
        if (n < 17) return 0;
        int index = seg[0];
        int count = 0;
        for (int l = 1; l <= 16; l++) count += seg[l];
        if (count > 256 || (size_t)count > n - 17) return 0;
        HuffSpec *spec;
        if (index & 0x10) {
            index -= 0x10;
            if (index < 0 || index > 3) return 0;
            spec = &ac[index];
        } else {
            if (index > 3) return 0;
            spec = &dc[index];
        }
        spec->defined = 1;
        spec->counts[0] = 0;
        memcpy(spec->counts + 1, seg + 1, 16);
        memset(spec->symbols, 0, sizeof(spec->symbols));
        memcpy(spec->symbols, seg + 17, (size_t)count);
        seg += 17 + count;
        n -= 17 + (size_t)count;
    }
    return 1;
}

int spectral_decode(const unsigned char *buf, size_t len, const SpectralFrame *f, int *scans) {
    HuffSpec dc[4], ac[4];
    HuffTable tables[SPECTRAL_MAX_COMPONENTS];
    signed char bits[SPECTRAL_MAX_COMPONENTS][64];
    memset(dc, 0, sizeof(dc));
    memset(ac, 0, sizeof(ac));
    memset(bits, -1, sizeof(bits));
    unsigned restart_interval = 0;
    unsigned long long total_blocks = 0, visits = 0;
    for (int c = 0; c < f->ncomp; c++)
        total_blocks += (unsigned long long)f->width_in_blocks[c] * f->height_in_blocks[c];
    int nscans = 0;
    Bits b;
    if (len < 2 || buf[0] != 0xFF || buf[1] != 0xD8) return 0;
    size_t pos = 2;
    for (;;) {
        size_t after;
        if (pos == len && f->eoi_at_end) break; /* the EOI after a prefix */
        int marker = marker_at(buf, len, pos, &after);
        if (marker < 0) return 0; /* garbage between segments, or no EOI */
        if (marker == 0xD9) break;
        if ((marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) { /* stray RSTn, TEM */
            pos = after;
            continue;
        }
        if (after + 2 > len) return 0;
        size_t seglen = ((size_t)buf[after] << 8) | buf[after + 1];
        if (seglen < 2 || after + seglen > len) return 0;
        const uint8_t *seg = buf + after + 2;
        size_t n = seglen - 2;
        size_t next = after + seglen;
        if (marker == 0xC4) {
            if (!read_dht(seg, n, dc, ac)) return 0;
        } else if (marker == 0xDD) {
            if (n != 2) return 0;
            restart_interval = ((unsigned)seg[0] << 8) | seg[1];
        } else if (marker == 0xDB || (marker >= 0xC0 && marker <= 0xCF)) {
            /* the frame and its tables, read and checked by libjpeg; after a scan they would
             * redefine them (or be a second frame): libjpeg's business */
            if (nscans > 0) return 0;
        } else if (marker == 0xDA) {
            if (++nscans > f->max_scans && f->max_scans > 0) return 0;
            int ns = n >= 1 ? seg[0] : 0;
            if (ns < 1 || ns > SPECTRAL_MAX_COMPONENTS || n != (size_t)(4 + 2 * ns)) return 0;
            Scan s;
            s.n = ns;
            const uint8_t *tail = seg + 1 + 2 * ns;
            s.Ss = tail[0];
            s.Se = tail[1];
            int Ah = tail[2] >> 4;
            s.Al = tail[2] & 15;
            s.restart_interval = restart_interval;
            int is_dc = s.Ss == 0;
            if (Ah != 0) return 0; /* a refinement scan: libjpeg's */
            if (is_dc ? s.Se != 0 : (s.Ss > s.Se || s.Se > 63 || ns != 1)) return 0;
            if (s.Al > MAX_AL) return 0;
            int blocks_in_mcu = 0;
            for (int i = 0; i < ns; i++) {
                int id = seg[1 + 2 * i], found = -1;
                for (int c = 0; c < f->ncomp; c++)
                    if (f->ids[c] == id) found = c;
                for (int j = 0; j < i; j++)
                    if (s.comps[j] == found) found = -1;
                if (found < 0 || !f->quant_known[found]) return 0; /* libjpeg: JERR_NO_QUANT_TABLE */
                s.comps[i] = found;
                int th = is_dc ? seg[2 + 2 * i] >> 4 : seg[2 + 2 * i] & 15;
                if (th > 3 || !build_table(is_dc ? &dc[th] : &ac[th], is_dc, &tables[i]))
                    return 0;
                s.tables[i] = &tables[i];
                blocks_in_mcu += ns == 1 ? 1 : f->h[found] * f->v[found];
                /* the progression libjpeg accepts without a warning, and our own refusal of
                 * a coefficient sent twice (check_scan in _native.c) */
                if (!is_dc && bits[found][0] < 0) return 0;
                for (int k = s.Ss; k <= s.Se; k++) {
                    if (bits[found][k] >= 0) return 0;
                    bits[found][k] = (signed char)s.Al;
                }
                visits += (unsigned long long)f->width_in_blocks[found] * f->height_in_blocks[found];
            }
            if (blocks_in_mcu > MAX_BLOCKS_IN_MCU) return 0;
            /* the scan's MCU grid, and the MCU rows that hold a wanted block row */
            s.limit_rows = f->limit_rows;
            if (ns == 1) {
                int c = s.comps[0];
                s.mcus_per_row = f->width_in_blocks[c];
                s.total_mcus = s.mcus_per_row * f->height_in_blocks[c];
                s.want_lo = f->row_start[c];
                s.want_hi = f->row_stop[c];
            } else {
                unsigned mcu_w = 8u * (unsigned)f->max_h, mcu_h = 8u * (unsigned)f->max_v;
                s.mcus_per_row = (f->image_width + mcu_w - 1) / mcu_w;
                s.total_mcus = s.mcus_per_row * ((f->image_height + mcu_h - 1) / mcu_h);
                s.want_lo = ~0u;
                s.want_hi = 0;
                for (int i = 0; i < ns; i++) {
                    int c = s.comps[i];
                    unsigned v = (unsigned)f->v[c], lo = f->row_start[c] / v,
                             hi = (f->row_stop[c] + v - 1) / v;
                    if (lo < s.want_lo) s.want_lo = lo;
                    if (hi > s.want_hi) s.want_hi = hi;
                }
            }
            if (f->max_passes > 0 && visits > (unsigned long long)f->max_passes * total_blocks)
                return 0;
            bits_start(&b, buf, len, next);
            if (!(is_dc ? decode_dc_first(&b, &s, f) : decode_ac_first(&b, &s, f))) return 0;
            size_t end = segment_end(&b);
            if (end == (size_t)-1) return 0;
            pos = end;
            continue;
        } else if (!((marker >= 0xE0 && marker <= 0xEF) || marker == 0xFE)) {
            return 0; /* DNL, DAC, reserved markers */
        }
        pos = next;
    }
    *scans = nscans;
    return nscans > 0;
}
