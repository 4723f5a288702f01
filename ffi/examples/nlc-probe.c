/*
 * nlc-probe: identifies .nlc files the way an image-viewer plugin would: first from the
 * first NLC_PROBE_BYTES bytes (nlc_probe), then, for .nlc files, the validated header
 * (nlc_info_file). Exit status 0 if every file is a valid .nlc stream, 1 otherwise.
 *
 *   nlc-probe [--model MODEL.safetensors]... FILE...
 *
 * Build: cc nlc-probe.c $(pkg-config --cflags --libs nelloc)
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */
#include <nelloc.h>

#include <stdio.h>
#include <string.h>

static const char *color_name(uint32_t color_type) {
    switch (color_type) {
    case NLC_COLOR_GRAY8: return "Gray8";
    case NLC_COLOR_GRAYA8: return "GrayA8";
    case NLC_COLOR_RGB8: return "RGB8";
    case NLC_COLOR_RGBA8: return "RGBA8";
    default: return "?";
    }
}

static const char *alpha_name(uint32_t mode) {
    switch (mode) {
    case NLC_ALPHA_NONE: return "none";
    case NLC_ALPHA_CONSTANT: return "constant";
    case NLC_ALPHA_CODED: return "coded";
    default: return "?";
    }
}

int main(int argc, char **argv) {
    nlc_decoder_options *options = NULL;
    int i, files = 0, bad = 0;

    if (nlc_decoder_options_new(&options) != NLC_OK) return 1;
    for (i = 1; i < argc; i++) {
        uint8_t head[NLC_PROBE_BYTES];
        size_t n;
        nlc_header header = {.struct_size = sizeof(nlc_header)};
        nlc_stream_info info = {.struct_size = sizeof(nlc_stream_info)};
        nlc_status st;
        char detail[512];
        FILE *f;

        if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
            st = nlc_decoder_options_add_model_file(options, argv[++i]);
            if (st != NLC_OK) {
                nlc_last_error_message(detail, sizeof detail);
                fprintf(stderr, "nlc-probe: %s\n", detail);
                bad++;
            }
            continue;
        }
        files++;
        f = fopen(argv[i], "rb");
        if (!f) {
            printf("%s: cannot open\n", argv[i]);
            bad++;
            continue;
        }
        n = fread(head, 1, sizeof head, f);
        fclose(f);
        st = nlc_probe(head, n, &header);
        if (st != NLC_OK) {
            nlc_last_error_message(detail, sizeof detail);
            printf("%s: %s (%s)\n", argv[i], nlc_status_message(st), detail);
            bad++;
            continue;
        }
        printf("%s: .nlc version %u, %ux%u %s\n", argv[i], header.version, header.width,
               header.height, color_name(header.color_type));
        st = nlc_info_file(argv[i], options, &info);
        if (st != NLC_OK) {
            nlc_last_error_message(detail, sizeof detail);
            printf("  invalid: %s (%s)\n", nlc_status_message(st), detail);
            bad++;
            continue;
        }
        printf("  tiles %u (%ux%u), alpha %s, model %.16s%s, icc %zu, exif %zu, xmp %zu bytes, "
               "file %llu bytes\n",
               info.tile_count, info.tile_width, info.tile_height, alpha_name(info.alpha_mode),
               info.model_hash, info.model_available ? "" : " (not available)", info.icc_size,
               info.exif_size, info.xmp_size, (unsigned long long)info.file_size);
    }
    nlc_decoder_options_free(options);
    if (files == 0) {
        fprintf(stderr, "usage: nlc-probe [--model MODEL]... FILE...\n");
        return 2;
    }
    return bad ? 1 : 0;
}
