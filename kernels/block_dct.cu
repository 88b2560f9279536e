// 8x8 block DCT kernels (conventions §1, §2, §3): the fused RGB -> selected-channel forward pass, its
// inverse back to pixels, and plain per-plane DCT / IDCT behind freqpipe's block_dct dispatch.
//
// One thread owns one 8x8 block (or one row of one block, for the inverse) entirely in
// registers: no shared memory, no barriers, no shuffles, so cpu_shim.h runs this exact source on
// the CPU in CI. Which coefficients are wanted arrives as three 64-bit masks (Y, Cb, Cr): the
// masks are kernel arguments, so every `if (mask >> k & 1)` is warp-uniform and the fully
// unrolled loops index the register arrays with constants only.
#include "common.cuh"

// M[k][n] = c_k cos((2n + 1) k pi / 16), c_0 = sqrt(1/8), c_k = sqrt(2/8).
__constant__ float FP_DCT8F[8][8] = {
    {3.535533906e-01f, 3.535533906e-01f, 3.535533906e-01f, 3.535533906e-01f, 3.535533906e-01f, 3.535533906e-01f, 3.535533906e-01f, 3.535533906e-01f},
    {4.903926402e-01f, 4.157348062e-01f, 2.777851165e-01f, 9.754516101e-02f, -9.754516101e-02f, -2.777851165e-01f, -4.157348062e-01f, -4.903926402e-01f},
    {4.619397663e-01f, 1.913417162e-01f, -1.913417162e-01f, -4.619397663e-01f, -4.619397663e-01f, -1.913417162e-01f, 1.913417162e-01f, 4.619397663e-01f},
    {4.157348062e-01f, -9.754516101e-02f, -4.903926402e-01f, -2.777851165e-01f, 2.777851165e-01f, 4.903926402e-01f, 9.754516101e-02f, -4.157348062e-01f},
    {3.535533906e-01f, -3.535533906e-01f, -3.535533906e-01f, 3.535533906e-01f, 3.535533906e-01f, -3.535533906e-01f, -3.535533906e-01f, 3.535533906e-01f},
    {2.777851165e-01f, -4.903926402e-01f, 9.754516101e-02f, 4.157348062e-01f, -4.157348062e-01f, -9.754516101e-02f, 4.903926402e-01f, -2.777851165e-01f},
    {1.913417162e-01f, -4.619397663e-01f, 4.619397663e-01f, -1.913417162e-01f, -1.913417162e-01f, 4.619397663e-01f, -4.619397663e-01f, 1.913417162e-01f},
    {9.754516101e-02f, -2.777851165e-01f, 4.157348062e-01f, -4.903926402e-01f, 4.903926402e-01f, -4.157348062e-01f, 2.777851165e-01f, -9.754516101e-02f},
};
__constant__ double FP_DCT8D[8][8] = {
    {3.53553390593273786e-01, 3.53553390593273786e-01, 3.53553390593273786e-01, 3.53553390593273786e-01, 3.53553390593273786e-01, 3.53553390593273786e-01, 3.53553390593273786e-01, 3.53553390593273786e-01},
    {4.90392640201615215e-01, 4.15734806151272618e-01, 2.77785116509801144e-01, 9.75451610080641657e-02, -9.75451610080640963e-02, -2.77785116509800978e-01, -4.15734806151272673e-01, -4.90392640201615215e-01},
    {4.61939766255643369e-01, 1.91341716182544919e-01, -1.91341716182544863e-01, -4.61939766255643369e-01, -4.61939766255643425e-01, -1.91341716182545168e-01, 1.91341716182545002e-01, 4.61939766255643258e-01},
    {4.15734806151272618e-01, -9.75451610080640963e-02, -4.90392640201615215e-01, -2.77785116509801089e-01, 2.77785116509800922e-01, 4.90392640201615215e-01, 9.75451610080643877e-02, -4.15734806151272562e-01},
    {3.53553390593273786e-01, -3.53553390593273731e-01, -3.53553390593273842e-01, 3.53553390593273675e-01, 3.53553390593273842e-01, -3.53553390593273342e-01, -3.53553390593273564e-01, 3.53553390593273287e-01},
    {2.77785116509801144e-01, -4.90392640201615215e-01, 9.75451610080641518e-02, 4.15734806151272729e-01, -4.15734806151272562e-01, -9.75451610080640130e-02, 4.90392640201615326e-01, -2.77785116509800756e-01},
    {1.91341716182544919e-01, -4.61939766255643425e-01, 4.61939766255643258e-01, -1.91341716182544946e-01, -1.91341716182545279e-01, 4.61939766255643369e-01, -4.61939766255643203e-01, 1.91341716182544780e-01},
    {9.75451610080641657e-02, -2.77785116509801089e-01, 4.15734806151272729e-01, -4.90392640201615326e-01, 4.90392640201615215e-01, -4.15734806151272507e-01, 2.77785116509800756e-01, -9.75451610080642906e-02},
};

