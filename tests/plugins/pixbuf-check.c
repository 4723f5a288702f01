/*
 * Drives gdk-pixbuf for tests/plugins/gdk-pixbuf.sh, the way an application does:
 *   pixbuf-check compare A B           same size, channels and pixels (both via gdk-pixbuf)
 *   pixbuf-check incremental FILE N    GdkPixbufLoader fed N bytes at a time == whole-file load
 *   pixbuf-check updates FILE [count]  GdkPixbufLoader's area-prepared and area-updated signals:
 *                                      prepared first, then bands of whole rows from the top
 *                                      on the loading thread, each final when announced,
 *                                      covering the image; prints "updates N (first band
 *                                      after X s of Y s)"; "count" keeps no copy of the
 *                                      bands (memory as a viewer uses it: for measuring)
 *   pixbuf-check save IN OUT TYPE [KEY VALUE]...   gdk_pixbuf_save
 *   pixbuf-check save-buffer IN OUT TYPE           gdk_pixbuf_save_to_buffer (callback path)
 *   pixbuf-check info FILE             gdk_pixbuf_get_file_info: format, MIME type, size
 *   pixbuf-check load FILE             loads; prints the error and exits 1 on failure
 *   pixbuf-check option FILE KEY       prints the loaded pixbuf's option KEY (e.g. icc-profile)
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <stdio.h>
#include <string.h>

static GdkPixbuf *load(const char *path) {
    GError *error = NULL;
    GdkPixbuf *p = gdk_pixbuf_new_from_file(path, &error);
    if (p == NULL) {
        fprintf(stderr, "%s: %s\n", path, error->message);
        g_error_free(error);
    }
    return p;
}

static int same(GdkPixbuf *a, GdkPixbuf *b, const char *what) {
    int w = gdk_pixbuf_get_width(a), h = gdk_pixbuf_get_height(a);
    int n = gdk_pixbuf_get_n_channels(a);
    if (w != gdk_pixbuf_get_width(b) || h != gdk_pixbuf_get_height(b) ||
        n != gdk_pixbuf_get_n_channels(b) ||
        gdk_pixbuf_get_has_alpha(a) != gdk_pixbuf_get_has_alpha(b)) {
        fprintf(stderr, "%s: %dx%dx%d vs %dx%dx%d\n", what, w, h, n, gdk_pixbuf_get_width(b),
                gdk_pixbuf_get_height(b), gdk_pixbuf_get_n_channels(b));
        return 1;
    }
    const guchar *pa = gdk_pixbuf_read_pixels(a), *pb = gdk_pixbuf_read_pixels(b);
    int sa = gdk_pixbuf_get_rowstride(a), sb = gdk_pixbuf_get_rowstride(b);
    for (int y = 0; y < h; y++) {
        if (memcmp(pa + (size_t)y * sa, pb + (size_t)y * sb, (size_t)w * n) != 0) {
            fprintf(stderr, "%s: pixels differ in row %d\n", what, y);
            return 1;
        }
    }
    return 0;
}

/* What the signals of one incremental load showed. */
typedef struct {
    GThread *thread;
    int prepared, updates, errors, rows;
    gint64 first_us; /* when the first band came (g_get_monotonic_time) */
    GByteArray *seen; /* the rows of each band as they were when announced, or NULL */
} Signals;

static void on_prepared(GdkPixbufLoader *loader, gpointer user) {
    Signals *s = user;
    (void)loader;
    s->prepared++;
}

static void on_updated(GdkPixbufLoader *loader, gint x, gint y, gint w, gint h, gpointer user) {
    Signals *s = user;
    GdkPixbuf *p = gdk_pixbuf_loader_get_pixbuf(loader);
    if (s->updates++ == 0) s->first_us = g_get_monotonic_time();
    if (g_thread_self() != s->thread) {
        fprintf(stderr, "updates: area-updated on another thread\n");
        s->errors++;
    }
    if (!s->prepared || p == NULL || x != 0 || w != gdk_pixbuf_get_width(p) || y != s->rows ||
        h <= 0 || y + h > gdk_pixbuf_get_height(p)) {
        fprintf(stderr, "updates: band %d,%d %dx%d after row %d (prepared %d)\n", x, y, w, h,
                s->rows, s->prepared);
        s->errors++;
        return;
    }
    const int stride = gdk_pixbuf_get_rowstride(p), n = gdk_pixbuf_get_n_channels(p);
    const guchar *px = gdk_pixbuf_read_pixels(p);
    for (int r = y; s->seen != NULL && r < y + h; r++)
        g_byte_array_append(s->seen, px + (size_t)r * stride, (guint)(w * n));
    s->rows = y + h;
}

