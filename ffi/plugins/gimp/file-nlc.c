/*
 * GIMP 2.10 file plug-in for .nlc, on libnelloc: load (by extension, MIME type and magic),
 * a thumbnail loader for the Open dialog, and export of 8-bit RGB / RGBA / GRAY / GRAYA
 * layers with the ICC profile, from a dialog with tile size, threads and model. Loads show
 * progress as rows decode (libnelloc's rows callback, from the top).
 *
 * The codec side (nlc_read / nlc_write: bytes and pixels, no GIMP types) is kept apart from
 * the GIMP side so a GIMP 3 port only replaces the second half of this file.
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include <nelloc.h>

#include "nlc-plugin.h"

#include <string.h>

#define LOAD_PROC "file-nlc-load"
#define LOAD_THUMB_PROC "file-nlc-load-thumb"
#define SAVE_PROC "file-nlc-save"
#define PLUG_IN_BINARY "file-nlc"
#define MIME_TYPE "image/x-nlc"

/* ---- codec side ------------------------------------------------------------------------- */

#define NLC_ERROR_QUARK g_quark_from_static_string("file-nlc-error-quark")

static void set_nlc_error(GError **error, const char *what, const char *filename, nlc_status st) {
    char text[640];
    nlcp_error_text(st, text, sizeof text);
    g_set_error(error, NLC_ERROR_QUARK, (gint)st, "%s '%s': %s", what,
                gimp_filename_to_utf8(filename), text);
}

/* The rows callback of a load: GIMP's progress bar. libnelloc calls it on the thread that
 * called nlc_decode, this plug-in's only one, so talking to GIMP from it is safe; `user` is
 * the image height. */
static void load_progress(void *user, uint32_t rows_done, const uint8_t *pixels, size_t stride) {
    (void)pixels, (void)stride;
    gimp_progress_update((gdouble)rows_done / *(const uint32_t *)user);
}

/* Decodes `data` under a pixel budget (`variable` raises it, named in the refusal),
 * reporting progress to GIMP as rows finish when `progress` is set. Returns the image
 * (free with nlc_image_free). */
static nlc_image *nlc_decode_budget(const char *filename, const gchar *data, gsize size,
                                    uint64_t budget, const char *variable, gboolean progress,
                                    GError **error) {
    nlc_header h = {.struct_size = sizeof(nlc_header)};
    nlc_status st = nlc_probe((const uint8_t *)data, size, &h);
    nlc_decoder_options *opts = NULL;
    nlc_image *img = NULL;
    if (st == NLC_OK && (uint64_t)h.width * h.height > budget) {
        /* Checked before decoding: a tiny file may claim a huge, slow image. */
        g_set_error(error, NLC_ERROR_QUARK, NLC_ERROR_LIMIT,
                    "'%s' is %ux%u pixels, over the limit of %" G_GUINT64_FORMAT
                    " pixels (set %s to raise it)",
                    gimp_filename_to_utf8(filename), h.width, h.height, budget, variable);
        return NULL;
    }
    if (st == NLC_OK) st = nlcp_decoder_options(0, budget, 0, &opts);
    if (st == NLC_OK && progress) {
        gimp_progress_init_printf("Opening '%s'", gimp_filename_to_utf8(filename));
        st = nlc_decoder_options_set_rows_callback(opts, load_progress, &h.height);
    }
    if (st == NLC_OK) st = nlc_decode((const uint8_t *)data, size, opts, &img);
    nlc_decoder_options_free(opts);
    if (st != NLC_OK) {
        set_nlc_error(error, "Could not open", filename, st);
        return NULL;
    }
    return img;
}

static nlc_image *nlc_read(const char *filename, uint64_t budget, GError **error) {
    gchar *data = NULL;
    gsize size = 0;
    if (!g_file_get_contents(filename, &data, &size, error)) return NULL;
    nlc_image *img =
        nlc_decode_budget(filename, data, size, budget, "NELLOC_MAX_PIXELS", TRUE, error);
    g_free(data);
    return img;
}