template <typename C> __device__ __forceinline__ C fp_dctm(int k, int n);
template <> __device__ __forceinline__ float fp_dctm<float>(int k, int n) {
    return FP_DCT8F[k][n];
}
template <> __device__ __forceinline__ double fp_dctm<double>(int k, int n) {
    return FP_DCT8D[k][n];
}

// Output k of one separable pass of D = M X M^T (conventions §1): the 8-point DCT,
// sum_n M[k][n] x[n] (INVERSE: its transpose, sum_n M[n][k] x[n]) of x[0], x[stride], ...,
// x[7 stride], accumulated onto init in the order n = 0..7. Every row and column pass below is
// this one sum, so a change to its float operation order reaches them all alike.
template <bool INVERSE, typename C>
__device__ __forceinline__ C fp_dct8_dot(int k, const C* x, int stride, C init) {
    C acc = init;
#pragma unroll
    for (int n = 0; n < 8; ++n) {
        acc += (INVERSE ? fp_dctm<C>(n, k) : fp_dctm<C>(k, n)) * x[n * stride];
    }
    return acc;
}

// Forward DCT of one 8x8 plane block, finished for the coefficients in mask only. sample(i, j)
// gives the level-shifted sample at row i, column j; coefficient k goes to output channel
// ch = chan[k] as out[ch * chan_stride] = coef * scale[ch] + bias[ch] (normalisation).
template <typename TOut, typename Sample>
__device__ __forceinline__ void fp_dct8x8_selected(Sample sample, unsigned long long mask,
                                                   const int* __restrict__ chan,
                                                   const float* __restrict__ scale,
                                                   const float* __restrict__ bias,
                                                   TOut* __restrict__ out, long long chan_stride) {
    // Row pass only for the horizontal frequencies u some selected coefficient uses.
    unsigned int umask = 0;
#pragma unroll
    for (int v = 0; v < 8; ++v) {
        umask |= (unsigned int)(mask >> (8 * v)) & 0xffu;
    }
    float t_row[64];  // t_row[8 i + u]
#pragma unroll
    for (int i = 0; i < 8; ++i) {
        float x[8];
#pragma unroll
        for (int j = 0; j < 8; ++j) {
            x[j] = sample(i, j);
        }
#pragma unroll
        for (int u = 0; u < 8; ++u) {
            t_row[8 * i + u] = (umask >> u & 1u) ? fp_dct8_dot<false>(u, x, 1, 0.0f) : 0.0f;
        }
    }
#pragma unroll
    for (int k = 0; k < 64; ++k) {
        if (mask >> k & 1ull) {
            const float coef = fp_dct8_dot<false>(k >> 3, t_row + (k & 7), 8, 0.0f);
            const int ch = chan[k];
            out[ch * chan_stride] = fp_out<TOut>(coef * scale[ch] + bias[ch]);
        }
    }
}

#define FP_LAYOUT_NHWC 0    // contiguous (N, H, W, 3), rows 8-byte aligned: 3 x 8-byte loads a row
#define FP_LAYOUT_NCHW 1    // contiguous (N, 3, H, W), rows 8-byte aligned: 1 x 8-byte load a row
#define FP_LAYOUT_STRIDED 2 // anything else: byte loads through the strides

// Byte (plane p, row i, column j) of the 192 packed pixel bytes a thread holds.
template <int LAYOUT>
__device__ __forceinline__ float fp_pixel(const unsigned int* raw, int p, int i, int j) {
    const int b = (LAYOUT == FP_LAYOUT_NHWC) ? (i * 24 + j * 3 + p) : (p * 64 + i * 8 + j);
    return (float)((raw[b >> 2] >> ((b & 3) * 8)) & 0xffu);
}

