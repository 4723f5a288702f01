/* Host test driver for kernels.cu: runs the per-thread functions of the CUDA kernels with
 * the host C compiler, looping over the same (pixel, output) grid as the launches.
 * stdin (little-endian): i32 n, input_len, width, res_blocks, head_len; then per layer
 * i32 n_in, n_out, i8 weights[n_out][n_in], i32 bias, mult, shift [n_out]; then i16
 * contexts [n][input_len]. stdout: i32 heads [n][head_len]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.cu"

typedef struct {
    int n_in, n_out;
    nlc_i8 *w;
    int *bias, *mult, *shift;
} layer;

static void *take(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p || fread(p, 1, bytes, stdin) != bytes) {
        fprintf(stderr, "shim: short input\n");
        exit(2);
    }
    return p;
}

static int take_i32(void) {
    int *p = take(4), v = *p;
    free(p);
    return v;
}

int main(void) {
    int n = take_i32(), l = take_i32(), width = take_i32(), res = take_i32(), head = take_i32();
    int count = 3 * res + 3;
    layer *ls = calloc((size_t)count, sizeof(layer));
    for (int k = 0; k < count; k++) {
        ls[k].n_in = take_i32();
        ls[k].n_out = take_i32();
        ls[k].w = take((size_t)ls[k].n_in * ls[k].n_out);
        ls[k].bias = take(4 * (size_t)ls[k].n_out);
        ls[k].mult = take(4 * (size_t)ls[k].n_out);
        ls[k].shift = take(4 * (size_t)ls[k].n_out);
    }
    short *x = take(2 * (size_t)n * l);
    nlc_u8 *a = calloc((size_t)n * width, 1), *t1 = calloc((size_t)n * width, 1),
           *t2 = calloc((size_t)n * width, 1);
    int *out = calloc((size_t)n * head, sizeof(int));
#define GRID(L) for (int p = 0; p < n; p++) for (int o = 0; o < (L)->n_out; o++)
#define ARGS(L) (L)->w, (L)->bias, (L)->mult, (L)->shift
    layer *L = &ls[0];
    GRID(L) nlc_first_thread(p, o, x, l, ARGS(L), a, width);
    for (int b = 0; b < res; b++) {
        L = &ls[1 + 3 * b];
        GRID(L) nlc_relu_thread(p, o, a, L->n_in, width, ARGS(L), t1, width);
        L = &ls[2 + 3 * b];
        GRID(L) nlc_relu_thread(p, o, t1, L->n_in, width, ARGS(L), t2, width);
        L = &ls[3 + 3 * b];
        GRID(L) nlc_residual_thread(p, o, t2, L->n_in, width, ARGS(L), a, width);
    }
    L = &ls[count - 2];
    GRID(L) nlc_relu_thread(p, o, a, L->n_in, width, ARGS(L), t1, width);
    L = &ls[count - 1];
    GRID(L) nlc_head_thread(p, o, t1, L->n_in, width, ARGS(L), out, head);
    fwrite(out, sizeof(int), (size_t)n * head, stdout);
    return 0;
}
