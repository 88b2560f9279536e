// 2-D discrete wavelet transform by lifting (conventions §6): haar, bior2.2 (LeGall 5/3), bior4.4
// (CDF 9/7); periodization or reflect (whole-sample symmetric) boundaries; one level per launch.
//
// Single pass, barrier-free: a thread owns P neighbouring output columns of one plane and walks
// down a segment of its rows. For each input row it lifts a window of 2P samples plus a halo
// horizontally, keeps the last LV results in a register ring and lifts those vertically, so
// every input sample is read once (halo aside, from L1) and every output written once. Lifting
// on a window with a halo wide enough equals lifting the whole row, and boundary handling is a
// mapping of out-of-range sample indices (modulo for periodization, mirror for reflect), which
// commutes with lifting for these symmetric filters.
//
// Subband layout is pywt's: cA low/low; cH high along rows (axis -2), low along columns; cV low
// along rows, high along columns; cD high/high. In the interleaved sample grid cA sits at
// (2j, 2i), cV at (2j, 2i + 1), cH at (2j + 1, 2i), cD at (2j + 1, 2i + 1).
#include "common.cuh"

#define FP_HAAR 0
#define FP_BIOR22 1
#define FP_BIOR44 2

#define FP_PERIODIZATION 0
#define FP_REFLECT 1

// Window halos (samples left of the first owned one, right of the last): the reach of the
// lifting steps, forward and inverse.
template <int WAV> struct fp_wavelet;
template <> struct fp_wavelet<FP_HAAR> {
    static const int fwd_left = 0, fwd_right = 0, inv_left = 0, inv_right = 0;
};
template <> struct fp_wavelet<FP_BIOR22> {
    static const int fwd_left = 2, fwd_right = 1, inv_left = 2, inv_right = 2;
};
template <> struct fp_wavelet<FP_BIOR44> {
    static const int fwd_left = 4, fwd_right = 3, inv_left = 4, inv_right = 4;
};

// Output scaling to pywt's normalisation: cA = KS * s, cD = KD * d.
#define FP_SQRT2 1.41421356237309505f
#define FP_CDF97_A (-1.586134342059924f)
#define FP_CDF97_B (-0.052980118572961f)
#define FP_CDF97_G 0.882911075530934f
#define FP_CDF97_E 0.443506852043971f
#define FP_CDF97_K 1.230174104914001f

// w[q] += c * (w[q - 1] + w[q + 1]) for the q of parity PAR that have both neighbours.
template <int L, int PAR>
__device__ __forceinline__ void fp_lift2(float* w, float c) {
#pragma unroll
    for (int q = (PAR == 0 ? 2 : 1); q + 1 < L; q += 2) {
        w[q] += c * (w[q - 1] + w[q + 1]);
    }
}
// w[q] += c * w[q + SIDE] for the q of parity PAR that have that neighbour.
template <int L, int PAR, int SIDE>
__device__ __forceinline__ void fp_lift1(float* w, float c) {
#pragma unroll
    for (int q = PAR; q < L; q += 2) {
        if (q + SIDE >= 0 && q + SIDE < L) {
            w[q] += c * w[q + SIDE];
        }
    }
}
template <int L>
__device__ __forceinline__ void fp_scale(float* w, float ks, float kd) {
#pragma unroll
    for (int q = 0; q < L; ++q) {
        w[q] *= (q & 1) ? kd : ks;
    }
}

// Forward lifting of a window whose first sample has even index (s at even q, d at odd q).
template <int WAV, int L>
__device__ __forceinline__ void fp_lift_forward(float* w) {
    if (WAV == FP_HAAR) {
        fp_lift1<L, 1, -1>(w, -1.0f);  // d = x1 - x0
        fp_lift1<L, 0, 1>(w, 0.5f);    // s = x0 + d / 2 = (x0 + x1) / 2
        fp_scale<L>(w, FP_SQRT2, -1.0f / FP_SQRT2);
    } else if (WAV == FP_BIOR22) {
        fp_lift2<L, 1>(w, -0.5f);
        fp_lift2<L, 0>(w, 0.25f);
        fp_scale<L>(w, FP_SQRT2, -1.0f / FP_SQRT2);
    } else {
        fp_lift2<L, 1>(w, FP_CDF97_A);
        fp_lift2<L, 0>(w, FP_CDF97_B);
        fp_lift2<L, 1>(w, FP_CDF97_G);
        fp_lift2<L, 0>(w, FP_CDF97_E);
        fp_scale<L>(w, FP_SQRT2 / FP_CDF97_K, -FP_CDF97_K / FP_SQRT2);
    }
}