// Level-shifted sample of plane p (0 Y, 1 Cb, 2 Cr) at (i, j). conventions §2 colour; the +128 chroma
// offset cancels against the level shift. With round_ycc the YCbCr values are rounded and
// clipped to 8 bits first, as an encoder or a uint8 rgb_to_ycbcr would.
template <int LAYOUT, bool YCC_IN>
__device__ __forceinline__ float fp_plane_sample(const unsigned int* raw, int p, int i, int j,
                                                 int round_ycc) {
    if (YCC_IN) {
        return fp_pixel<LAYOUT>(raw, p, i, j) - 128.0f;
    }
    const float r = fp_pixel<LAYOUT>(raw, 0, i, j);
    const float g = fp_pixel<LAYOUT>(raw, 1, i, j);
    const float b = fp_pixel<LAYOUT>(raw, 2, i, j);
    float v;
    if (p == 0) {
        v = 0.299f * r + 0.587f * g + 0.114f * b;
    } else if (p == 1) {
        v = -0.168736f * r - 0.331264f * g + 0.5f * b + 128.0f;
    } else {
        v = 0.5f * r - 0.418688f * g - 0.081312f * b + 128.0f;
    }
    if (round_ycc) {
        v = fp_clamp(rintf(v), 0.0f, 255.0f);
    }
    return v - 128.0f;
}

// Fused forward pass: 8-bit image -> YCbCr -> level shift -> DCT -> selected channels, planar.
// dst is (n_img, n_chan, hb, wb); chan[64 p + k] is the output channel of coefficient k of plane p
// (read only where its mask bit is set); out = coef * scale[ch] + bias[ch] (normalisation).
template <typename TOut, int LAYOUT, bool YCC_IN>
__device__ __forceinline__ void fp_fused_dct(
    const unsigned char* __restrict__ src, TOut* __restrict__ dst, int n_img, int hb, int wb,
    long long s_n, long long s_c, long long s_h, long long s_w, unsigned long long mask_y,
    unsigned long long mask_cb, unsigned long long mask_cr, const int* __restrict__ chan,
    const float* __restrict__ scale, const float* __restrict__ bias, int n_chan, int round_ycc) {
    const long long t = fp_thread_index();
    if (t >= (long long)n_img * hb * wb) {
        return;
    }
    const int bx = (int)(t % wb);
    const int by = (int)((t / wb) % hb);
    const long long n = t / ((long long)wb * hb);
    const unsigned char* base = src + n * s_n + 8 * by * s_h + 8 * bx * s_w;

    // All 192 bytes are requested before any arithmetic so that 24 loads are in flight.
    unsigned int raw[48];
    if (LAYOUT == FP_LAYOUT_NHWC) {
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            const uint2* row = (const uint2*)(base + i * s_h);
#pragma unroll
            for (int q = 0; q < 3; ++q) {
                const uint2 v = row[q];
                raw[i * 6 + 2 * q] = v.x;
                raw[i * 6 + 2 * q + 1] = v.y;
            }
        }
    } else if (LAYOUT == FP_LAYOUT_NCHW) {
#pragma unroll
        for (int p = 0; p < 3; ++p) {
#pragma unroll
            for (int i = 0; i < 8; ++i) {
                const uint2 v = *(const uint2*)(base + p * s_c + i * s_h);
                raw[p * 16 + i * 2] = v.x;
                raw[p * 16 + i * 2 + 1] = v.y;
            }
        }
    } else {
#pragma unroll
        for (int w = 0; w < 48; ++w) {
            unsigned int word = 0;
#pragma unroll
            for (int q = 0; q < 4; ++q) {
                const int b = w * 4 + q;
                const int p = b >> 6, i = (b >> 3) & 7, j = b & 7;
                word |= (unsigned int)base[p * s_c + i * s_h + j * s_w] << (8 * q);
            }
            raw[w] = word;
        }
    }

    TOut* out = dst + (n * n_chan * hb + by) * wb + bx;
    const long long chan_stride = (long long)hb * wb;
    const unsigned long long masks[3] = {mask_y, mask_cb, mask_cr};
