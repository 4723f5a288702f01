/*
 * gdk-pixbuf 2.x loader for .nlc, on libnelloc: load, incremental load, save (to a file
 * and to a callback). gdk-pixbuf chooses loaders by MIME type, so the loader needs the
 * shared-mime-info package nelloc-mime.xml (image/x-nlc) installed as well.
 *
 * Decoding runs under a pixel budget (../common/nlc-plugin.h): NLCP_VIEWER_MAX_PIXELS for
 * full-size loads, and the stricter NLCP_THUMBNAIL_MAX_PIXELS when the caller asks for a
 * smaller size (thumbnailers, file choosers): the header is checked before anything is
 * decoded, so a hostile file claiming a huge image fails at once. A scaled load no larger
 * than the stream's embedded preview decodes the preview instead, under no budget.
 *
 * Incremental loads (GdkPixbufLoader) buffer the stream, as decoding needs all of it, and
 * decode when it is complete: `prepared` comes before the image decodes, then `updated`
 * for each band of rows libnelloc reports final (nlc_decoder_options_set_rows_callback:
 * tiles decode in row order, so bands arrive from the top while every core works).
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */
#define GDK_PIXBUF_ENABLE_BACKEND
#include <gdk-pixbuf/gdk-pixbuf-io.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#undef GDK_PIXBUF_ENABLE_BACKEND

#include <nelloc.h>

#include "nlc-plugin.h"

#include <string.h>

G_MODULE_EXPORT void fill_vtable(GdkPixbufModule *module);
G_MODULE_EXPORT void fill_info(GdkPixbufFormat *info);

typedef struct {
    GdkPixbufModuleSizeFunc size_func;
    GdkPixbufModulePreparedFunc prepared_func;
    GdkPixbufModuleUpdatedFunc updated_func;
    gpointer user_data;
    GByteArray *data;
    gboolean checked_header;
} NlcContext;

static void set_nlc_error(GError **error, int code, const char *what, nlc_status st) {
    char text[640];
    nlcp_error_text(st, text, sizeof text);
    g_set_error(error, GDK_PIXBUF_ERROR, code, "%s: %s", what, text);
}

/* Refuses a header whose pixel count is over the budget before anything is decoded;
 * `variable` is the environment variable that sets this budget, named in the message. */
static gboolean check_size(uint32_t width, uint32_t height, uint64_t budget,
                           const char *variable, GError **error) {
    if ((uint64_t)width * height > budget) {
        g_set_error(error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_INSUFFICIENT_MEMORY,
                    "NLC image %ux%u is over the loader's limit of %" G_GUINT64_FORMAT
                    " pixels (raise it with %s)",
                    width, height, budget, variable);
        return FALSE;
    }
    return TRUE;
}

static gpointer begin_load(GdkPixbufModuleSizeFunc size_func,
                           GdkPixbufModulePreparedFunc prepared_func,
                           GdkPixbufModuleUpdatedFunc updated_func, gpointer user_data,
                           GError **error) {
    (void)error;
    NlcContext *ctx = g_new0(NlcContext, 1);
    ctx->size_func = size_func;
    ctx->prepared_func = prepared_func;
    ctx->updated_func = updated_func;
    ctx->user_data = user_data;
    ctx->data = g_byte_array_new();
    return ctx;
}

static gboolean load_increment(gpointer context, const guchar *buf, guint size, GError **error) {
    NlcContext *ctx = context;
    g_byte_array_append(ctx->data, buf, size);
    if (!ctx->checked_header && ctx->data->len >= NLC_PROBE_BYTES) {
        /* Fail early on a non-.nlc or oversized file rather than buffer all of it. */
        nlc_header h = {.struct_size = sizeof(nlc_header)};
        nlc_status st = nlc_probe(ctx->data->data, ctx->data->len, &h);
        if (st != NLC_OK) {
            set_nlc_error(error, GDK_PIXBUF_ERROR_CORRUPT_IMAGE, "Not a readable NLC image", st);
            return FALSE;
        }
        if (!check_size(h.width, h.height, nlcp_max_pixels(NLCP_VIEWER_MAX_PIXELS),
                        "NELLOC_MAX_PIXELS", error))
            return FALSE;
        ctx->checked_header = TRUE;
    }
    return TRUE;
}

