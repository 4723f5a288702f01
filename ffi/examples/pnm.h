/*
 * Minimal 8-bit PNM reader/writer for the libnelloc examples: P5 (PGM, grey), P6 (PPM,
 * RGB) and P7 (PAM, 1 to 4 channels), maxval 255. Not part of the library.
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */
#ifndef NLC_EXAMPLE_PNM_H
#define NLC_EXAMPLE_PNM_H

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pnm_image {
    uint32_t width;
    uint32_t height;
    uint32_t channels; /* 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA */
    uint8_t *pixels;   /* width * height * channels bytes, rows without padding */
} pnm_image;

/* Reads the next whitespace-separated token, skipping '#' comments. */
static inline int pnm_token(FILE *f, char *buf, size_t cap) {
    size_t n = 0;
    int c;
    for (;;) {
        c = fgetc(f);
        if (c == '#') {
            while (c != '\n' && c != EOF) c = fgetc(f);
        }
        if (c == EOF) return -1;
        if (!isspace(c)) break;
    }
    while (c != EOF && !isspace(c)) {
        if (n + 1 >= cap) return -1;
        buf[n++] = (char)c;
        c = fgetc(f);
    }
    buf[n] = '\0';
    return 0; /* the single whitespace after the token has been consumed */
}

static inline int pnm_number(FILE *f, uint32_t *out) {
    char tok[32];
    char *end = NULL;
    unsigned long v;
    if (pnm_token(f, tok, sizeof tok) != 0) return -1;
    v = strtoul(tok, &end, 10);
    if (end == tok || *end != '\0' || v > 0xFFFFFFFFul) return -1;
    *out = (uint32_t)v;
    return 0;
}

/* Reads a PNM file. Returns 0 on success; on failure writes a message to err. */
static inline int pnm_read(const char *path, pnm_image *out, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    char tok[32];
    uint32_t w = 0, h = 0, depth = 0, maxval = 0;
    size_t size;
    uint8_t *pixels;
    if (!f) {
        snprintf(err, errlen, "cannot open %s", path);
        return -1;
    }
    if (pnm_token(f, tok, sizeof tok) != 0) goto bad;
    if (strcmp(tok, "P5") == 0 || strcmp(tok, "P6") == 0) {
        depth = tok[1] == '5' ? 1 : 3;
        if (pnm_number(f, &w) || pnm_number(f, &h) || pnm_number(f, &maxval)) goto bad;
    } else if (strcmp(tok, "P7") == 0) {
        for (;;) {
            if (pnm_token(f, tok, sizeof tok) != 0) goto bad;
            if (strcmp(tok, "ENDHDR") == 0) break;
            if (strcmp(tok, "WIDTH") == 0) {
                if (pnm_number(f, &w)) goto bad;
            } else if (strcmp(tok, "HEIGHT") == 0) {
                if (pnm_number(f, &h)) goto bad;
            } else if (strcmp(tok, "DEPTH") == 0) {
                if (pnm_number(f, &depth)) goto bad;
            } else if (strcmp(tok, "MAXVAL") == 0) {
                if (pnm_number(f, &maxval)) goto bad;
            } else if (strcmp(tok, "TUPLTYPE") == 0) {
                if (pnm_token(f, tok, sizeof tok) != 0) goto bad;
            } else {
                goto bad;
            }
        }
    } else {
        goto bad;
    }
    if (w == 0 || h == 0 || depth < 1 || depth > 4 || maxval != 255) goto bad;
    if ((size_t)w > SIZE_MAX / h / depth) goto bad;
    size = (size_t)w * h * depth;
    pixels = malloc(size);
    if (!pixels) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    if (fread(pixels, 1, size, f) != size) {
        free(pixels);
        fclose(f);
        snprintf(err, errlen, "%s: truncated pixel data", path);
        return -1;
    }
    fclose(f);
    out->width = w;
    out->height = h;
    out->channels = depth;
    out->pixels = pixels;
    return 0;
bad:
    fclose(f);
    snprintf(err, errlen, "%s: not an 8-bit P5/P6/P7 file", path);
    return -1;
}

/* Writes P5 (1 channel), P6 (3 channels) or P7 (2 or 4 channels). Returns 0 on success. */
static inline int pnm_write(const char *path, uint32_t w, uint32_t h, uint32_t channels,
                     const uint8_t *pixels, size_t stride) {
    FILE *f = fopen(path, "wb");
    uint32_t y;
    int ok;
    if (!f) return -1;
    if (channels == 1 || channels == 3) {
        fprintf(f, "P%c\n%u %u 255\n", channels == 1 ? '5' : '6', w, h);
    } else {
        fprintf(f, "P7\nWIDTH %u\nHEIGHT %u\nDEPTH %u\nMAXVAL 255\nTUPLTYPE %s\nENDHDR\n", w, h,
                channels, channels == 2 ? "GRAYSCALE_ALPHA" : "RGB_ALPHA");
    }
    for (y = 0; y < h; y++) {
        if (fwrite(pixels + (size_t)y * stride, 1, (size_t)w * channels, f) !=
            (size_t)w * channels) {
            fclose(f);
            return -1;
        }
    }
    ok = ferror(f) == 0;
    if (fclose(f) != 0) ok = 0;
    return ok ? 0 : -1;
}

/* Reads a whole file into a malloc'd buffer. Returns 0 on success. */
static inline int read_all(const char *path, uint8_t **data, size_t *size) {
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, n;
    if (!f) return -1;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            uint8_t *nbuf = realloc(buf, ncap);
            if (!nbuf) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nbuf;
            cap = ncap;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) break;
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    *data = buf;
    *size = len;
    return 0;
}

#endif /* NLC_EXAMPLE_PNM_H */