#pragma unroll
    for (int p = 0; p < 3; ++p) {
        if (masks[p] == 0ull) {
            continue;
        }
        fp_dct8x8_selected<TOut>(
            [&](int i, int j) { return fp_plane_sample<LAYOUT, YCC_IN>(raw, p, i, j, round_ycc); },
            masks[p], chan + 64 * p, scale, bias, out, chan_stride);
    }
}

#define FP_FUSED_DCT_ENTRY(NAME, TOUT, LAYOUT, YCC_IN)                                          \
    extern "C" __global__ void NAME(                                                           \
        const unsigned char* __restrict__ src, TOUT* __restrict__ dst, int n_img, int hb,     \
        int wb, long long s_n, long long s_c, long long s_h, long long s_w,                   \
        unsigned long long mask_y, unsigned long long mask_cb, unsigned long long mask_cr,    \
        const int* __restrict__ chan, const float* __restrict__ scale,                        \
        const float* __restrict__ bias, int n_chan, int round_ycc) {                          \
        fp_fused_dct<TOUT, LAYOUT, YCC_IN>(src, dst, n_img, hb, wb, s_n, s_c, s_h, s_w,       \
                                           mask_y, mask_cb, mask_cr, chan, scale, bias,       \
                                           n_chan, round_ycc);                                \
    }

FP_FUSED_DCT_ENTRY(fp_fused_dct_rgb_nhwc_f32, float, FP_LAYOUT_NHWC, false)
FP_FUSED_DCT_ENTRY(fp_fused_dct_rgb_nchw_f32, float, FP_LAYOUT_NCHW, false)
FP_FUSED_DCT_ENTRY(fp_fused_dct_rgb_strided_f32, float, FP_LAYOUT_STRIDED, false)
FP_FUSED_DCT_ENTRY(fp_fused_dct_ycc_nhwc_f32, float, FP_LAYOUT_NHWC, true)
FP_FUSED_DCT_ENTRY(fp_fused_dct_ycc_nchw_f32, float, FP_LAYOUT_NCHW, true)
FP_FUSED_DCT_ENTRY(fp_fused_dct_ycc_strided_f32, float, FP_LAYOUT_STRIDED, true)
FP_FUSED_DCT_ENTRY(fp_fused_dct_rgb_nhwc_f16, fp_half, FP_LAYOUT_NHWC, false)
FP_FUSED_DCT_ENTRY(fp_fused_dct_rgb_nchw_f16, fp_half, FP_LAYOUT_NCHW, false)
FP_FUSED_DCT_ENTRY(fp_fused_dct_rgb_strided_f16, fp_half, FP_LAYOUT_STRIDED, false)
FP_FUSED_DCT_ENTRY(fp_fused_dct_ycc_nhwc_f16, fp_half, FP_LAYOUT_NHWC, true)
FP_FUSED_DCT_ENTRY(fp_fused_dct_ycc_nchw_f16, fp_half, FP_LAYOUT_NCHW, true)
FP_FUSED_DCT_ENTRY(fp_fused_dct_ycc_strided_f16, fp_half, FP_LAYOUT_STRIDED, true)

