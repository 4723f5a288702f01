/* The CUDA kernels of the nelloc CUDA backend (compiled at run time by NVRTC).
 *
 * Exactly the integer network of docs/FORMAT.md: i8 weights x (i16 | u8) inputs summed in
 * i32, requantisation (acc * mult + 2^(s-1)) >> s in 64 bits with a floor shift, clamps.
 * One thread computes one output of one pixel. The per-thread functions (nlc_*_thread)
 * are plain C: the host test (cuda_host_shim.c) compiles this same file with the host C
 * compiler and runs them against the Rust reference, so the arithmetic GPUs run is
 * tested in CI without a GPU. Only the __global__ wrappers are CUDA-only.
 */
#ifdef __CUDACC_RTC__
#define NLC_FN __device__ __forceinline__
#else
#define NLC_FN static inline
#endif

typedef signed char nlc_i8;
typedef unsigned char nlc_u8;
typedef long long nlc_i64;

/* floor((acc * mult + 2^(shift-1)) / 2^shift) for shift in 1..62. The offset 2^62 makes
 * the dividend non-negative (|acc * mult| < 2^56 by the model bounds), so an unsigned
 * shift is the floor: no implementation-defined right shift of a negative number. */
NLC_FN nlc_i64 nlc_requant(int acc, int mult, int shift) {
    nlc_i64 v = (nlc_i64)acc * (nlc_i64)mult + ((nlc_i64)1 << (shift - 1));
    unsigned long long u = (unsigned long long)(v + ((nlc_i64)1 << 62));
    return (nlc_i64)(u >> shift) - ((nlc_i64)1 << (62 - shift));
}

NLC_FN nlc_i64 nlc_clamp(nlc_i64 v, nlc_i64 lo, nlc_i64 hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

/* bias + W x for one output: exact in i32 (|acc| <= n_in * 255 * 64 + 2^24). */
NLC_FN int nlc_dot_i16(const short *x, const nlc_i8 *w, int n, int bias) {
    int acc = bias;
    for (int i = 0; i < n; i++) acc += (int)w[i] * (int)x[i];
    return acc;
}

NLC_FN int nlc_dot_u8(const nlc_u8 *x, const nlc_i8 *w, int n, int bias) {
    int acc = bias;
    for (int i = 0; i < n; i++) acc += (int)w[i] * (int)x[i];
    return acc;
}

/* The first layer (signed context input, 0 outside the tile), ReLU to u8. */
NLC_FN void nlc_first_thread(int p, int o, const short *x, int n_in, const nlc_i8 *w,
                             const int *bias, const int *mult, const int *shift, nlc_u8 *y,
                             int y_stride) {
    int acc = nlc_dot_i16(x + (long)p * n_in, w + (long)o * n_in, n_in, bias[o]);
    y[(long)p * y_stride + o] = (nlc_u8)nlc_clamp(nlc_requant(acc, mult[o], shift[o]), 0, 255);
}

/* A u8-input layer with ReLU to u8 (residual block layers 1-2, the hidden layer). */
NLC_FN void nlc_relu_thread(int p, int o, const nlc_u8 *x, int n_in, int x_stride,
                            const nlc_i8 *w, const int *bias, const int *mult, const int *shift,
                            nlc_u8 *y, int y_stride) {
    int acc = nlc_dot_u8(x + (long)p * x_stride, w + (long)o * n_in, n_in, bias[o]);
    y[(long)p * y_stride + o] = (nlc_u8)nlc_clamp(nlc_requant(acc, mult[o], shift[o]), 0, 255);
}

/* The third layer of a residual block: a = clamp(a + clamp(rq, -255, 255), 0, 255). */
NLC_FN void nlc_residual_thread(int p, int o, const nlc_u8 *x, int n_in, int x_stride,
                                const nlc_i8 *w, const int *bias, const int *mult,
                                const int *shift, nlc_u8 *a, int a_stride) {
    int acc = nlc_dot_u8(x + (long)p * x_stride, w + (long)o * n_in, n_in, bias[o]);
    nlc_i64 r = nlc_clamp(nlc_requant(acc, mult[o], shift[o]), -255, 255);
    nlc_u8 *at = a + (long)p * a_stride + o;
    *at = (nlc_u8)nlc_clamp((nlc_i64)*at + r, 0, 255);
}

/* The head: signed outputs clamped to +-2^23. */
NLC_FN void nlc_head_thread(int p, int o, const nlc_u8 *x, int n_in, int x_stride,
                            const nlc_i8 *w, const int *bias, const int *mult, const int *shift,
                            int *out, int n_out) {
    int acc = nlc_dot_u8(x + (long)p * x_stride, w + (long)o * n_in, n_in, bias[o]);
    out[(long)p * n_out + o] =
        (int)nlc_clamp(nlc_requant(acc, mult[o], shift[o]), -(1 << 23), 1 << 23);
}

#ifdef __CUDACC_RTC__
/* One thread per (pixel, output) of n pixels: thread i is pixel i / n_out, output i % n_out. */
#define NLC_INDEX                                               \
    long i = (long)blockIdx.x * blockDim.x + threadIdx.x;       \
    if (i >= (long)n * n_out) return;                           \
    int p = (int)(i / n_out), o = (int)(i % n_out);

extern "C" __global__ void nlc_first(int n, int n_out, const short *x, int n_in,
                                     const nlc_i8 *w, const int *bias, const int *mult,
                                     const int *shift, nlc_u8 *y, int y_stride) {
    NLC_INDEX
    nlc_first_thread(p, o, x, n_in, w, bias, mult, shift, y, y_stride);
}

extern "C" __global__ void nlc_relu(int n, int n_out, const nlc_u8 *x, int n_in, int x_stride,
                                    const nlc_i8 *w, const int *bias, const int *mult,
                                    const int *shift, nlc_u8 *y, int y_stride) {
    NLC_INDEX
    nlc_relu_thread(p, o, x, n_in, x_stride, w, bias, mult, shift, y, y_stride);
}

extern "C" __global__ void nlc_residual(int n, int n_out, const nlc_u8 *x, int n_in,
                                        int x_stride, const nlc_i8 *w, const int *bias,
                                        const int *mult, const int *shift, nlc_u8 *a,
                                        int a_stride) {
    NLC_INDEX
    nlc_residual_thread(p, o, x, n_in, x_stride, w, bias, mult, shift, a, a_stride);
}

extern "C" __global__ void nlc_head(int n, int n_out, const nlc_u8 *x, int n_in, int x_stride,
                                    const nlc_i8 *w, const int *bias, const int *mult,
                                    const int *shift, int *out) {
    NLC_INDEX
    nlc_head_thread(p, o, x, n_in, x_stride, w, bias, mult, shift, out, n_out);
}
#endif
