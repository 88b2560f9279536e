// Coefficient path (DESIGN data flow): quantised int16 / int8 selected channels + per-image quant
// values -> dequantised, normalised float32 / float16, after the host-to-device copy.
//
// out[n, c, y, x] = q * quant[n, c] * scale[c] + bias[c], with scale = 1/std, bias = -mean/std
// folded on the host. Luma channels c < n_luma come from `luma` (n, n_luma, h, w); the others from
// `chroma` (n, n_chroma, hc, wc) with each chroma block repeated ry x rx times (4:2:0 chroma on
// the luma block grid, the DCTNet layout). One thread writes VEC consecutive elements of a row;
// VEC = 8 moves 16-byte (int16) or 8-byte (int8) loads and 16 / 32-byte stores. No barriers.
#include "common.cuh"

template <typename T, int VEC> struct fp_vec_load;
template <> struct fp_vec_load<short, 8> {
    static __device__ __forceinline__ void run(const short* p, float* v) {
        const uint4 w = *(const uint4*)p;
        const unsigned int words[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            v[2 * e] = (float)(short)(words[e] & 0xffffu);
            v[2 * e + 1] = (float)(short)(words[e] >> 16);
        }
    }
};
template <> struct fp_vec_load<signed char, 8> {
    static __device__ __forceinline__ void run(const signed char* p, float* v) {
        const uint2 w = *(const uint2*)p;
        const unsigned int words[2] = {w.x, w.y};
#pragma unroll
        for (int e = 0; e < 8; ++e) {
            v[e] = (float)(signed char)((words[e >> 2] >> (8 * (e & 3))) & 0xffu);
        }
    }
};

template <typename T, int VEC> struct fp_vec_store;
template <> struct fp_vec_store<float, 8> {
    static __device__ __forceinline__ void run(float* p, const float* v) {
        ((float4*)p)[0] = float4{v[0], v[1], v[2], v[3]};
        ((float4*)p)[1] = float4{v[4], v[5], v[6], v[7]};
    }
};
template <> struct fp_vec_store<fp_half, 8> {
    static __device__ __forceinline__ void run(fp_half* p, const float* v) {
        unsigned int w[4];
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            w[e] = (unsigned int)fp_f2h(v[2 * e]).bits |
                   ((unsigned int)fp_f2h(v[2 * e + 1]).bits << 16);
        }
        *(uint4*)p = uint4{w[0], w[1], w[2], w[3]};
    }
};

// VEC > 1 needs w % VEC == 0 and VEC-element-aligned pointers (checked on the host).
template <typename TIn, typename TOut, int VEC>
__device__ __forceinline__ void fp_dequant(const TIn* __restrict__ luma,
                                           const TIn* __restrict__ chroma,
                                           const float* __restrict__ quant,
                                           const float* __restrict__ scale,
                                           const float* __restrict__ bias, TOut* __restrict__ dst,
                                           int n_img, int n_luma, int n_chroma, int h, int w,
                                           int hc, int wc, int ry, int rx) {
    const long long t = fp_thread_index();
    const int groups = w / VEC;
    const int n_chan = n_luma + n_chroma;
    if (t >= (long long)n_img * n_chan * h * groups) {
        return;
    }
    const int x0 = (int)(t % groups) * VEC;
    const long long row = t / groups;  // (n * n_chan + c) * h + y
    const int y = (int)(row % h);
    const long long nc = row / h;
    const int c = (int)(nc % n_chan);
    const long long n = nc / n_chan;
    const float f = quant[nc] * scale[c];
    const float b = bias[c];
    float v[VEC];
    if (c < n_luma) {
        const TIn* src = luma + ((n * n_luma + c) * h + y) * w + x0;
        if (VEC > 1) {
            fp_vec_load<TIn, VEC>::run(src, v);
        } else {
            v[0] = fp_in<float>(src[0]);
        }
    } else {
        const TIn* src = chroma + ((n * n_chroma + (c - n_luma)) * hc + y / ry) * wc;
#pragma unroll
        for (int e = 0; e < VEC; ++e) {
            v[e] = fp_in<float>(src[(x0 + e) / rx]);
        }
    }
#pragma unroll
    for (int e = 0; e < VEC; ++e) {
        v[e] = v[e] * f + b;
    }
    TOut* out = dst + row * w + x0;
    if (VEC > 1) {
        fp_vec_store<TOut, VEC>::run(out, v);
    } else {
        out[0] = fp_out<TOut>(v[0]);
    }
}

// VEC = 1 instantiations need a (never executed) vector specialisation to compile.
template <typename T> struct fp_vec_load<T, 1> {
    static __device__ __forceinline__ void run(const T*, float*) {}
};
template <typename T> struct fp_vec_store<T, 1> {
    static __device__ __forceinline__ void run(T*, const float*) {}
};

#define FP_DEQUANT_ENTRY(NAME, TIN, TOUT, VEC)                                                  \
    extern "C" __global__ void NAME(                                                           \
        const TIN* __restrict__ luma, const TIN* __restrict__ chroma,                         \
        const float* __restrict__ quant, const float* __restrict__ scale,                     \
        const float* __restrict__ bias, TOUT* __restrict__ dst, int n_img, int n_luma,        \
        int n_chroma, int h, int w, int hc, int wc, int ry, int rx) {                         \
        fp_dequant<TIN, TOUT, VEC>(luma, chroma, quant, scale, bias, dst, n_img, n_luma,      \
                                   n_chroma, h, w, hc, wc, ry, rx);                           \
    }

FP_DEQUANT_ENTRY(fp_dequant_i16_f32_v8, short, float, 8)
FP_DEQUANT_ENTRY(fp_dequant_i16_f16_v8, short, fp_half, 8)
FP_DEQUANT_ENTRY(fp_dequant_i8_f32_v8, signed char, float, 8)
FP_DEQUANT_ENTRY(fp_dequant_i8_f16_v8, signed char, fp_half, 8)
FP_DEQUANT_ENTRY(fp_dequant_i16_f32_v1, short, float, 1)
FP_DEQUANT_ENTRY(fp_dequant_i16_f16_v1, short, fp_half, 1)
FP_DEQUANT_ENTRY(fp_dequant_i8_f32_v1, signed char, float, 1)
FP_DEQUANT_ENTRY(fp_dequant_i8_f16_v1, signed char, fp_half, 1)