// Fused forward pass for 4:2:0 chroma kept on its own grid ("separate"): one thread per 16x16
// pixel area = one 8x8 block of each half-resolution chroma plane. Chroma samples are the mean
// of 2x2 full-resolution samples (as a JPEG encoder's h2v2 downsampling, without its integer
// rounding). dst is (n_img, n_chan, hb, wb) with hb, wb the chroma block grid; only Cb/Cr masks.
template <typename TOut, bool YCC_IN>
__device__ __forceinline__ void fp_fused_dct_chroma420(
    const unsigned char* __restrict__ src, TOut* __restrict__ dst, int n_img, int hb, int wb,
    long long s_n, long long s_c, long long s_h, long long s_w, unsigned long long mask_cb,
    unsigned long long mask_cr, const int* __restrict__ chan, const float* __restrict__ scale,
    const float* __restrict__ bias, int n_chan, int round_ycc) {
    const long long t = fp_thread_index();
    if (t >= (long long)n_img * hb * wb) {
        return;
    }
    const int bx = (int)(t % wb);
    const int by = (int)((t / wb) % hb);
    const long long n = t / ((long long)wb * hb);
    const unsigned char* base = src + n * s_n + 16 * by * s_h + 16 * bx * s_w;
    TOut* out = dst + (n * n_chan * hb + by) * wb + bx;
    const long long chan_stride = (long long)hb * wb;
    const unsigned long long masks[2] = {mask_cb, mask_cr};
#pragma unroll
    for (int pc = 0; pc < 2; ++pc) {
        if (masks[pc] == 0ull) {
            continue;
        }
        const auto sample = [&](int i, int j) {
            float acc = 0.0f;
#pragma unroll
            for (int q = 0; q < 4; ++q) {
                const unsigned char* px =
                    base + (2 * i + (q >> 1)) * s_h + (2 * j + (q & 1)) * s_w;
                float v;
                if (YCC_IN) {
                    v = (float)px[(1 + pc) * s_c];
                } else {
                    const float r = px[0], g = px[s_c], b = px[2 * s_c];
                    v = pc == 0 ? -0.168736f * r - 0.331264f * g + 0.5f * b + 128.0f
                                : 0.5f * r - 0.418688f * g - 0.081312f * b + 128.0f;
                    if (round_ycc) {
                        v = fp_clamp(rintf(v), 0.0f, 255.0f);
                    }
                }
                acc += v;
            }
            return 0.25f * acc - 128.0f;
        };
        fp_dct8x8_selected<TOut>(sample, masks[pc], chan + 64 * (1 + pc), scale, bias, out,
                                 chan_stride);
    }
}

#define FP_FUSED_DCT420_ENTRY(NAME, TOUT, YCC_IN)                                               \
    extern "C" __global__ void NAME(                                                           \
        const unsigned char* __restrict__ src, TOUT* __restrict__ dst, int n_img, int hb,     \
        int wb, long long s_n, long long s_c, long long s_h, long long s_w,                   \
        unsigned long long mask_cb, unsigned long long mask_cr, const int* __restrict__ chan, \
        const float* __restrict__ scale, const float* __restrict__ bias, int n_chan,          \
        int round_ycc) {                                                                       \
        fp_fused_dct_chroma420<TOUT, YCC_IN>(src, dst, n_img, hb, wb, s_n, s_c, s_h, s_w,     \
                                             mask_cb, mask_cr, chan, scale, bias, n_chan,     \
                                             round_ycc);                                      \
    }

FP_FUSED_DCT420_ENTRY(fp_fused_dct420_rgb_f32, float, false)
FP_FUSED_DCT420_ENTRY(fp_fused_dct420_ycc_f32, float, true)
FP_FUSED_DCT420_ENTRY(fp_fused_dct420_rgb_f16, fp_half, false)
FP_FUSED_DCT420_ENTRY(fp_fused_dct420_ycc_f16, fp_half, true)