/* The Open dialog's thumbnail of about `size` pixels: the embedded preview (docs/FORMAT.md
 * section 10; milliseconds, no pixel budget) when it is at least that large, or when the
 * image itself is over the thumbnail budget; else the image, under that budget. The full
 * size goes to `*width` x `*height`. */
static nlc_image *nlc_read_thumbnail(const char *filename, gint size, uint32_t *width,
                                     uint32_t *height, GError **error) {
    gchar *data = NULL;
    gsize len = 0;
    if (!g_file_get_contents(filename, &data, &len, error)) return NULL;
    const uint64_t budget = nlcp_thumbnail_max_pixels();
    nlc_stream_info info = {.struct_size = sizeof(nlc_stream_info)};
    nlc_image *img = NULL;
    if (nlc_info((const uint8_t *)data, len, NULL, &info) == NLC_OK &&
        info.struct_size >= sizeof info && info.preview_width > 0) {
        const gboolean large_enough = (gint)MAX(info.preview_width, info.preview_height) >= size;
        if (large_enough || (uint64_t)info.width * info.height > budget) {
            uint32_t embedded = 0;
            if (nlc_decode_preview((const uint8_t *)data, len, NULL, &img, &embedded) == NLC_OK &&
                !embedded) {
                nlc_image_free(img); /* cannot happen after nlc_info found one */
                img = NULL;
            }
        }
    }
    nlc_header h = {.struct_size = sizeof(nlc_header)};
    if (nlc_probe((const uint8_t *)data, len, &h) == NLC_OK) {
        *width = h.width;
        *height = h.height;
    }
    if (img == NULL)
        img = nlc_decode_budget(filename, data, len, budget, "NELLOC_THUMBNAIL_MAX_PIXELS", FALSE,
                                error);
    g_free(data);
    return img;
}

typedef struct {
    gint tile_size; /* 0: the library's default */
    gint threads;   /* 0: all cores */
    gchar model[1024]; /* a .safetensors file; empty: the built-in model */
} NlcSaveVals;

static const NlcSaveVals default_vals = {NLC_DEFAULT_TILE_SIZE, 0, ""};

/* Encodes interleaved 8-bit pixels (+ ICC profile) to `filename` (written atomically). */
static gboolean nlc_write(const char *filename, uint32_t width, uint32_t height,
                          uint32_t color_type, const guint8 *pixels, const guint8 *icc,
                          gsize icc_size, const NlcSaveVals *vals, GError **error) {
    nlc_image *img = NULL;
    nlc_encoder_options *opts = NULL;
    nlc_status st = nlc_image_new(width, height, color_type, pixels, 0, &img);
    if (st == NLC_OK && icc != NULL && icc_size > 0)
        st = nlc_image_set_metadata(img, NLC_METADATA_ICC, icc, icc_size);
    if (st == NLC_OK) st = nlc_encoder_options_new(&opts);
    if (st == NLC_OK && vals->tile_size > 0)
        st = nlc_encoder_options_set_tile_size(opts, (uint32_t)vals->tile_size);
    if (st == NLC_OK && vals->threads > 0)
        st = nlc_encoder_options_set_threads(opts, (uint32_t)vals->threads);
    if (st == NLC_OK && vals->model[0] != '\0')
        st = nlc_encoder_options_set_model_file(opts, NLC_MODEL_COLOR, vals->model);
    if (st == NLC_OK) st = nlc_encode_file(img, opts, filename);
    nlc_encoder_options_free(opts);
    nlc_image_free(img);
    if (st != NLC_OK) {
        set_nlc_error(error, "Could not export", filename, st);
        return FALSE;
    }
    return TRUE;
}

/* ---- GIMP side ---------------------------------------------------------------------------- */

static void query(void);
static void run(const gchar *name, gint nparams, const GimpParam *param, gint *nreturn_vals,
                GimpParam **return_vals);

const GimpPlugInInfo PLUG_IN_INFO = {NULL, NULL, query, run};

MAIN()