/* The embedded preview (docs/FORMAT.md section 10) when the stream has one at least
 * `width` x `height`, or a smaller one when the image itself is over the pixel budget
 * (`over_budget`: a thumbnail scaled up beats none); else NULL. It decodes in milliseconds
 * whatever the image's size (at most 1024 x 1024, no network), so no pixel budget applies
 * to it, and gdk-pixbuf scales it to the size asked for. A damaged preview is NULL too:
 * the caller decodes the image. */
static nlc_image *decode_preview(const guint8 *data, gsize size, uint32_t width, uint32_t height,
                                 gboolean over_budget) {
    nlc_stream_info info = {.struct_size = sizeof(nlc_stream_info)};
    if (nlc_info(data, size, NULL, &info) != NLC_OK || info.struct_size < sizeof info ||
        info.preview_width == 0)
        return NULL;
    if (!over_budget && (info.preview_width < width || info.preview_height < height))
        return NULL;
    nlc_image *img = NULL;
    uint32_t embedded = 0;
    if (nlc_decode_preview(data, size, NULL, &img, &embedded) != NLC_OK) return NULL;
    if (!embedded) { /* cannot happen after nlc_info said there is one; never decode twice */
        nlc_image_free(img);
        return NULL;
    }
    return img;
}

/* A new pixbuf for an image of `channels` samples per pixel (grey is expanded to RGB). */
static GdkPixbuf *new_pixbuf(uint32_t width, uint32_t height, uint32_t channels, GError **error) {
    const gboolean alpha = channels == 2 || channels == 4;
    GdkPixbuf *pixbuf = gdk_pixbuf_new(GDK_COLORSPACE_RGB, alpha, 8, (int)width, (int)height);
    if (pixbuf == NULL)
        g_set_error(error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_INSUFFICIENT_MEMORY,
                    "Not enough memory for a %ux%u image", width, height);
    return pixbuf;
}

/* Copies rows y0..y1 of unpadded `channels`-sample pixels (`src` at row 0) into `pixbuf`. */
static void copy_rows(GdkPixbuf *pixbuf, const uint8_t *src, size_t stride, uint32_t channels,
                      uint32_t y0, uint32_t y1) {
    const uint32_t width = (uint32_t)gdk_pixbuf_get_width(pixbuf);
    const gboolean alpha = channels == 2 || channels == 4;
    const int n = alpha ? 4 : 3;
    guchar *pixels = gdk_pixbuf_get_pixels(pixbuf);
    const size_t rowstride = (size_t)gdk_pixbuf_get_rowstride(pixbuf);
    for (uint32_t y = y0; y < y1; y++) {
        const uint8_t *s = src + (size_t)y * stride;
        guchar *d = pixels + (size_t)y * rowstride;
        if (channels >= 3) {
            memcpy(d, s, (size_t)width * channels);
            continue;
        }
        for (uint32_t x = 0; x < width; x++, s += channels, d += n) {
            d[0] = d[1] = d[2] = s[0]; /* gdk-pixbuf has no grey: expand */
            if (alpha) d[3] = s[1];
        }
    }
}

/* Rows of the image as libnelloc finishes them (tiles decode in row order), copied into the
 * pixbuf and announced with the updated callback: viewers show the image as it decodes. */
typedef struct {
    GdkPixbuf *pixbuf;
    uint32_t channels, rows;
    GdkPixbufModuleUpdatedFunc updated_func;
    gpointer user_data;
} RowsSink;

static void on_rows(void *user, uint32_t rows_done, const uint8_t *pixels, size_t stride) {
    /* libnelloc calls this on the thread that called nlc_decode (this loader's caller). */
    RowsSink *sink = user;
    copy_rows(sink->pixbuf, pixels, stride, sink->channels, sink->rows, rows_done);
    if (sink->updated_func != NULL)
        sink->updated_func(sink->pixbuf, 0, (int)sink->rows, gdk_pixbuf_get_width(sink->pixbuf),
                           (int)(rows_done - sink->rows), sink->user_data);
    sink->rows = rows_done;
}