// Fused inverse: selected channels (zeros elsewhere) -> pixels. One thread per (block, row i):
// i comes from blockIdx.y so the DCT-matrix reads M[v][i] are uniform across a warp, and a
// thread folds each coefficient into its row as it loads it, holding 8 values per plane rather
// than 64. src is (n_img, n_chan, hb, wb); coef = src * scale[ch] + bias[ch] undoes a
// normalisation. dst is addressed through element strides, cropped to H x W.
template <typename TIn, typename TOut, bool RGB_OUT>
__device__ __forceinline__ void fp_fused_idct(
    const TIn* __restrict__ src, TOut* __restrict__ dst, int n_img, int hb, int wb, int n_chan,
    unsigned long long mask_y, unsigned long long mask_cb, unsigned long long mask_cr,
    const int* __restrict__ chan, const float* __restrict__ scale,
    const float* __restrict__ bias, long long d_n, long long d_c, long long d_h, long long d_w,
    int height, int width) {
    const long long t = fp_thread_index();
    if (t >= (long long)n_img * hb * wb) {
        return;
    }
    const int i = blockIdx.y;
    const int bx = (int)(t % wb);
    const int by = (int)((t / wb) % hb);
    const long long n = t / ((long long)wb * hb);
    const int y = 8 * by + i;
    if (y >= height) {
        return;
    }
    const unsigned long long masks[3] = {mask_y, mask_cb, mask_cr};
    float px[3][8];
#pragma unroll
    for (int p = 0; p < 3; ++p) {
        const unsigned long long mask = masks[p];
        float r[8];
#pragma unroll
        for (int u = 0; u < 8; ++u) {
            r[u] = 0.0f;
        }
#pragma unroll
        for (int k = 0; k < 64; ++k) {
            if (mask >> k & 1ull) {
                const int ch = chan[p * 64 + k];
                const float c = fp_in<float>(src[((n * n_chan + ch) * hb + by) * wb + bx]) *
                                    scale[ch] +
                                bias[ch];
                r[k & 7] += fp_dctm<float>(k >> 3, i) * c;
            }
        }
#pragma unroll
        for (int j = 0; j < 8; ++j) {
            px[p][j] = fp_dct8_dot<true>(j, r, 1, 128.0f);
        }
    }
#pragma unroll
    for (int j = 0; j < 8; ++j) {
        const int x = 8 * bx + j;
        if (x < width) {
            float o[3];
            if (RGB_OUT) {
                const float yy = px[0][j], cb = px[1][j] - 128.0f, cr = px[2][j] - 128.0f;
                o[0] = yy + 1.402f * cr;
                o[1] = yy - 0.344136f * cb - 0.714136f * cr;
                o[2] = yy + 1.772f * cb;
            } else {
                o[0] = px[0][j];
                o[1] = px[1][j];
                o[2] = px[2][j];
            }
#pragma unroll
            for (int p = 0; p < 3; ++p) {
                dst[n * d_n + p * d_c + y * d_h + x * d_w] = fp_out<TOut>(o[p]);
            }
        }
    }
}

#define FP_FUSED_IDCT_ENTRY(NAME, TIN, TOUT, RGB_OUT)                                           \
    extern "C" __global__ void NAME(                                                           \
        const TIN* __restrict__ src, TOUT* __restrict__ dst, int n_img, int hb, int wb,        \
        int n_chan, unsigned long long mask_y, unsigned long long mask_cb,                    \
        unsigned long long mask_cr, const int* __restrict__ chan,                             \
        const float* __restrict__ scale, const float* __restrict__ bias, long long d_n,       \
        long long d_c, long long d_h, long long d_w, int height, int width) {                 \
        fp_fused_idct<TIN, TOUT, RGB_OUT>(src, dst, n_img, hb, wb, n_chan, mask_y, mask_cb,   \
                                          mask_cr, chan, scale, bias, d_n, d_c, d_h, d_w,     \
                                          height, width);                                     \
    }

FP_FUSED_IDCT_ENTRY(fp_fused_idct_f32_rgb_u8, float, unsigned char, true)
FP_FUSED_IDCT_ENTRY(fp_fused_idct_f32_rgb_f32, float, float, true)
FP_FUSED_IDCT_ENTRY(fp_fused_idct_f32_ycc_u8, float, unsigned char, false)
FP_FUSED_IDCT_ENTRY(fp_fused_idct_f32_ycc_f32, float, float, false)
FP_FUSED_IDCT_ENTRY(fp_fused_idct_f16_rgb_u8, fp_half, unsigned char, true)
FP_FUSED_IDCT_ENTRY(fp_fused_idct_f16_rgb_f32, fp_half, float, true)
FP_FUSED_IDCT_ENTRY(fp_fused_idct_f16_ycc_u8, fp_half, unsigned char, false)
FP_FUSED_IDCT_ENTRY(fp_fused_idct_f16_ycc_f32, fp_half, float, false)