static void query(void) {
    static const GimpParamDef load_args[] = {
        {GIMP_PDB_INT32, "run-mode", "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1) }"},
        {GIMP_PDB_STRING, "filename", "The name of the file to load"},
        {GIMP_PDB_STRING, "raw-filename", "The name entered"},
    };
    static const GimpParamDef load_return[] = {{GIMP_PDB_IMAGE, "image", "Output image"}};
    static const GimpParamDef thumb_args[] = {
        {GIMP_PDB_STRING, "filename", "The name of the file to load"},
        {GIMP_PDB_INT32, "thumb-size", "Preferred thumbnail size"},
    };
    static const GimpParamDef thumb_return[] = {
        {GIMP_PDB_IMAGE, "image", "Thumbnail image"},
        {GIMP_PDB_INT32, "image-width", "Width of the full-sized image"},
        {GIMP_PDB_INT32, "image-height", "Height of the full-sized image"},
    };
    static const GimpParamDef save_args[] = {
        {GIMP_PDB_INT32, "run-mode", "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1) }"},
        {GIMP_PDB_IMAGE, "image", "Input image"},
        {GIMP_PDB_DRAWABLE, "drawable", "Drawable to export"},
        {GIMP_PDB_STRING, "filename", "The name of the file to export the image in"},
        {GIMP_PDB_STRING, "raw-filename", "The name entered"},
        {GIMP_PDB_INT32, "tile-size", "Tile edge in pixels (0: 256)"},
        {GIMP_PDB_INT32, "threads", "Worker threads (0: all cores)"},
        {GIMP_PDB_STRING, "model", "Model file (.safetensors) for the colour planes (empty: built in)"},
    };

    gimp_install_procedure(LOAD_PROC, "Loads NeLLoC lossless images (.nlc)",
                           "Loads .nlc images through libnelloc.", "nelloc authors",
                           "nelloc authors", "2026", "NeLLoC lossless image", NULL, GIMP_PLUGIN,
                           G_N_ELEMENTS(load_args), G_N_ELEMENTS(load_return), load_args,
                           load_return);
    gimp_register_file_handler_mime(LOAD_PROC, MIME_TYPE);
    /* The signature 8B 4E 4C 43 0D 0A 1A 0A, in the style of GIMP's PNG plug-in. */
    gimp_register_magic_load_handler(LOAD_PROC, "nlc", "", "0,string,\213NLC\r\n\032\n");

    gimp_install_procedure(LOAD_THUMB_PROC, "Loads a preview from an .nlc image",
                           "Decodes the embedded preview of an .nlc image for the Open "
                           "dialog, or a small image itself; larger ones without a preview "
                           "are refused (NELLOC_THUMBNAIL_MAX_PIXELS).",
                           "nelloc authors", "nelloc authors", "2026", NULL, NULL, GIMP_PLUGIN,
                           G_N_ELEMENTS(thumb_args), G_N_ELEMENTS(thumb_return), thumb_args,
                           thumb_return);
    gimp_register_thumbnail_loader(LOAD_PROC, LOAD_THUMB_PROC);

    gimp_install_procedure(SAVE_PROC, "Exports NeLLoC lossless images (.nlc)",
                           "Exports 8-bit RGB, RGBA, grey and grey+alpha layers to .nlc "
                           "through libnelloc; higher precisions are refused, not reduced.",
                           "nelloc authors", "nelloc authors", "2026", "NeLLoC lossless image",
                           "RGB*, GRAY*", GIMP_PLUGIN, G_N_ELEMENTS(save_args), 0, save_args,
                           NULL);
    gimp_register_file_handler_mime(SAVE_PROC, MIME_TYPE);
    gimp_register_save_handler(SAVE_PROC, "nlc", "");
}