/* Decodes `data` into a new pixbuf, calling the size, prepared and updated callbacks on the
 * way: prepared before the image itself decodes, updated as its rows finish (once for the
 * embedded preview); NULL with `*error` set on failure, NULL without an error if the size
 * callback declined. */
static GdkPixbuf *decode(const guint8 *data, gsize size, GdkPixbufModuleSizeFunc size_func,
                         gpointer user_data, GdkPixbufModulePreparedFunc prepared_func,
                         GdkPixbufModuleUpdatedFunc updated_func, GError **error) {
    nlc_header h = {.struct_size = sizeof(nlc_header)};
    nlc_status st = nlc_probe(data, size, &h);
    if (st != NLC_OK) {
        set_nlc_error(error, GDK_PIXBUF_ERROR_CORRUPT_IMAGE, "Not a readable NLC image", st);
        return NULL;
    }
    uint64_t budget = nlcp_max_pixels(NLCP_VIEWER_MAX_PIXELS);
    const char *variable = "NELLOC_MAX_PIXELS";
    nlc_image *img = NULL;
    if (size_func != NULL) {
        gint w = (gint)MIN(h.width, (uint32_t)G_MAXINT), hh = (gint)MIN(h.height, (uint32_t)G_MAXINT);
        size_func(&w, &hh, user_data);
        if (w == 0 || hh == 0) return NULL; /* only the size was wanted */
        /* A smaller size than the image's was asked for: a thumbnail or preview. */
        if ((uint32_t)w < h.width || (uint32_t)hh < h.height) {
            uint64_t thumb = nlcp_thumbnail_max_pixels();
            if (thumb < budget) {
                budget = thumb;
                variable = "NELLOC_THUMBNAIL_MAX_PIXELS";
            }
            img = decode_preview(data, size, (uint32_t)w, (uint32_t)hh,
                                 (uint64_t)h.width * h.height > budget);
        }
    }
    if (img == NULL && !check_size(h.width, h.height, budget, variable, error)) return NULL;

    nlc_pixels px = {.struct_size = sizeof(nlc_pixels)};
    GdkPixbuf *pixbuf = NULL;
    if (img == NULL) {
        /* The image itself: the pixbuf first (prepared at once, so that a viewer can show
         * it), filled as rows finish. */
        pixbuf = new_pixbuf(h.width, h.height, h.channels, error);
        if (pixbuf == NULL) return NULL;
        gdk_pixbuf_fill(pixbuf, 0);
        if (prepared_func != NULL) prepared_func(pixbuf, NULL, user_data);
        RowsSink sink = {pixbuf, h.channels, 0, updated_func, user_data};
        nlc_decoder_options *opts = NULL;
        st = nlcp_decoder_options(0, budget, 0, &opts);
        if (st == NLC_OK) st = nlc_decoder_options_set_rows_callback(opts, on_rows, &sink);
        if (st == NLC_OK) st = nlc_decode(data, size, opts, &img);
        nlc_decoder_options_free(opts);
        if (st == NLC_OK) st = nlc_image_get(img, &px);
        if (st == NLC_OK && sink.rows != px.height) /* cannot happen: the last call has all */
            copy_rows(pixbuf, px.data, px.stride, px.channels, sink.rows, px.height);
    } else {
        st = nlc_image_get(img, &px);
        if (st == NLC_OK) {
            pixbuf = new_pixbuf(px.width, px.height, px.channels, error);
            if (pixbuf == NULL) {
                nlc_image_free(img);
                return NULL;
            }
            copy_rows(pixbuf, px.data, px.stride, px.channels, 0, px.height);
            if (prepared_func != NULL) prepared_func(pixbuf, NULL, user_data);
            if (updated_func != NULL)
                updated_func(pixbuf, 0, 0, (int)px.width, (int)px.height, user_data);
        }
    }
    if (st != NLC_OK) {
        set_nlc_error(error,
                      st == NLC_ERROR_LIMIT ? GDK_PIXBUF_ERROR_INSUFFICIENT_MEMORY
                                            : GDK_PIXBUF_ERROR_CORRUPT_IMAGE,
                      "Cannot decode NLC image", st);
        nlc_image_free(img);
        if (pixbuf != NULL) g_object_unref(pixbuf);
        return NULL;
    }
    const uint8_t *icc = NULL;
    size_t icc_size = 0;
    if (nlc_image_get_metadata(img, NLC_METADATA_ICC, &icc, &icc_size) == NLC_OK && icc_size > 0) {
        /* The key and encoding gdk-pixbuf's PNG, TIFF and JPEG loaders use. */
        gchar *b64 = g_base64_encode(icc, icc_size);
        gdk_pixbuf_set_option(pixbuf, "icc-profile", b64);
        g_free(b64);
    }
    nlc_image_free(img);
    return pixbuf;
}