template <int WAV, int L>
__device__ __forceinline__ void fp_lift_inverse(float* w) {
    if (WAV == FP_HAAR) {
        fp_scale<L>(w, 1.0f / FP_SQRT2, -FP_SQRT2);
        fp_lift1<L, 0, 1>(w, -0.5f);
        fp_lift1<L, 1, -1>(w, 1.0f);
    } else if (WAV == FP_BIOR22) {
        fp_scale<L>(w, 1.0f / FP_SQRT2, -FP_SQRT2);
        fp_lift2<L, 0>(w, -0.25f);
        fp_lift2<L, 1>(w, 0.5f);
    } else {
        fp_scale<L>(w, FP_CDF97_K / FP_SQRT2, -FP_SQRT2 / FP_CDF97_K);
        fp_lift2<L, 0>(w, -FP_CDF97_E);
        fp_lift2<L, 1>(w, -FP_CDF97_G);
        fp_lift2<L, 0>(w, -FP_CDF97_B);
        fp_lift2<L, 1>(w, -FP_CDF97_A);
    }
}

// Sample index outside [0, n) -> the index whose value it stands for. Periodization works on
// the even length nv (n, or n + 1 with the last sample repeated, as PyWavelets for odd n);
// reflect mirrors about 0 and n - 1 (x[-1] = x[1], x[n] = x[n - 2]). Both keep the parity of
// the index, so s stays s and d stays d.
template <int MODE>
__device__ __forceinline__ int fp_map(int i, int n, int nv) {
    if (MODE == FP_PERIODIZATION) {
        i %= nv;
        i = i < 0 ? i + nv : i;
        i = i < n ? i : n - 1;
    } else {
        while (i < 0 || i >= n) {
            i = i < 0 ? -i : 2 * (n - 1) - i;
        }
    }
    return i;
}

// Subband lengths along an axis of n samples: ceil(n/2) approximations; the same number of
// details except with reflect on an odd n (the last sample has no odd partner), haar aside.
template <int WAV, int MODE> __device__ __forceinline__ int fp_n_detail(int n) {
    return (MODE == FP_REFLECT && WAV != FP_HAAR) ? n / 2 : (n + 1) / 2;
}

template <int A, int B> struct fp_round_up {
    static const int value = (A + B - 1) / B * B;
};

// Vector width (elements) for the interior window loads: the window start is a multiple of it.
template <int LEFT, int P> struct fp_window_vec {
    static const int g = (LEFT % 4 == 0 && (2 * P) % 4 == 0) ? 4 : ((LEFT % 2 == 0) ? 2 : 1);
    static const int value = g;
};

template <typename T, int VW> struct fp_loadv;
template <typename T> struct fp_loadv<T, 1> {
    static __device__ __forceinline__ void run(const T* p, float* v) { v[0] = fp_in<float>(p[0]); }
};
template <> struct fp_loadv<float, 2> {
    static __device__ __forceinline__ void run(const float* p, float* v) {
        const float2 a = *(const float2*)p;
        v[0] = a.x;
        v[1] = a.y;
    }
};
template <> struct fp_loadv<float, 4> {
    static __device__ __forceinline__ void run(const float* p, float* v) {
        const float4 a = *(const float4*)p;
        v[0] = a.x;
        v[1] = a.y;
        v[2] = a.z;
        v[3] = a.w;
    }
};
template <> struct fp_loadv<fp_half, 2> {
    static __device__ __forceinline__ void run(const fp_half* p, float* v) {
        const unsigned int a = *(const unsigned int*)p;
        v[0] = fp_h2f(fp_half{(unsigned short)(a & 0xffffu)});
        v[1] = fp_h2f(fp_half{(unsigned short)(a >> 16)});
    }
};
template <> struct fp_loadv<fp_half, 4> {
    static __device__ __forceinline__ void run(const fp_half* p, float* v) {
        const uint2 a = *(const uint2*)p;
        v[0] = fp_h2f(fp_half{(unsigned short)(a.x & 0xffffu)});
        v[1] = fp_h2f(fp_half{(unsigned short)(a.x >> 16)});
        v[2] = fp_h2f(fp_half{(unsigned short)(a.y & 0xffffu)});
        v[3] = fp_h2f(fp_half{(unsigned short)(a.y >> 16)});
    }
};