/* A GIMP image with one layer holding the decoded pixels and the ICC profile. */
static gint32 to_gimp_image(const nlc_image *img, const char *filename, GError **error) {
    nlc_pixels px = {.struct_size = sizeof(nlc_pixels)};
    nlc_status st = nlc_image_get(img, &px);
    if (st != NLC_OK) {
        set_nlc_error(error, "Could not open", filename, st);
        return -1;
    }
    GimpImageBaseType base = px.channels <= 2 ? GIMP_GRAY : GIMP_RGB;
    static const GimpImageType types[] = {GIMP_GRAY_IMAGE, GIMP_GRAYA_IMAGE, GIMP_RGB_IMAGE,
                                          GIMP_RGBA_IMAGE};
    static const char *formats[] = {"Y' u8", "Y'A u8", "R'G'B' u8", "R'G'B'A u8"};
    gint32 image = gimp_image_new_with_precision((gint)px.width, (gint)px.height, base,
                                                 GIMP_PRECISION_U8_GAMMA);
    gimp_image_set_filename(image, filename);
    gint32 layer = gimp_layer_new(image, "Background", (gint)px.width, (gint)px.height,
                                  types[px.channels - 1], 100,
                                  gimp_image_get_default_new_layer_mode(image));
    gimp_image_insert_layer(image, layer, -1, 0);
    GeglBuffer *buffer = gimp_drawable_get_buffer(layer);
    gegl_buffer_set(buffer, GEGL_RECTANGLE(0, 0, (gint)px.width, (gint)px.height), 0,
                    babl_format(formats[px.channels - 1]), px.data, (gint)px.stride);
    g_object_unref(buffer);
    const uint8_t *icc = NULL;
    size_t icc_size = 0;
    if (nlc_image_get_metadata(img, NLC_METADATA_ICC, &icc, &icc_size) == NLC_OK && icc_size > 0) {
        GimpColorProfile *profile = gimp_color_profile_new_from_icc_profile(icc, icc_size, NULL);
        /* An unusable profile is dropped, as GIMP's own loaders do, not a load error. */
        if (profile != NULL) {
            gimp_image_set_color_profile(image, profile);
            g_object_unref(profile);
        }
    }
    return image;
}

static gboolean export_drawable(const char *filename, gint32 image, gint32 drawable,
                                const NlcSaveVals *vals, GError **error) {
    GimpPrecision precision = gimp_image_get_precision(image);
    if (precision != GIMP_PRECISION_U8_GAMMA) {
        g_set_error(error, NLC_ERROR_QUARK, NLC_ERROR_INVALID_ARGUMENT,
                    "NLC stores 8-bit perceptual (gamma) images losslessly; this image has a "
                    "higher or linear precision. Convert it with Image > Precision > 8 bit "
                    "integer and Perceptual gamma first: the plug-in does not reduce it.");
        return FALSE;
    }
    if (!gimp_drawable_is_rgb(drawable) && !gimp_drawable_is_gray(drawable)) {
        g_set_error(error, NLC_ERROR_QUARK, NLC_ERROR_INVALID_ARGUMENT,
                    "NLC stores RGB and grey images; convert indexed images to RGB first.");
        return FALSE;
    }
    const gboolean gray = gimp_drawable_is_gray(drawable);
    const gboolean alpha = gimp_drawable_has_alpha(drawable);
    const Babl *format = babl_format(gray ? (alpha ? "Y'A u8" : "Y' u8")
                                          : (alpha ? "R'G'B'A u8" : "R'G'B' u8"));
    const gint w = gimp_drawable_width(drawable), h = gimp_drawable_height(drawable);
    const gsize channels = (gsize)babl_format_get_bytes_per_pixel(format);
    guint8 *pixels = g_try_malloc((gsize)w * (gsize)h * channels);
    if (pixels == NULL) {
        g_set_error(error, NLC_ERROR_QUARK, NLC_ERROR_RESOURCE, "Not enough memory");
        return FALSE;
    }
    GeglBuffer *buffer = gimp_drawable_get_buffer(drawable);
    gegl_buffer_get(buffer, GEGL_RECTANGLE(0, 0, w, h), 1.0, format, pixels, GEGL_AUTO_ROWSTRIDE,
                    GEGL_ABYSS_NONE);
    g_object_unref(buffer);
    GimpColorProfile *profile = gimp_image_get_color_profile(image);
    gsize icc_size = 0;
    const guint8 *icc = profile ? gimp_color_profile_get_icc_profile(profile, &icc_size) : NULL;
    gboolean ok = nlc_write(filename, (uint32_t)w, (uint32_t)h, nlcp_color_type(gray, alpha),
                            pixels, icc, icc_size, vals, error);
    if (profile != NULL) g_object_unref(profile);
    g_free(pixels);
    return ok;
}

