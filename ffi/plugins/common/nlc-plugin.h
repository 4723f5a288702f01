/*
 * Helpers shared by the host plugins (GIMP, ImageMagick, gdk-pixbuf): decoder options
 * under pixel limits, and libnelloc errors as one readable message. Header-only so that
 * each plugin keeps its own one-file build.
 *
 * Limits: a tiny hostile file can claim a 16000x16000 image, and neural decoding runs at
 * well under 1 MP/s, so every plugin decodes under a pixel budget that suits its host:
 *   NLCP_EDITOR_MAX_PIXELS     GIMP, ImageMagick (a user asked for this very file)
 *   NLCP_VIEWER_MAX_PIXELS     gdk-pixbuf loader (image viewers, file managers)
 *   NLCP_THUMBNAIL_MAX_PIXELS  thumbnails (gdk-pixbuf scaled loads, GIMP's preview)
 * NELLOC_MAX_PIXELS overrides the first two, NELLOC_THUMBNAIL_MAX_PIXELS the third.
 * NELLOC_MODELS, a colon-separated list of .safetensors files, adds external models (for
 * streams not coded with a built-in model); NELLOC_MODEL_PATH, a list of directories
 * (separated as PATH is), is searched for the *.safetensors file a stream needs when it is
 * neither built in, nor in NELLOC_MODELS, nor embedded in the stream.
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */
#ifndef NLC_PLUGIN_H
#define NLC_PLUGIN_H

#include <nelloc.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NLCP_EDITOR_MAX_PIXELS ((uint64_t)64 << 20)    /* 64 Mi pixels, about a minute */
#define NLCP_VIEWER_MAX_PIXELS ((uint64_t)16 << 20)    /* 16 Mi pixels */
#define NLCP_THUMBNAIL_MAX_PIXELS ((uint64_t)4 << 20)  /* 4 Mi pixels, a few seconds */

/* The positive integer in environment variable `name`, or `fallback`. */
static inline uint64_t nlcp_env_u64(const char *name, uint64_t fallback) {
    const char *s = getenv(name);
    if (s == NULL || *s == '\0') return fallback;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v == 0) return fallback;
    return (uint64_t)v;
}

/* The pixel budget for a host: NELLOC_MAX_PIXELS, else the host's default. */
static inline uint64_t nlcp_max_pixels(uint64_t host_default) {
    return nlcp_env_u64("NELLOC_MAX_PIXELS", host_default);
}

static inline uint64_t nlcp_thumbnail_max_pixels(void) {
    return nlcp_env_u64("NELLOC_THUMBNAIL_MAX_PIXELS", NLCP_THUMBNAIL_MAX_PIXELS);
}

/* "status message (details)" for the last libnelloc failure on this thread. */
static inline void nlcp_error_text(nlc_status st, char *buf, size_t cap) {
    char detail[512];
    detail[0] = '\0';
    nlc_last_error_message(detail, sizeof detail);
    if (detail[0] != '\0')
        snprintf(buf, cap, "%s (%s)", nlc_status_message(st), detail);
    else
        snprintf(buf, cap, "%s", nlc_status_message(st));
}

/* Decoder options with the given limits (0 keeps a default) and threads, plus NELLOC_MODELS
 * and NELLOC_MODEL_PATH. */
static inline nlc_status nlcp_decoder_options(uint32_t max_dimension, uint64_t max_pixels,
                                              uint32_t threads, nlc_decoder_options **out) {
    nlc_decoder_options *o = NULL;
    nlc_status st = nlc_decoder_options_new(&o);
    if (st != NLC_OK) return st;
    if (max_dimension == 0 || max_dimension > NLC_DEFAULT_MAX_DIMENSION)
        max_dimension = NLC_DEFAULT_MAX_DIMENSION;
    if (max_pixels == 0) max_pixels = (uint64_t)NLC_DEFAULT_MAX_PIXELS;
    st = nlc_decoder_options_set_limits(o, max_dimension, max_pixels,
                                        (uint64_t)NLC_DEFAULT_MAX_METADATA_BYTES);
    if (st == NLC_OK && threads > 0) st = nlc_decoder_options_set_threads(o, threads);
    const char *models = getenv("NELLOC_MODELS");
    if (st == NLC_OK && models != NULL && *models != '\0') {
        char *list = strdup(models);
        if (list == NULL) st = NLC_ERROR_RESOURCE;
        char *p = list;
        while (st == NLC_OK && p != NULL && *p != '\0') {
            char *colon = strchr(p, ':');
            if (colon != NULL) *colon = '\0';
            if (*p != '\0') st = nlc_decoder_options_add_model_file(o, p);
            p = colon != NULL ? colon + 1 : NULL;
        }
        free(list);
    }
    if (st == NLC_OK) st = nlc_decoder_options_add_env_model_path(o);
    if (st != NLC_OK) {
        nlc_decoder_options_free(o);
        return st;
    }
    *out = o;
    return NLC_OK;
}

/* Gray / GrayA / RGB / RGBA from channel count and alpha. */
static inline uint32_t nlcp_color_type(int gray, int alpha) {
    return gray ? (alpha ? NLC_COLOR_GRAYA8 : NLC_COLOR_GRAY8)
                : (alpha ? NLC_COLOR_RGBA8 : NLC_COLOR_RGB8);
}

#endif /* NLC_PLUGIN_H */
