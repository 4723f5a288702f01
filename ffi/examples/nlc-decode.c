/*
 * nlc-decode: decodes an .nlc file to PGM/PPM (or PAM when the image has alpha).
 *
 *   nlc-decode [--model MODEL.safetensors]... [--model-dir DIR]... [--threads N] IN.nlc OUT.ppm
 *
 * A model the stream needs that is not built in, not given with --model and not embedded
 * in the stream is searched for in each --model-dir, then in the directories of
 * NELLOC_MODEL_PATH (nlc_decoder_options_add_env_model_path: the library reads the
 * variable only when asked).
 *
 * Uses the in-memory API: the file is read by the program and given to nlc_decode().
 * Build: cc nlc-decode.c $(pkg-config --cflags --libs nelloc)
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
    fprintf(stderr, "nlc-decode: %s: %s (%s)\n", what, nlc_status_message(status), detail);
    return 1;
}

int main(int argc, char **argv) {
    nlc_decoder_options *options = NULL;
    nlc_image *image = NULL;
    nlc_pixels pixels = {.struct_size = sizeof(nlc_pixels)};
    nlc_status st;
    uint8_t *data = NULL;
    size_t size = 0;
    const char *in = NULL, *out = NULL;
    int i, rc = 1;

    if (nlc_version() != NLC_VERSION_NUMBER) {
        fprintf(stderr, "nlc-decode: header is version %d but the library is %s\n",
                NLC_VERSION_NUMBER, nlc_version_string());
        return 1;
    }
    st = nlc_decoder_options_new(&options);
    if (st != NLC_OK) return fail("options", st);
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
            st = nlc_decoder_options_add_model_file(options, argv[++i]);
            if (st != NLC_OK) {
                rc = fail(argv[i], st);
                goto done;
            }
        } else if (strcmp(argv[i], "--model-dir") == 0 && i + 1 < argc) {
            st = nlc_decoder_options_add_model_dir(options, argv[++i]);
            if (st != NLC_OK) {
                rc = fail(argv[i], st);
                goto done;
            }
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            st = nlc_decoder_options_set_threads(options, (uint32_t)strtoul(argv[++i], NULL, 10));
            if (st != NLC_OK) {
                rc = fail("--threads", st);
                goto done;
            }
        } else if (!in) {
            in = argv[i];
        } else if (!out) {
            out = argv[i];
        } else {
            in = NULL;
            break;
        }
    }
    if (!in || !out) {
        fprintf(stderr, "usage: nlc-decode [--model MODEL]... [--model-dir DIR]... [--threads N] "
                        "IN.nlc OUT.ppm\n");
        rc = 2;
        goto done;
    }
    st = nlc_decoder_options_add_env_model_path(options);
    if (st != NLC_OK) {
        rc = fail("NELLOC_MODEL_PATH", st);
        goto done;
    }
    if (read_all(in, &data, &size) != 0) {
        fprintf(stderr, "nlc-decode: cannot read %s\n", in);
        goto done;
    }
    st = nlc_decode(data, size, options, &image);
    if (st != NLC_OK) {
        rc = fail(in, st);
        goto done;
    }
    st = nlc_image_get(image, &pixels);
    if (st != NLC_OK) {
        rc = fail("nlc_image_get", st);
        goto done;
    }
    if (pnm_write(out, pixels.width, pixels.height, pixels.channels, pixels.data,
                  pixels.stride) != 0) {
        fprintf(stderr, "nlc-decode: cannot write %s\n", out);
        goto done;
    }
    printf("%s: %ux%u, %u channel(s) -> %s\n", in, pixels.width, pixels.height, pixels.channels,
           out);
    rc = 0;
done:
    nlc_image_free(image);
    nlc_decoder_options_free(options);
    free(data);
    return rc;
}
