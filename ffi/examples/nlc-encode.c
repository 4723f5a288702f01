/*
 * nlc-encode: encodes a PGM/PPM/PAM file (8-bit) to .nlc.
 *
 *   nlc-encode [--model M] [--alpha-model M] [--embed-model] [--tile-size N] [--threads N]
 *              [--icc FILE] IN.ppm OUT.nlc
 *
 * --embed-model stores the external model files in the stream (nlc_encoder_options_set_
 * embed_models), so that it decodes where they are not available.
 *
 * Uses the in-memory API: nlc_encode() returns a library-owned buffer, released with
 * nlc_free(). Build: cc nlc-encode.c $(pkg-config --cflags --libs nelloc)
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
    fprintf(stderr, "nlc-encode: %s: %s (%s)\n", what, nlc_status_message(status), detail);
    return 1;
}

static const uint32_t COLOR_TYPES[5] = {0, NLC_COLOR_GRAY8, NLC_COLOR_GRAYA8, NLC_COLOR_RGB8,
                                        NLC_COLOR_RGBA8};

int main(int argc, char **argv) {
    nlc_encoder_options *options = NULL;
    nlc_image *image = NULL;
    pnm_image pnm = {0, 0, 0, NULL};
    uint8_t *encoded = NULL, *icc = NULL;
    size_t encoded_size = 0, icc_size = 0;
    const char *in = NULL, *out = NULL, *icc_path = NULL;
    char err[256];
    nlc_status st = NLC_OK;
    FILE *f = NULL;
    int i, rc = 1;

    if (nlc_encoder_options_new(&options) != NLC_OK) return fail("options", NLC_ERROR_INTERNAL);
    for (i = 1; i < argc; i++) {
        int more = i + 1 < argc;
        if (more && strcmp(argv[i], "--model") == 0) {
            st = nlc_encoder_options_set_model_file(options, NLC_MODEL_COLOR, argv[++i]);
        } else if (more && strcmp(argv[i], "--alpha-model") == 0) {
            st = nlc_encoder_options_set_model_file(options, NLC_MODEL_ALPHA, argv[++i]);
        } else if (strcmp(argv[i], "--embed-model") == 0) {
            st = nlc_encoder_options_set_embed_models(options, 1);
        } else if (more && strcmp(argv[i], "--tile-size") == 0) {
            st = nlc_encoder_options_set_tile_size(options, (uint32_t)strtoul(argv[++i], NULL, 10));
        } else if (more && strcmp(argv[i], "--threads") == 0) {
            st = nlc_encoder_options_set_threads(options, (uint32_t)strtoul(argv[++i], NULL, 10));
        } else if (more && strcmp(argv[i], "--icc") == 0) {
            icc_path = argv[++i];
        } else if (!in) {
            in = argv[i];
        } else if (!out) {
            out = argv[i];
        } else {
            in = NULL;
            break;
        }
        if (st != NLC_OK) {
            rc = fail(argv[i], st);
            goto done;
        }
    }
    if (!in || !out) {
        fprintf(stderr, "usage: nlc-encode [--model M] [--alpha-model M] [--embed-model] "
                        "[--tile-size N] [--threads N] [--icc FILE] IN.ppm OUT.nlc\n");
        rc = 2;
        goto done;
    }
    if (pnm_read(in, &pnm, err, sizeof err) != 0) {
        fprintf(stderr, "nlc-encode: %s\n", err);
        goto done;
    }
    /* stride 0: rows are packed. The pixels are copied into the image. */
    st = nlc_image_new(pnm.width, pnm.height, COLOR_TYPES[pnm.channels], pnm.pixels, 0, &image);
    if (st != NLC_OK) {
        rc = fail("nlc_image_new", st);
        goto done;
    }
    if (icc_path) {
        if (read_all(icc_path, &icc, &icc_size) != 0) {
            fprintf(stderr, "nlc-encode: cannot read %s\n", icc_path);
            goto done;
        }
        st = nlc_image_set_metadata(image, NLC_METADATA_ICC, icc, icc_size);
        if (st != NLC_OK) {
            rc = fail("ICC profile", st);
            goto done;
        }
    }
    st = nlc_encode(image, options, &encoded, &encoded_size);
    if (st != NLC_OK) {
        rc = fail(in, st);
        goto done;
    }
    f = fopen(out, "wb");
    if (!f || fwrite(encoded, 1, encoded_size, f) != encoded_size || fclose(f) != 0) {
        fprintf(stderr, "nlc-encode: cannot write %s\n", out);
        f = NULL;
        goto done;
    }
    f = NULL;
    printf("%s: %ux%u, %u channel(s) -> %s, %zu bytes (%.3f bits per sample)\n", in, pnm.width,
           pnm.height, pnm.channels, out, encoded_size,
           8.0 * (double)encoded_size / ((double)pnm.width * pnm.height * pnm.channels));
    rc = 0;
done:
    if (f) fclose(f);
    nlc_free(encoded);
    nlc_image_free(image);
    nlc_encoder_options_free(options);
    free(pnm.pixels);
    free(icc);
    return rc;
}