static gboolean stop_load(gpointer context, GError **error) {
    NlcContext *ctx = context;
    gboolean ok = TRUE;
    GError *err = NULL;
    GdkPixbuf *pixbuf = decode(ctx->data->data, ctx->data->len, ctx->size_func, ctx->user_data,
                               ctx->prepared_func, ctx->updated_func, &err);
    if (pixbuf != NULL) {
        g_object_unref(pixbuf);
    } else if (err != NULL) {
        g_propagate_error(error, err);
        ok = FALSE;
    }
    g_byte_array_unref(ctx->data);
    g_free(ctx);
    return ok;
}

static GdkPixbuf *load(FILE *f, GError **error) {
    GByteArray *data = g_byte_array_new();
    guchar buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) g_byte_array_append(data, buf, (guint)n);
    GdkPixbuf *pixbuf = NULL;
    if (ferror(f)) {
        g_set_error_literal(error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_FAILED,
                            "Error reading NLC file");
    } else {
        pixbuf = decode(data->data, data->len, NULL, NULL, NULL, NULL, error);
    }
    g_byte_array_unref(data);
    return pixbuf;
}

static gboolean parse_uint_option(const char *key, const char *value, guint64 max, guint64 *out,
                                  GError **error) {
    gchar *end = NULL;
    guint64 v = g_ascii_strtoull(value, &end, 10);
    if (end == value || *end != '\0' || v > max) {
        g_set_error(error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_BAD_OPTION,
                    "NLC option %s must be an integer from 0 to %" G_GUINT64_FORMAT ", not '%s'",
                    key, max, value);
        return FALSE;
    }
    *out = v;
    return TRUE;
}

/* Encodes `pixbuf` with the save options (tile-size, threads, model, icc-profile). */
static gboolean encode(GdkPixbuf *pixbuf, gchar **keys, gchar **values, uint8_t **out,
                       size_t *out_size, GError **error) {
    if (gdk_pixbuf_get_bits_per_sample(pixbuf) != 8 ||
        gdk_pixbuf_get_colorspace(pixbuf) != GDK_COLORSPACE_RGB) {
        g_set_error_literal(error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_UNKNOWN_TYPE,
                            "NLC holds 8-bit RGB images only");
        return FALSE;
    }
    nlc_encoder_options *opts = NULL;
    nlc_image *img = NULL;
    gboolean ok = FALSE;
    guchar *icc = NULL;
    gsize icc_size = 0;
    nlc_status st = nlc_encoder_options_new(&opts);
    if (st != NLC_OK) goto nlc_fail;
    for (int i = 0; keys != NULL && keys[i] != NULL; i++) {
        guint64 v = 0;
        if (strcmp(keys[i], "tile-size") == 0) {
            if (!parse_uint_option(keys[i], values[i], G_MAXUINT32, &v, error)) goto out;
            st = nlc_encoder_options_set_tile_size(opts, (uint32_t)v);
        } else if (strcmp(keys[i], "threads") == 0) {
            if (!parse_uint_option(keys[i], values[i], 4096, &v, error)) goto out;
            st = nlc_encoder_options_set_threads(opts, (uint32_t)v);
        } else if (strcmp(keys[i], "model") == 0) {
            st = nlc_encoder_options_set_model_file(opts, NLC_MODEL_COLOR, values[i]);
        } else if (strcmp(keys[i], "icc-profile") == 0) {
            g_free(icc);
            icc = g_base64_decode(values[i], &icc_size);
        } else {
            g_set_error(error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_BAD_OPTION,
                        "Unknown NLC save option '%s' (known: tile-size, threads, model, "
                        "icc-profile)",
                        keys[i]);
            goto out;
        }
        if (st != NLC_OK) goto nlc_fail;
    }
    const gboolean alpha = gdk_pixbuf_get_has_alpha(pixbuf);
    const int w = gdk_pixbuf_get_width(pixbuf), h = gdk_pixbuf_get_height(pixbuf);
    /* Rows of a pixbuf may be padded; the library takes the stride. The last row of a
     * pixbuf is not padded, which nlc_image_new's size check allows for. */
    st = nlc_image_new((uint32_t)w, (uint32_t)h, nlcp_color_type(0, alpha),
                       gdk_pixbuf_read_pixels(pixbuf), (size_t)gdk_pixbuf_get_rowstride(pixbuf),
                       &img);
    if (st == NLC_OK && icc != NULL && icc_size > 0)
        st = nlc_image_set_metadata(img, NLC_METADATA_ICC, icc, icc_size);
    if (st == NLC_OK) st = nlc_encode(img, opts, out, out_size);
    if (st == NLC_OK) {
        ok = TRUE;
        goto out;
    }
nlc_fail:
    set_nlc_error(error, GDK_PIXBUF_ERROR_FAILED, "Cannot encode NLC image", st);
out:
    g_free(icc);
    nlc_image_free(img);
    nlc_encoder_options_free(opts);
    return ok;
}