// Plain per-plane DCT, the GPU body of block_dct: (P, H, W) -> (P, 64, hb, wb) in compute type
// C. Sizes that are not multiples of 8 are edge-replicated (clamped reads), as the reference.
template <typename TIn, typename C>
__device__ __forceinline__ void fp_plane_dct(const TIn* __restrict__ src, C* __restrict__ dst,
                                             long long n_planes, int height, int width, int hb,
                                             int wb, C level_shift) {
    const long long t = fp_thread_index();
    if (t >= n_planes * hb * wb) {
        return;
    }
    const int bx = (int)(t % wb);
    const int by = (int)((t / wb) % hb);
    const long long pl = t / ((long long)wb * hb);
    const TIn* plane = src + pl * height * width;
    C tr[64];  // tr[8 i + u]
#pragma unroll
    for (int i = 0; i < 8; ++i) {
        const int y = (8 * by + i < height) ? 8 * by + i : height - 1;
        C x[8];
#pragma unroll
        for (int j = 0; j < 8; ++j) {
            const int xx = (8 * bx + j < width) ? 8 * bx + j : width - 1;
            x[j] = fp_in<C>(plane[(long long)y * width + xx]) - level_shift;
        }
#pragma unroll
        for (int u = 0; u < 8; ++u) {
            tr[8 * i + u] = fp_dct8_dot<false>(u, x, 1, (C)0);
        }
    }
#pragma unroll
    for (int v = 0; v < 8; ++v) {
#pragma unroll
        for (int u = 0; u < 8; ++u) {
            dst[((pl * 64 + v * 8 + u) * hb + by) * wb + bx] =
                fp_dct8_dot<false>(v, tr + u, 8, (C)0);
        }
    }
}

// Plain per-plane IDCT, the GPU body of block_idct: (P, 64, hb, wb) -> (P, height, width), the
// block grid cropped to height x width.
template <typename TIn, typename C>
__device__ __forceinline__ void fp_plane_idct(const TIn* __restrict__ src, C* __restrict__ dst,
                                              long long n_planes, int hb, int wb, int height,
                                              int width, C level_shift) {
    const long long t = fp_thread_index();
    if (t >= n_planes * hb * wb) {
        return;
    }
    const int bx = (int)(t % wb);
    const int by = (int)((t / wb) % hb);
    const long long pl = t / ((long long)wb * hb);
    C tr[64];  // tr[8 v + j] = sum_u c[v][u] M[u][j]
#pragma unroll
    for (int v = 0; v < 8; ++v) {
        C c[8];
#pragma unroll
        for (int u = 0; u < 8; ++u) {
            c[u] = fp_in<C>(src[((pl * 64 + v * 8 + u) * hb + by) * wb + bx]);
        }
#pragma unroll
        for (int j = 0; j < 8; ++j) {
            tr[8 * v + j] = fp_dct8_dot<true>(j, c, 1, (C)0);
        }
    }
    C* plane = dst + pl * height * width;
#pragma unroll
    for (int i = 0; i < 8; ++i) {
        const int y = 8 * by + i;
#pragma unroll
        for (int j = 0; j < 8; ++j) {
            const int x = 8 * bx + j;
            const C acc = fp_dct8_dot<true>(i, tr + j, 8, level_shift);
            if (y < height && x < width) {
                plane[(long long)y * width + x] = acc;
            }
        }
    }
}

#define FP_PLANE_DCT_ENTRY(NAME, TIN, C)                                                        \
    extern "C" __global__ void NAME(const TIN* __restrict__ src, C* __restrict__ dst,         \
                                    long long n_planes, int height, int width, int hb, int wb, \
                                    C level_shift) {                                           \
        fp_plane_dct<TIN, C>(src, dst, n_planes, height, width, hb, wb, level_shift);         \
    }
#define FP_PLANE_IDCT_ENTRY(NAME, TIN, C)                                                       \
    extern "C" __global__ void NAME(const TIN* __restrict__ src, C* __restrict__ dst,         \
                                    long long n_planes, int hb, int wb, int height, int width, \
                                    C level_shift) {                                           \
        fp_plane_idct<TIN, C>(src, dst, n_planes, hb, wb, height, width, level_shift);        \
    }

FP_PLANE_DCT_ENTRY(fp_plane_dct_u8, unsigned char, float)
FP_PLANE_DCT_ENTRY(fp_plane_dct_i16, short, float)
FP_PLANE_DCT_ENTRY(fp_plane_dct_f16, fp_half, float)
FP_PLANE_DCT_ENTRY(fp_plane_dct_f32, float, float)
FP_PLANE_DCT_ENTRY(fp_plane_dct_f64, double, double)
FP_PLANE_IDCT_ENTRY(fp_plane_idct_i16, short, float)
FP_PLANE_IDCT_ENTRY(fp_plane_idct_f16, fp_half, float)
FP_PLANE_IDCT_ENTRY(fp_plane_idct_f32, float, float)
FP_PLANE_IDCT_ENTRY(fp_plane_idct_f64, double, double)
