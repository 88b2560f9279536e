/*
 * An entropy decoder for the progressive JPEGs freqpipe writes: spectral selection only (every
 * scan a first scan, Ah = 0), Huffman coded. libjpeg-turbo's progressive decoder takes about
 * twice as long per byte as its baseline one, which ate the whole gain of reading a prefix;
 * this one decodes those scans at baseline speed or better.
 *
 * It is an optimisation, never a second opinion: it accepts only files it decodes exactly as
 * libjpeg does without a single warning, and on anything else (a refinement scan, a bad code,
 * data ending early, garbage between segments, a table it does not know, a limit reached) it
 * returns 0 having promised nothing, and the caller lets libjpeg decode the file from the
 * header on, with libjpeg's own warnings and errors. The caller has read the header with
 * libjpeg (so the frame is known to be valid) and owns the coefficient arrays.
 */
#ifndef FREQPIPE_SPECTRAL_H
#define FREQPIPE_SPECTRAL_H

#include <stddef.h>
#include <stdint.h>

#define SPECTRAL_MAX_COMPONENTS 4

/* Where a component's coefficients go: block (r, c) at base + r * row_stride + c * block_stride,
 * natural-order frequency k of it at offset[k] from there (-1: not kept). Blocks at or past
 * (rows, cols) are not kept either (MCU padding, when the caller keeps only the image's). Two
 * uses: libjpeg's layout (64 per block, every block), or the caller's planes of only the
 * frequencies it asked for, so nothing else is allocated, zeroed or copied. */
typedef struct {
    int16_t *base;
    size_t row_stride, block_stride; /* in coefficients */
    unsigned rows, cols;
    int8_t offset[64];
} SpectralSink;

typedef struct {
    int ncomp;
    int ids[SPECTRAL_MAX_COMPONENTS]; /* component ids of the frame, in frame order */
    int h[SPECTRAL_MAX_COMPONENTS], v[SPECTRAL_MAX_COMPONENTS];
    unsigned width_in_blocks[SPECTRAL_MAX_COMPONENTS], height_in_blocks[SPECTRAL_MAX_COMPONENTS];
    int quant_known[SPECTRAL_MAX_COMPONENTS]; /* the component's DQT slot is defined */
    int max_h, max_v;
    unsigned image_width, image_height;
    SpectralSink sinks[SPECTRAL_MAX_COMPONENTS]; /* zeroed by the caller */
    /* limit_rows: only block rows [row_start[c], row_stop[c]) of each component are wanted.
     * A restart interval that holds none of a scan's wanted rows is skipped unread (to the
     * RSTn that ends it): nothing of it is decoded, checked or stored. Rows outside are then
     * unspecified (what the sinks held). Without restart markers every row is decoded. */
    int limit_rows;
    unsigned row_start[SPECTRAL_MAX_COMPONENTS], row_stop[SPECTRAL_MAX_COMPONENTS];
    int eoi_at_end; /* the data is a prefix cut at a scan boundary: an EOI follows it */
    int max_scans;  /* > 0: more scans than this is libjpeg's to refuse */
    int max_passes; /* > 0: scans walking more than this many passes over the blocks, likewise */
} SpectralFrame;

/* 1: every scan up to EOI decoded into frame->sinks, *scans set; 0: libjpeg must decode. */
int spectral_decode(const unsigned char *buf, size_t len, const SpectralFrame *frame, int *scans);

#endif
