// Run barrier-free CUDA kernels on the CPU, so CI (no GPU) tests the exact kernel source.
//
// Include this header, then a kernels/*.cu file, and compile as C++ with g++ (C++17). Every
// `extern "C" __global__` entry point becomes a plain C function; FP_SHIM_LAUNCH runs it once
// per (block, thread) index of a grid, sequentially. Anything a thread-per-block kernel must not
// use (__syncthreads, shared memory, warp shuffles) is deliberately left undefined, so a kernel
// that starts to depend on cooperation between threads stops compiling here instead of silently
// computing something else.
#pragma once

#define FREQPIPE_CPU_SHIM 1

#include <cmath>
#include <cstring>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __constant__ static const

using std::rintf;

struct fp_shim_dim3 {
    unsigned int x, y, z;
};

// CUDA's built-in vector types, with the alignment that makes nvcc emit vector loads.
struct alignas(8) uint2 {
    unsigned int x, y;
};
struct alignas(16) uint4 {
    unsigned int x, y, z, w;
};
struct alignas(8) float2 {
    float x, y;
};
struct alignas(16) float4 {
    float x, y, z, w;
};

static fp_shim_dim3 threadIdx, blockIdx, blockDim, gridDim;

// float16 via the compiler's _Float16; common.cuh expands this right after defining fp_half.
// (IEEE binary16, round to nearest even, as cvt.rn.f16.f32).
#define FP_SHIM_HALF_IMPL                                                                      \
    inline float fp_h2f(fp_half h) {                                                           \
        _Float16 v;                                                                            \
        std::memcpy(&v, &h.bits, 2);                                                           \
        return (float)v;                                                                       \
    }                                                                                          \
    inline fp_half fp_f2h(float f) {                                                           \
        _Float16 v = (_Float16)f;                                                              \
        fp_half h;                                                                             \
        std::memcpy(&h.bits, &v, 2);                                                           \
        return h;                                                                              \
    }

#define FP_SHIM_LAUNCH(KERNEL, GX, GY, GZ, BX, BY, BZ, ...)                                   \
    do {                                                                                       \
        gridDim = {(unsigned)(GX), (unsigned)(GY), (unsigned)(GZ)};                            \
        blockDim = {(unsigned)(BX), (unsigned)(BY), (unsigned)(BZ)};                           \
        for (unsigned bz_ = 0; bz_ < gridDim.z; ++bz_)                                         \
            for (unsigned by_ = 0; by_ < gridDim.y; ++by_)                                     \
                for (unsigned bx_ = 0; bx_ < gridDim.x; ++bx_)                                 \
                    for (unsigned tz_ = 0; tz_ < blockDim.z; ++tz_)                            \
                        for (unsigned ty_ = 0; ty_ < blockDim.y; ++ty_)                        \
                            for (unsigned tx_ = 0; tx_ < blockDim.x; ++tx_) {                  \
                                blockIdx = {bx_, by_, bz_};                                    \
                                threadIdx = {tx_, ty_, tz_};                                   \
                                KERNEL(__VA_ARGS__);                                           \
                            }                                                                  \
    } while (0)