int main(int argc, char **argv) {
    GError *error = NULL;
    if (argc >= 4 && strcmp(argv[1], "compare") == 0) {
        GdkPixbuf *a = load(argv[2]), *b = load(argv[3]);
        return a == NULL || b == NULL || same(a, b, "compare");
    }
    if (argc == 4 && strcmp(argv[1], "incremental") == 0) {
        gchar *data = NULL;
        gsize size = 0, chunk = (gsize)g_ascii_strtoull(argv[3], NULL, 10);
        if (!g_file_get_contents(argv[2], &data, &size, &error) || chunk == 0) return 2;
        GdkPixbufLoader *loader = gdk_pixbuf_loader_new();
        for (gsize off = 0; off < size; off += chunk) {
            if (!gdk_pixbuf_loader_write(loader, (const guchar *)data + off,
                                         MIN(chunk, size - off), &error)) {
                fprintf(stderr, "write: %s\n", error->message);
                return 1;
            }
        }
        if (!gdk_pixbuf_loader_close(loader, &error)) {
            fprintf(stderr, "close: %s\n", error->message);
            return 1;
        }
        GdkPixbufFormat *format = gdk_pixbuf_loader_get_format(loader);
        printf("loader format %s\n", format ? gdk_pixbuf_format_get_name(format) : "?");
        GdkPixbuf *whole = load(argv[2]);
        return whole == NULL || same(gdk_pixbuf_loader_get_pixbuf(loader), whole, "incremental");
    }
    if ((argc == 3 || (argc == 4 && strcmp(argv[3], "count") == 0)) &&
        strcmp(argv[1], "updates") == 0) {
        gchar *data = NULL;
        gsize size = 0;
        if (!g_file_get_contents(argv[2], &data, &size, &error)) return 2;
        Signals s = {g_thread_self(), 0, 0, 0, 0, 0, argc == 3 ? g_byte_array_new() : NULL};
        GdkPixbufLoader *loader = gdk_pixbuf_loader_new();
        const gint64 start = g_get_monotonic_time();
        g_signal_connect(loader, "area-prepared", G_CALLBACK(on_prepared), &s);
        g_signal_connect(loader, "area-updated", G_CALLBACK(on_updated), &s);
        gboolean written = gdk_pixbuf_loader_write(loader, (const guchar *)data, size, &error);
        g_free(data); /* the loader keeps its own copy */
        if (!written || !gdk_pixbuf_loader_close(loader, &error)) {
            fprintf(stderr, "updates: %s\n", error->message);
            return 1;
        }
        const gint64 end = g_get_monotonic_time();
        GdkPixbuf *p = gdk_pixbuf_loader_get_pixbuf(loader);
        const int h = gdk_pixbuf_get_height(p), w = gdk_pixbuf_get_width(p);
        const int stride = gdk_pixbuf_get_rowstride(p), n = gdk_pixbuf_get_n_channels(p);
        if (s.errors || s.prepared != 1 || s.rows != h) {
            fprintf(stderr, "updates: %d error(s), prepared %d time(s), %d of %d rows\n", s.errors,
                    s.prepared, s.rows, h);
            return 1;
        }
        for (int r = 0; s.seen != NULL && r < h; r++) {
            if (memcmp(s.seen->data + (size_t)r * w * n, gdk_pixbuf_read_pixels(p) + (size_t)r * stride,
                       (size_t)w * n) != 0) {
                fprintf(stderr, "updates: row %d changed after it was announced\n", r);
                return 1;
            }
        }
        printf("updates %d (first band after %.3f s of %.3f s)\n", s.updates,
               (double)(s.first_us - start) / 1e6, (double)(end - start) / 1e6);
        return 0;
    }
    if (argc >= 5 && (argc - 5) % 2 == 0 && strcmp(argv[1], "save") == 0) {
        GdkPixbuf *p = load(argv[2]);
        if (p == NULL) return 1;
        char **keys = g_new0(char *, (gsize)argc), **values = g_new0(char *, (gsize)argc);
        for (int i = 5, k = 0; i < argc; i += 2, k++) keys[k] = argv[i], values[k] = argv[i + 1];
        if (!gdk_pixbuf_savev(p, argv[3], argv[4], keys, values, &error)) {
            fprintf(stderr, "save: %s\n", error->message);
            return 1;
        }
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "save-buffer") == 0) {
        GdkPixbuf *p = load(argv[2]);
        gchar *buf = NULL;
        gsize size = 0;
        if (p == NULL) return 1;
        if (!gdk_pixbuf_save_to_buffer(p, &buf, &size, argv[4], &error, NULL) ||
            !g_file_set_contents(argv[3], buf, (gssize)size, &error)) {
            fprintf(stderr, "save-buffer: %s\n", error->message);
            return 1;
        }
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "info") == 0) {
        gint w = 0, h = 0;
        GdkPixbufFormat *f = gdk_pixbuf_get_file_info(argv[2], &w, &h);
        if (f == NULL) return 1;
        gchar **mime = gdk_pixbuf_format_get_mime_types(f);
        printf("%s %s %dx%d\n", gdk_pixbuf_format_get_name(f), mime[0] ? mime[0] : "?", w, h);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "load") == 0) {
        GdkPixbuf *p = load(argv[2]);
        if (p == NULL) return 1;
        printf("%dx%d\n", gdk_pixbuf_get_width(p), gdk_pixbuf_get_height(p));
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "option") == 0) {
        GdkPixbuf *p = load(argv[2]);
        const gchar *v = p ? gdk_pixbuf_get_option(p, argv[3]) : NULL;
        if (v == NULL) return 1;
        printf("%s\n", v);
        return 0;
    }
    fprintf(stderr, "usage: see the comment at the top of pixbuf-check.c\n");
    return 2;
}