// L samples of row `row` starting at column c0 (which may lie outside [0, n)).
template <typename T, int MODE, int L, int VW>
__device__ __forceinline__ void fp_load_window(const T* row, int c0, int n, int nv, int vec_ok,
                                               float* w) {
    if (vec_ok && c0 >= 0 && c0 + L <= n) {
#pragma unroll
        for (int q = 0; q < L; q += VW) {
            fp_loadv<T, VW>::run(row + c0 + q, w + q);
        }
    } else {
#pragma unroll
        for (int q = 0; q < L; ++q) {
            w[q] = fp_in<float>(row[fp_map<MODE>(c0 + q, n, nv)]);
        }
    }
}

// Forward, one level: src (planes, height, width) -> cA (planes, hs, ws), cH (planes, hd, ws),
// cV (planes, hs, wd), cD (planes, hd, wd), with hs, hd, ws, wd as fp_n_detail says. Thread
// t -> (plane, row segment, column strip), the strip index fastest so a warp covers 32P
// neighbouring output columns of the same rows.
template <typename TIn, typename TOut, int WAV, int MODE, int P>
__device__ __forceinline__ void fp_dwt2_forward(const TIn* __restrict__ src,
                                                TOut* __restrict__ ca, TOut* __restrict__ ch,
                                                TOut* __restrict__ cv, TOut* __restrict__ cd,
                                                long long n_planes, int height, int width,
                                                int seg_rows, int vec_ok) {
    const int HL = fp_wavelet<WAV>::fwd_left;
    const int VW = fp_window_vec<HL, P>::value;
    const int LW = fp_round_up<HL + 2 * P + fp_wavelet<WAV>::fwd_right, VW>::value;
    const int LV = HL + 2 + fp_wavelet<WAV>::fwd_right;
    const int hs = (height + 1) / 2, ws = (width + 1) / 2;
    const int hd = fp_n_detail<WAV, MODE>(height), wd = fp_n_detail<WAV, MODE>(width);
    const int hv = 2 * hs, wv = 2 * ws;
    const int n_strips = (ws + P - 1) / P;
    const int n_segs = (hs + seg_rows - 1) / seg_rows;
    const long long t = fp_thread_index();
    if (t >= n_planes * n_segs * n_strips) {
        return;
    }
    const int i0 = (int)(t % n_strips) * P;
    const int seg = (int)((t / n_strips) % n_segs);
    const long long plane = t / ((long long)n_strips * n_segs);
    const int j0 = seg * seg_rows;
    const int j1 = (j0 + seg_rows < hs) ? j0 + seg_rows : hs;
    const TIn* in = src + plane * height * width;
    TOut* o_a = ca + plane * hs * ws;
    TOut* o_h = ch + plane * hd * ws;
    TOut* o_v = cv + plane * hs * wd;
    TOut* o_d = cd + plane * hd * wd;
    const int c0 = 2 * i0 - HL;

    float ring[LV][2 * P];  // horizontally lifted rows 2j - HL .. 2j - HL + LV - 1
#pragma unroll
    for (int q = 0; q < LV; ++q) {
        float w[LW];
        const int r = fp_map<MODE>(2 * j0 - HL + q, height, hv);
        fp_load_window<TIn, MODE, LW, VW>(in + (long long)r * width, c0, width, wv, vec_ok, w);
        fp_lift_forward<WAV, LW>(w);
#pragma unroll
        for (int e = 0; e < 2 * P; ++e) {
            ring[q][e] = w[HL + e];
        }
    }
    for (int j = j0; j < j1; ++j) {
#pragma unroll
        for (int e = 0; e < 2 * P; ++e) {
            float col[LV];
#pragma unroll
            for (int q = 0; q < LV; ++q) {
                col[q] = ring[q][e];
            }
            fp_lift_forward<WAV, LV>(col);
            const int i = i0 + e / 2;
            if (e % 2 == 0) {
                if (i < ws) {
                    o_a[(long long)j * ws + i] = fp_out<TOut>(col[HL]);
                    if (j < hd) {
                        o_h[(long long)j * ws + i] = fp_out<TOut>(col[HL + 1]);
                    }
                }
            } else if (i < wd) {
                o_v[(long long)j * wd + i] = fp_out<TOut>(col[HL]);
                if (j < hd) {
                    o_d[(long long)j * wd + i] = fp_out<TOut>(col[HL + 1]);
                }
            }
        }
        if (j + 1 < j1) {
#pragma unroll
            for (int q = 0; q + 2 < LV; ++q) {
#pragma unroll
                for (int e = 0; e < 2 * P; ++e) {
                    ring[q][e] = ring[q + 2][e];
                }
            }
#pragma unroll
            for (int q = LV - 2; q < LV; ++q) {
                float w[LW];
                const int r = fp_map<MODE>(2 * (j + 1) - HL + q, height, hv);
                fp_load_window<TIn, MODE, LW, VW>(in + (long long)r * width, c0, width, wv,
                                                  vec_ok, w);
                fp_lift_forward<WAV, LW>(w);
#pragma unroll
                for (int e = 0; e < 2 * P; ++e) {
                    ring[q][e] = w[HL + e];
                }
            }
        }
    }
}