static gboolean save(FILE *f, GdkPixbuf *pixbuf, gchar **keys, gchar **values, GError **error) {
    uint8_t *out = NULL;
    size_t out_size = 0;
    if (!encode(pixbuf, keys, values, &out, &out_size, error)) return FALSE;
    gboolean ok = fwrite(out, 1, out_size, f) == out_size;
    nlc_free(out);
    if (!ok)
        g_set_error_literal(error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_FAILED,
                            "Error writing NLC file");
    return ok;
}

static gboolean save_to_callback(GdkPixbufSaveFunc save_func, gpointer user_data,
                                 GdkPixbuf *pixbuf, gchar **keys, gchar **values,
                                 GError **error) {
    uint8_t *out = NULL;
    size_t out_size = 0;
    if (!encode(pixbuf, keys, values, &out, &out_size, error)) return FALSE;
    gboolean ok = save_func((const gchar *)out, out_size, error, user_data);
    nlc_free(out);
    return ok;
}

static gboolean is_save_option_supported(const gchar *option_key) {
    return strcmp(option_key, "tile-size") == 0 || strcmp(option_key, "threads") == 0 ||
           strcmp(option_key, "model") == 0 || strcmp(option_key, "icc-profile") == 0;
}

G_MODULE_EXPORT void fill_vtable(GdkPixbufModule *module) {
    module->load = load;
    module->begin_load = begin_load;
    module->stop_load = stop_load;
    module->load_increment = load_increment;
    module->save = save;
    module->save_to_callback = save_to_callback;
    module->is_save_option_supported = is_save_option_supported;
}

G_MODULE_EXPORT void fill_info(GdkPixbufFormat *info) {
    /* The signature 8B 4E 4C 43 0D 0A 1A 0A. */
    static GdkPixbufModulePattern signature[] = {
        {(gchar *)"\x8bNLC\r\n\x1a\n", NULL, 100},
        {NULL, NULL, 0},
    };
    static gchar *mime_types[] = {(gchar *)"image/x-nlc", NULL};
    static gchar *extensions[] = {(gchar *)"nlc", NULL};
    info->name = (gchar *)"nlc";
    info->signature = signature;
    info->description = (gchar *)"NeLLoC lossless image";
    info->mime_types = mime_types;
    info->extensions = extensions;
    /* Every call works on its own data: libnelloc is thread-safe. */
    info->flags = GDK_PIXBUF_FORMAT_WRITABLE | GDK_PIXBUF_FORMAT_THREADSAFE;
    info->license = (gchar *)"MIT";
}
