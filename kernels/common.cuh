// Shared helpers for the freqpipe kernels: storage types, conversions, index helpers.
//
// Every kernel file includes this header. freqpipe.cuda inlines it into the source string it
// hands to NVRTC (so CuPy's cache key covers it); nvcc compile checks pass -I kernels; the CPU
// shim (cpu_shim.h) defines FREQPIPE_CPU_SHIM first and supplies the float16 conversions.
#pragma once

// float16 travels as its 16 storage bits: cuda_fp16.h is not on NVRTC's default include path
// in every CuPy install, and the kernels only ever convert, never compute, in half precision.
struct fp_half {
    unsigned short bits;
};

#ifdef FREQPIPE_CPU_SHIM
FP_SHIM_HALF_IMPL
#else
__device__ __forceinline__ float fp_h2f(fp_half h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h.bits));
    return f;
}
__device__ __forceinline__ fp_half fp_f2h(float f) {
    fp_half h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h.bits) : "f"(f));
    return h;
}
#endif

// Reading any storage type into the compute type C (float or double).
template <typename C> __device__ __forceinline__ C fp_in(float v) { return (C)v; }
template <typename C> __device__ __forceinline__ C fp_in(double v) { return (C)v; }
template <typename C> __device__ __forceinline__ C fp_in(fp_half v) { return (C)fp_h2f(v); }
template <typename C> __device__ __forceinline__ C fp_in(unsigned char v) { return (C)v; }
template <typename C> __device__ __forceinline__ C fp_in(signed char v) { return (C)v; }
template <typename C> __device__ __forceinline__ C fp_in(short v) { return (C)v; }

__device__ __forceinline__ float fp_clamp(float v, float lo, float hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

// Writing a compute value to a storage type. uint8 rounds half to even (as NumPy's rint, the
// reference) and saturates, so reconstructions never wrap around.
template <typename T> __device__ __forceinline__ T fp_out(float v);
template <> __device__ __forceinline__ float fp_out<float>(float v) { return v; }
template <> __device__ __forceinline__ double fp_out<double>(float v) { return (double)v; }
template <> __device__ __forceinline__ fp_half fp_out<fp_half>(float v) { return fp_f2h(v); }
template <> __device__ __forceinline__ unsigned char fp_out<unsigned char>(float v) {
    return (unsigned char)fp_clamp(rintf(v), 0.0f, 255.0f);
}
template <typename T> __device__ __forceinline__ T fp_out(double v);
template <> __device__ __forceinline__ double fp_out<double>(double v) { return v; }
template <> __device__ __forceinline__ float fp_out<float>(double v) { return (float)v; }

__device__ __forceinline__ long long fp_thread_index() {
    return (long long)blockIdx.x * blockDim.x + threadIdx.x;
}
