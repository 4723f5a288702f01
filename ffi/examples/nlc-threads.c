/*
 * nlc-threads: decodes several .nlc files concurrently from many threads sharing one
 * decoder-options handle, alternating the memory and file entry points, and checks every
 * result against a single-threaded reference decode. Exit status 0 if all agree.
 *
 *   nlc-threads [--model MODEL.safetensors]... [--rounds N] FILE.nlc...
 *
 * Build: cc nlc-threads.c $(pkg-config --cflags --libs nelloc) -pthread
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */
#include <nelloc.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pnm.h"

#define MAX_FILES 64
#define MAX_THREADS 256

typedef struct file_ref {
    const char *path;
    uint8_t *data;
    size_t size;
    uint64_t digest; /* FNV-1a of dimensions, colour type and pixels */
} file_ref;

typedef struct job {
    const file_ref *file;
    const nlc_decoder_options *options;
    int use_file_api;
    int ok;
    char message[256];
} job;

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static nlc_status decode_digest(const file_ref *file, const nlc_decoder_options *options,
                                int use_file_api, uint64_t *digest) {
    nlc_image *image = NULL;
    nlc_pixels px = {.struct_size = sizeof(nlc_pixels)};
    nlc_status st;
    uint32_t dims[3];
    uint64_t h = 1469598103934665603ull;
    st = use_file_api ? nlc_decode_file(file->path, options, &image)
                      : nlc_decode(file->data, file->size, options, &image);
    if (st != NLC_OK) return st;
    st = nlc_image_get(image, &px);
    if (st == NLC_OK) {
        dims[0] = px.width;
        dims[1] = px.height;
        dims[2] = px.color_type;
        h = fnv1a(h, (const uint8_t *)dims, sizeof dims);
        *digest = fnv1a(h, px.data, px.size);
    }
    nlc_image_free(image);
    return st;
}

static void *run(void *arg) {
    job *j = arg;
    uint64_t digest = 0;
    nlc_status st = decode_digest(j->file, j->options, j->use_file_api, &digest);
    if (st != NLC_OK) {
        char detail[200];
        nlc_last_error_message(detail, sizeof detail);
        snprintf(j->message, sizeof j->message, "%s: %s", j->file->path, detail);
    } else if (digest != j->file->digest) {
        snprintf(j->message, sizeof j->message, "%s: pixels differ from the reference",
                 j->file->path);
    } else {
        j->ok = 1;
    }
    return NULL;
}

int main(int argc, char **argv) {
    nlc_decoder_options *options = NULL;
    file_ref files[MAX_FILES];
    job jobs[MAX_THREADS];
    pthread_t threads[MAX_THREADS];
    int nfiles = 0, rounds = 4, njobs, i, failures = 0, rc = 1;
    nlc_status st;

    memset(files, 0, sizeof files);
    if (nlc_decoder_options_new(&options) != NLC_OK) return 1;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
            st = nlc_decoder_options_add_model_file(options, argv[++i]);
            if (st != NLC_OK) {
                fprintf(stderr, "nlc-threads: %s: %s\n", argv[i], nlc_status_message(st));
                goto done;
            }
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else if (nfiles < MAX_FILES) {
            files[nfiles++].path = argv[i];
        }
    }
    if (nfiles == 0 || rounds < 1 || nfiles * rounds > MAX_THREADS) {
        fprintf(stderr, "usage: nlc-threads [--model MODEL]... [--rounds N] FILE.nlc...\n");
        rc = 2;
        goto done;
    }
    /* Reference digests, one file at a time, one worker thread. */
    st = nlc_decoder_options_set_threads(options, 1);
    for (i = 0; i < nfiles && st == NLC_OK; i++) {
        if (read_all(files[i].path, &files[i].data, &files[i].size) != 0) {
            fprintf(stderr, "nlc-threads: cannot read %s\n", files[i].path);
            goto done;
        }
        st = decode_digest(&files[i], options, 0, &files[i].digest);
    }
    if (st != NLC_OK) {
        char detail[256];
        nlc_last_error_message(detail, sizeof detail);
        fprintf(stderr, "nlc-threads: reference decode: %s\n", detail);
        goto done;
    }
    /* Now all files at once from many threads, sharing the (unmodified) options; each
       decode also uses the library's worker pool. */
    st = nlc_decoder_options_set_threads(options, 0);
    if (st != NLC_OK) goto done;
    njobs = nfiles * rounds;
    for (i = 0; i < njobs; i++) {
        jobs[i].file = &files[i % nfiles];
        jobs[i].options = options;
        jobs[i].use_file_api = (i / nfiles) % 2;
        jobs[i].ok = 0;
        jobs[i].message[0] = '\0';
        if (pthread_create(&threads[i], NULL, run, &jobs[i]) != 0) {
            fprintf(stderr, "nlc-threads: pthread_create failed\n");
            njobs = i;
            failures++;
            break;
        }
    }
    for (i = 0; i < njobs; i++) {
        pthread_join(threads[i], NULL);
        if (!jobs[i].ok) {
            fprintf(stderr, "nlc-threads: %s\n", jobs[i].message);
            failures++;
        }
    }
    printf("nlc-threads: %d concurrent decodes of %d file(s): %s\n", njobs, nfiles,
           failures ? "FAILED" : "all match the reference");
    rc = failures ? 1 : 0;
done:
    for (i = 0; i < nfiles; i++) free(files[i].data);
    nlc_decoder_options_free(options);
    return rc;
}