// One interleaved coefficient row for the inverse: even sample positions from `a`, odd from
// `b` (cA/cV for even sample rows, cH/cD for odd ones), window starting at sample column c0.
template <typename T, int MODE, int L>
__device__ __forceinline__ void fp_load_interleaved(const T* a, const T* b, int c0, int n,
                                                    float* w) {
#pragma unroll
    for (int q = 0; q < L; ++q) {
        const int c = fp_map<MODE>(c0 + q, n, n);
        w[q] = fp_in<float>((c & 1) ? b[c >> 1] : a[c >> 1]);
    }
}

// Inverse, one level: subbands shaped as the forward pass makes them for an output of
// height x width -> dst (planes, height, width). Horizontal and vertical lifting commute, so
// the inverse undoes rows first, then columns.
template <typename TIn, typename TOut, int WAV, int MODE, int P>
__device__ __forceinline__ void fp_dwt2_inverse(const TIn* __restrict__ ca,
                                                const TIn* __restrict__ ch,
                                                const TIn* __restrict__ cv,
                                                const TIn* __restrict__ cd,
                                                TOut* __restrict__ dst, long long n_planes,
                                                int height, int width, int seg_rows) {
    const int HL = fp_wavelet<WAV>::inv_left;
    const int LW = HL + 2 * P + fp_wavelet<WAV>::inv_right;
    const int LV = HL + 2 + fp_wavelet<WAV>::inv_right;
    const int hs = (height + 1) / 2, ws = (width + 1) / 2;
    const int hd = fp_n_detail<WAV, MODE>(height), wd = fp_n_detail<WAV, MODE>(width);
    const int n_strips = (ws + P - 1) / P;
    const int n_segs = (hs + seg_rows - 1) / seg_rows;
    const long long t = fp_thread_index();
    if (t >= n_planes * n_segs * n_strips) {
        return;
    }
    const int i0 = (int)(t % n_strips) * P;
    const int seg = (int)((t / n_strips) % n_segs);
    const long long plane = t / ((long long)n_strips * n_segs);
    const int j0 = seg * seg_rows;
    const int j1 = (j0 + seg_rows < hs) ? j0 + seg_rows : hs;
    const TIn* i_a = ca + plane * hs * ws;
    const TIn* i_h = ch + plane * hd * ws;
    const TIn* i_v = cv + plane * hs * wd;
    const TIn* i_d = cd + plane * hd * wd;
    TOut* out = dst + plane * height * width;
    const int c0 = 2 * i0 - HL;

    float ring[LV][2 * P];
#pragma unroll
    for (int q = 0; q < LV; ++q) {
        float w[LW];
        const int r = fp_map<MODE>(2 * j0 - HL + q, height, height);
        if (r & 1) {
            fp_load_interleaved<TIn, MODE, LW>(i_h + (long long)(r >> 1) * ws,
                                               i_d + (long long)(r >> 1) * wd, c0, width, w);
        } else {
            fp_load_interleaved<TIn, MODE, LW>(i_a + (long long)(r >> 1) * ws,
                                               i_v + (long long)(r >> 1) * wd, c0, width, w);
        }
        fp_lift_inverse<WAV, LW>(w);
#pragma unroll
        for (int e = 0; e < 2 * P; ++e) {
            ring[q][e] = w[HL + e];
        }
    }
    for (int j = j0; j < j1; ++j) {
#pragma unroll
        for (int e = 0; e < 2 * P; ++e) {
            float col[LV];
#pragma unroll
            for (int q = 0; q < LV; ++q) {
                col[q] = ring[q][e];
            }
            fp_lift_inverse<WAV, LV>(col);
            const int x = 2 * i0 + e;
            if (x < width) {
                out[(long long)(2 * j) * width + x] = fp_out<TOut>(col[HL]);
                if (2 * j + 1 < height) {
                    out[(long long)(2 * j + 1) * width + x] = fp_out<TOut>(col[HL + 1]);
                }
            }
        }
        if (j + 1 < j1) {
#pragma unroll
            for (int q = 0; q + 2 < LV; ++q) {
#pragma unroll
                for (int e = 0; e < 2 * P; ++e) {
                    ring[q][e] = ring[q + 2][e];
                }
            }
#pragma unroll
            for (int q = LV - 2; q < LV; ++q) {
                float w[LW];
                const int r = fp_map<MODE>(2 * (j + 1) - HL + q, height, height);
                if (r & 1) {
                    fp_load_interleaved<TIn, MODE, LW>(i_h + (long long)(r >> 1) * ws,
                                                       i_d + (long long)(r >> 1) * wd, c0,
                                                       width, w);
                } else {
                    fp_load_interleaved<TIn, MODE, LW>(i_a + (long long)(r >> 1) * ws,
                                                       i_v + (long long)(r >> 1) * wd, c0,
                                                       width, w);
                }
                fp_lift_inverse<WAV, LW>(w);
#pragma unroll
                for (int e = 0; e < 2 * P; ++e) {
                    ring[q][e] = w[HL + e];
                }
            }
        }
    }
}

