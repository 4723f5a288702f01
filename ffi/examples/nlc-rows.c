/*
 * nlc-rows: decodes an .nlc file with a rows callback (nlc_decoder_options_set_rows_callback)
 * and checks what a viewer relies on: calls on the decoding thread, rows_done strictly
 * increasing, every row passed equal to the same row of the final image, the last call with
 * every row; and that a NULL callback removes it. Prints the calls and when they came, e.g.
 * "rows: 8 calls, 128x128, first after 12.1 ms of 80.3 ms, ...".
 *
 *   nlc-rows [--model MODEL.safetensors]... [--threads N] [--min-calls N] IN.nlc
 *
 * --min-calls: fail unless at least N calls came (an image of several rows of tiles).
 * Build: cc nlc-rows.c $(pkg-config --cflags --libs nelloc) -pthread
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <nelloc.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pnm.h"

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* What the callback saw: a copy of every row passed, as a viewer would keep. */
typedef struct {
    pthread_t decoder;
    uint8_t *copy;
    size_t capacity;
    uint32_t rows, calls;
    int errors;
    double first_ms; /* when the first call came */
} seen;

static void on_rows(void *user, uint32_t rows_done, const uint8_t *pixels, size_t stride) {
    seen *s = user;
    if (s->calls++ == 0) s->first_ms = now_ms();
    if (!pthread_equal(pthread_self(), s->decoder)) {
        fprintf(stderr, "nlc-rows: call %u not on the decoding thread\n", s->calls);
        s->errors++;
    }
    if (rows_done <= s->rows) {
        fprintf(stderr, "nlc-rows: rows_done %u after %u\n", rows_done, s->rows);
        s->errors++;
        return;
    }
    size_t need = (size_t)rows_done * stride;
    if (need > s->capacity) {
        uint8_t *grown = realloc(s->copy, need);
        if (grown == NULL) {
            s->errors++;
            return;
        }
        s->copy = grown;
        s->capacity = need;
    }
    /* Only the new rows: the earlier ones were final when passed. */
    memcpy(s->copy + (size_t)s->rows * stride, pixels + (size_t)s->rows * stride,
           (size_t)(rows_done - s->rows) * stride);
    s->rows = rows_done;
}

static void never(void *user, uint32_t rows_done, const uint8_t *pixels, size_t stride) {
    (void)rows_done, (void)pixels, (void)stride;
    ++*(int *)user;
}

static int fail(const char *what, nlc_status status) {
    char detail[512];
    nlc_last_error_message(detail, sizeof detail);
    fprintf(stderr, "nlc-rows: %s: %s (%s)\n", what, nlc_status_message(status), detail);
    return 1;
}

int main(int argc, char **argv) {
    nlc_decoder_options *options = NULL;
    nlc_image *image = NULL;
    nlc_pixels px = {.struct_size = sizeof(nlc_pixels)};
    nlc_status st;
    uint8_t *data = NULL;
    size_t size = 0;
    const char *in = NULL;
    unsigned long min_calls = 1;
    seen s;
    int i, rc = 1, removed = 0;

    memset(&s, 0, sizeof s);
    s.decoder = pthread_self();
    if (nlc_decoder_options_set_rows_callback(NULL, on_rows, &s) != NLC_ERROR_NULL_POINTER) {
        fprintf(stderr, "nlc-rows: NULL options not refused\n");
        return 1;
    }
    st = nlc_decoder_options_new(&options);
    if (st != NLC_OK) return fail("options", st);
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
            st = nlc_decoder_options_add_model_file(options, argv[++i]);
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            st = nlc_decoder_options_set_threads(options, (uint32_t)strtoul(argv[++i], NULL, 10));
        } else if (strcmp(argv[i], "--min-calls") == 0 && i + 1 < argc) {
            min_calls = strtoul(argv[++i], NULL, 10);
        } else if (!in) {
            in = argv[i];
        } else {
            in = NULL;
            break;
        }
        if (st != NLC_OK) {
            rc = fail(argv[i], st);
            goto done;
        }
    }
    if (!in) {
        fprintf(stderr, "usage: nlc-rows [--model MODEL]... [--threads N] [--min-calls N] IN.nlc\n");
        rc = 2;
        goto done;
    }
    if (read_all(in, &data, &size) != 0) {
        fprintf(stderr, "nlc-rows: cannot read %s\n", in);
        goto done;
    }

    /* Set, then replaced: only the last callback is called. */
    st = nlc_decoder_options_set_rows_callback(options, never, &removed);
    if (st == NLC_OK) st = nlc_decoder_options_set_rows_callback(options, on_rows, &s);
    double start = now_ms(), end = 0;
    if (st == NLC_OK) st = nlc_decode(data, size, options, &image);
    end = now_ms();
    if (st == NLC_OK) st = nlc_image_get(image, &px);
    if (st != NLC_OK) {
        rc = fail(in, st);
        goto done;
    }
    if (s.errors || removed || s.rows != px.height || s.calls < min_calls) {
        fprintf(stderr, "nlc-rows: %d error(s), %d call(s) of a replaced callback, %u of %u rows, "
                        "%u call(s) (at least %lu wanted)\n",
                s.errors, removed, s.rows, px.height, s.calls, min_calls);
        goto done;
    }
    for (uint32_t y = 0; y < px.height; y++) {
        if (memcmp(s.copy + (size_t)y * px.width * px.channels, px.data + (size_t)y * px.stride,
                   (size_t)px.width * px.channels) != 0) {
            fprintf(stderr, "nlc-rows: row %u passed differs from the final image\n", y);
            goto done;
        }
    }
    printf("rows: %u calls, %ux%u, first after %.1f ms of %.1f ms, every row passed equals the "
           "image\n",
           s.calls, px.width, px.height, s.first_ms - start, end - start);

    /* A NULL callback removes it. */
    nlc_image_free(image);
    image = NULL;
    st = nlc_decoder_options_set_rows_callback(options, NULL, NULL);
    if (st == NLC_OK) st = nlc_decode(data, size, options, &image);
    if (st != NLC_OK) {
        rc = fail("decode without a callback", st);
        goto done;
    }
    rc = 0;
done:
    free(s.copy);
    free(data);
    nlc_image_free(image);
    nlc_decoder_options_free(options);
    return rc;
}
