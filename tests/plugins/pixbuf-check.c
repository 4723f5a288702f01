/*
 * Drives gdk-pixbuf for tests/plugins/gdk-pixbuf.sh, the way an application does:
 *   pixbuf-check compare A B           same size, channels and pixels (both via gdk-pixbuf)
 *   pixbuf-check incremental FILE N    GdkPixbufLoader fed N bytes at a time == whole-file load
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