#define FP_DWT_P 4

#define FP_DWT_ENTRIES(WNAME, WAV, MNAME, MODE, TNAME, TIN, TOUT)                           \
    extern "C" __global__ void fp_dwt2_fwd_##WNAME##_##MNAME##_##TNAME(                        \
        const TIN* __restrict__ src, TOUT* __restrict__ ca, TOUT* __restrict__ ch,            \
        TOUT* __restrict__ cv, TOUT* __restrict__ cd, long long n_planes, int height,         \
        int width, int seg_rows, int vec_ok) {                                                 \
        fp_dwt2_forward<TIN, TOUT, WAV, MODE, FP_DWT_P>(src, ca, ch, cv, cd, n_planes, height, \
                                                        width, seg_rows, vec_ok);             \
    }                                                                                          \
    extern "C" __global__ void fp_dwt2_inv_##WNAME##_##MNAME##_##TNAME(                        \
        const TIN* __restrict__ ca, const TIN* __restrict__ ch, const TIN* __restrict__ cv,   \
        const TIN* __restrict__ cd, TOUT* __restrict__ dst, long long n_planes, int height,   \
        int width, int seg_rows) {                                                             \
        fp_dwt2_inverse<TIN, TOUT, WAV, MODE, FP_DWT_P>(ca, ch, cv, cd, dst, n_planes, height, \
                                                        width, seg_rows);                     \
    }

#define FP_DWT_ALL_MODES(WNAME, WAV, TNAME, TIN, TOUT)                                          \
    FP_DWT_ENTRIES(WNAME, WAV, periodization, FP_PERIODIZATION, TNAME, TIN, TOUT)              \
    FP_DWT_ENTRIES(WNAME, WAV, reflect, FP_REFLECT, TNAME, TIN, TOUT)

#define FP_DWT_ALL(TNAME, TIN, TOUT)                                                            \
    FP_DWT_ALL_MODES(haar, FP_HAAR, TNAME, TIN, TOUT)                                          \
    FP_DWT_ALL_MODES(bior22, FP_BIOR22, TNAME, TIN, TOUT)                                      \
    FP_DWT_ALL_MODES(bior44, FP_BIOR44, TNAME, TIN, TOUT)

// Entry names end in <input>_<output> dtype.
FP_DWT_ALL(f32_f32, float, float)
FP_DWT_ALL(f16_f16, fp_half, fp_half)
FP_DWT_ALL(f16_f32, fp_half, float)
FP_DWT_ALL(f32_f16, float, fp_half)
