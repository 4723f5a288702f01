/*
 * nlc-score: likelihood and out-of-distribution scores of PGM/PPM/PAM files (8-bit), and
 * optionally the per-pixel code length as a PGM heatmap.
 *
 *   nlc-score [--model M] [--background NAME|PATH] [--tile-size N] [--heatmap OUT.pgm]
 *             IN.ppm...
 *
 * Prints one CSV row per file: file,samples,bpsp,generic_bpsp,complexity,background_bpsp,
 * ratio,local,chroma_share,flat (background columns empty without --background). Checks that the bits map
 * of each image adds up to its score. Build: cc nlc-score.c $(pkg-config --cflags --libs nelloc)
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */
#include <nelloc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pnm.h"

static int fail(const char *what, nlc_status status) {
    char detail[512];
    nlc_last_error_message(detail, sizeof detail);
    fprintf(stderr, "nlc-score: %s: %s (%s)\n", what, nlc_status_message(status), detail);
    return 1;
}

static const uint32_t COLOR_TYPES[5] = {0, NLC_COLOR_GRAY8, NLC_COLOR_GRAYA8, NLC_COLOR_RGB8,
                                        NLC_COLOR_RGBA8};

/* Scores one file; writes the heatmap when `heatmap` is not NULL. Returns 0 on success. */
static int score_file(const char *path, const nlc_encoder_options *options,
                      const char *background, const char *heatmap) {
    pnm_image pnm = {0, 0, 0, NULL};
    nlc_image *image = NULL;
    nlc_scores s = {.struct_size = sizeof(nlc_scores)};
    double *bits = NULL, total = 0.0, max, diff;
    uint8_t *grey = NULL;
    size_t n, i;
    char err[256];
    nlc_status st;
    int rc = 1;

    if (pnm_read(path, &pnm, err, sizeof err) != 0) {
        fprintf(stderr, "nlc-score: %s\n", err);
        return 1;
    }
    n = (size_t)pnm.width * pnm.height;
    st = nlc_image_new(pnm.width, pnm.height, COLOR_TYPES[pnm.channels], pnm.pixels, 0, &image);
    if (st == NLC_OK) st = nlc_score(image, options, background, &s);
    if (st != NLC_OK) {
        rc = fail(path, st);
        goto done;
    }
    printf("%s,%llu,%.6f,%.6f,%.6f,", path, (unsigned long long)s.samples, s.bpsp,
           s.generic_bpsp, s.complexity);
    if (s.has_background) {
        printf("%.6f,%.6f,", s.background_bpsp, s.ratio);
    } else {
        printf(",,");
    }
    printf("%.6f,%.6f,%.6f\n", s.local, s.chroma_share, s.flat);

    bits = malloc(n * sizeof *bits);
    if (!bits) goto done;
    st = nlc_bits_map(image, options, bits, n);
    if (st != NLC_OK) {
        rc = fail("nlc_bits_map", st);
        goto done;
    }
    for (i = 0; i < n; i++) total += bits[i];
    /* Without alpha the map covers exactly the scored samples. */
    diff = total / (double)s.samples - s.bpsp;
    if (pnm.channels % 2 == 1 && (diff < 0 ? -diff : diff) > 1e-9 * s.bpsp) {
        fprintf(stderr, "nlc-score: %s: bits map sums to %.6f bpsp, score says %.6f\n", path,
                total / (double)s.samples, s.bpsp);
        goto done;
    }
    if (heatmap) {
        grey = malloc(n);
        if (!grey) goto done;
        max = 8.0 * pnm.channels; /* white = 8 bits per sample */
        for (i = 0; i < n; i++) grey[i] = (uint8_t)(bits[i] >= max ? 255 : 255.0 * bits[i] / max);
        if (pnm_write(heatmap, pnm.width, pnm.height, 1, grey, pnm.width) != 0) {
            fprintf(stderr, "nlc-score: cannot write %s\n", heatmap);
            goto done;
        }
    }
    rc = 0;
done:
    free(grey);
    free(bits);
    nlc_image_free(image);
    free(pnm.pixels);
    return rc;
}

int main(int argc, char **argv) {
    nlc_encoder_options *options = NULL;
    const char *background = NULL, *heatmap = NULL;
    int i, files = 0, bad = 0;
    nlc_status st = NLC_OK;

    if (nlc_encoder_options_new(&options) != NLC_OK) return fail("options", NLC_ERROR_INTERNAL);
    for (i = 1; i < argc; i++) {
        int more = i + 1 < argc;
        if (more && strcmp(argv[i], "--model") == 0) {
            st = nlc_encoder_options_set_model_file(options, NLC_MODEL_COLOR, argv[++i]);
        } else if (more && strcmp(argv[i], "--tile-size") == 0) {
            st = nlc_encoder_options_set_tile_size(options, (uint32_t)strtoul(argv[++i], NULL, 10));
        } else if (more && strcmp(argv[i], "--background") == 0) {
            background = argv[++i];
        } else if (more && strcmp(argv[i], "--heatmap") == 0) {
            heatmap = argv[++i];
        } else if (argv[i][0] == '-') {
            files = -1;
            break;
        } else {
            files++;
        }
        if (st != NLC_OK) {
            fail(argv[i], st);
            nlc_encoder_options_free(options);
            return 1;
        }
    }
    if (files <= 0 || (heatmap && files != 1)) {
        fprintf(stderr, "usage: nlc-score [--model M] [--background NAME|PATH] [--tile-size N] "
                        "[--heatmap OUT.pgm (one input)] IN.ppm...\n");
        nlc_encoder_options_free(options);
        return 2;
    }
    printf("file,samples,bpsp,generic_bpsp,complexity,background_bpsp,ratio,local,chroma_share,flat\n");
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--model") == 0 || strcmp(argv[i], "--tile-size") == 0 ||
            strcmp(argv[i], "--background") == 0 || strcmp(argv[i], "--heatmap") == 0) {
            i++;
            continue;
        }
        bad |= score_file(argv[i], options, background, heatmap);
    }
    nlc_encoder_options_free(options);
    return bad ? 1 : 0;
}