static gboolean save_dialog(NlcSaveVals *vals) {
    gimp_ui_init(PLUG_IN_BINARY, FALSE);
    GtkWidget *dialog = gimp_export_dialog_new("NLC", PLUG_IN_BINARY, SAVE_PROC);
    GtkWidget *table = gtk_table_new(3, 2, FALSE);
    gtk_container_set_border_width(GTK_CONTAINER(table), 12);
    gtk_table_set_row_spacings(GTK_TABLE(table), 6);
    gtk_table_set_col_spacings(GTK_TABLE(table), 6);
    gtk_box_pack_start(GTK_BOX(gimp_export_dialog_get_content_area(dialog)), table, TRUE, TRUE, 0);

    GtkWidget *tile = gimp_spin_button_new_with_range(8, 4096, 8);
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(tile), vals->tile_size > 0 ? vals->tile_size
                                                                         : NLC_DEFAULT_TILE_SIZE);
    gtk_widget_set_tooltip_text(tile, "Tiles are coded independently (parallel decoding); "
                                      "larger tiles compress slightly better.");
    gimp_table_attach_aligned(GTK_TABLE(table), 0, 0, "_Tile size:", 0.0, 0.5, tile, 1, TRUE);

    GtkWidget *threads = gimp_spin_button_new_with_range(0, 256, 1);
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(threads), vals->threads);
    gtk_widget_set_tooltip_text(threads, "0 uses all cores. The file does not depend on it.");
    gimp_table_attach_aligned(GTK_TABLE(table), 0, 1, "T_hreads:", 0.0, 0.5, threads, 1, TRUE);

    GtkWidget *model = gtk_file_chooser_button_new("Model file", GTK_FILE_CHOOSER_ACTION_OPEN);
    gtk_file_chooser_button_set_width_chars(GTK_FILE_CHOOSER_BUTTON(model), 24);
    GtkFileFilter *filter = gtk_file_filter_new();
    gtk_file_filter_set_name(filter, "Models (*.safetensors)");
    gtk_file_filter_add_pattern(filter, "*.safetensors");
    gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(model), filter);
    if (vals->model[0] != '\0') gtk_file_chooser_set_filename(GTK_FILE_CHOOSER(model), vals->model);
    gtk_widget_set_tooltip_text(model, "None selected: the built-in model. A stream coded with "
                                       "another model needs that file to decode.");
    gimp_table_attach_aligned(GTK_TABLE(table), 0, 2, "_Model:", 0.0, 0.5, model, 1, TRUE);

    gtk_widget_show_all(dialog);
    gboolean run = gimp_dialog_run(GIMP_DIALOG(dialog)) == GTK_RESPONSE_OK;
    if (run) {
        vals->tile_size = gtk_spin_button_get_value_as_int(GTK_SPIN_BUTTON(tile));
        vals->threads = gtk_spin_button_get_value_as_int(GTK_SPIN_BUTTON(threads));
        gchar *path = gtk_file_chooser_get_filename(GTK_FILE_CHOOSER(model));
        g_strlcpy(vals->model, path ? path : "", sizeof vals->model);
        g_free(path);
    }
    gtk_widget_destroy(dialog);
    return run;
}

static void run(const gchar *name, gint nparams, const GimpParam *param, gint *nreturn_vals,
                GimpParam **return_vals) {
    static GimpParam values[4];
    GimpPDBStatusType status = GIMP_PDB_SUCCESS;
    GError *error = NULL;
    gegl_init(NULL, NULL);
    *nreturn_vals = 1;
    *return_vals = values;
    values[0].type = GIMP_PDB_STATUS;

    if (strcmp(name, LOAD_PROC) == 0 && nparams >= 3) {
        const gchar *filename = param[1].data.d_string;
        nlc_image *img = nlc_read(filename, nlcp_max_pixels(NLCP_EDITOR_MAX_PIXELS), &error);
        gint32 image = img ? to_gimp_image(img, filename, &error) : -1;
        nlc_image_free(img);
        if (image != -1) {
            *nreturn_vals = 2;
            values[1].type = GIMP_PDB_IMAGE;
            values[1].data.d_image = image;
        } else {
            status = GIMP_PDB_EXECUTION_ERROR;
        }
    } else if (strcmp(name, LOAD_THUMB_PROC) == 0 && nparams >= 2) {
        const gchar *filename = param[0].data.d_string;
        const gint size = param[1].data.d_int32;
        uint32_t full_w = 0, full_h = 0;
        nlc_image *img = nlc_read_thumbnail(filename, size, &full_w, &full_h, &error);
        gint32 image = img ? to_gimp_image(img, filename, &error) : -1;
        nlc_image_free(img);
        if (image != -1) {
            const gint w = gimp_image_width(image), h = gimp_image_height(image);
            if (size > 0 && (w > size || h > size)) {
                const gdouble scale = (gdouble)size / MAX(w, h);
                gimp_image_scale(image, MAX(1, (gint)(w * scale)), MAX(1, (gint)(h * scale)));
            }
            *nreturn_vals = 4;
            values[1].type = GIMP_PDB_IMAGE;
            values[1].data.d_image = image;
            /* The image's own size (the preview's, if any, is smaller). */
            values[2].type = GIMP_PDB_INT32;
            values[2].data.d_int32 = (gint32)MIN(full_w, (uint32_t)G_MAXINT32);
            values[3].type = GIMP_PDB_INT32;
            values[3].data.d_int32 = (gint32)MIN(full_h, (uint32_t)G_MAXINT32);
        } else {
            status = GIMP_PDB_EXECUTION_ERROR;
        }
    } else if (strcmp(name, SAVE_PROC) == 0 && nparams >= 5) {
        const GimpRunMode mode = param[0].data.d_int32;
        gint32 image = param[1].data.d_int32, drawable = param[2].data.d_int32;
        const gint32 original = image;
        GimpExportReturn export = GIMP_EXPORT_CANCEL;
        NlcSaveVals vals = default_vals;
        if (mode != GIMP_RUN_NONINTERACTIVE) {
            gimp_get_data(SAVE_PROC, &vals);
            vals.model[sizeof vals.model - 1] = '\0';
            gimp_ui_init(PLUG_IN_BINARY, FALSE);
            /* Flattens layers and converts indexed images to RGB on a copy, as GIMP asks. */
            export = gimp_export_image(&image, &drawable, "NLC",
                                       GIMP_EXPORT_CAN_HANDLE_RGB | GIMP_EXPORT_CAN_HANDLE_GRAY |
                                           GIMP_EXPORT_CAN_HANDLE_ALPHA);
            if (export == GIMP_EXPORT_CANCEL) {
                values[0].data.d_status = GIMP_PDB_CANCEL;
                return;
            }
        } else {
            if (nparams >= 6) vals.tile_size = param[5].data.d_int32;
            if (nparams >= 7) vals.threads = param[6].data.d_int32;
            if (nparams >= 8 && param[7].data.d_string != NULL)
                g_strlcpy(vals.model, param[7].data.d_string, sizeof vals.model);
            if (vals.tile_size < 0 || vals.threads < 0)
                status = GIMP_PDB_CALLING_ERROR;
        }
        if (status == GIMP_PDB_SUCCESS && mode == GIMP_RUN_INTERACTIVE && !save_dialog(&vals))
            status = GIMP_PDB_CANCEL;
        if (status == GIMP_PDB_SUCCESS) {
            if (export_drawable(param[3].data.d_string, image, drawable, &vals, &error))
                gimp_set_data(SAVE_PROC, &vals, sizeof vals);
            else
                status = GIMP_PDB_EXECUTION_ERROR;
        }
        if (export == GIMP_EXPORT_EXPORT && image != original) gimp_image_delete(image);
    } else {
        status = GIMP_PDB_CALLING_ERROR;
    }

    if (status == GIMP_PDB_EXECUTION_ERROR && error != NULL) {
        /* GIMP shows this message to the user (and Script-Fu returns it). */
        *nreturn_vals = 2;
        values[1].type = GIMP_PDB_STRING;
        values[1].data.d_string = error->message;
    }
    values[0].data.d_status = status;
}
