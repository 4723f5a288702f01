/*
 * NLC coder module for ImageMagick 6 (MagickCore Q16): reads and writes .nlc through
 * libnelloc. Built out of tree (see the Makefile); ImageMagick finds it through
 * MAGICK_CODER_MODULE_PATH or in its coder directory, and magic.xml maps the signature to
 * the NLC coder so files without the extension are recognised before the module is loaded.
 *
 * Only 8-bit samples fit the codec: a Q16 image whose samples are not exactly 8-bit values
 * (v == 257 * k) is refused, never rounded. Decoding runs under ImageMagick's resource
 * limits (width, height, area, threads) and the pixel budget of ../common/nlc-plugin.h.
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */
#include <magick/MagickCore.h>
#include <nelloc.h>

#include "nlc-plugin.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NLC_CODER_DESCRIPTION "NeLLoC neural lossless image (.nlc)"

/* Blob I/O: exported by libMagickCore-6 (the ABI every coder uses) but declared in
 * magick/blob-private.h, which is not installed. Values as in ImageMagick 6. */
typedef enum { NlcReadBinaryBlobMode = 2, NlcWriteBinaryBlobMode = 4 } NlcBlobMode;
extern MagickBooleanType OpenBlob(const ImageInfo *, Image *, const NlcBlobMode, ExceptionInfo *);
extern ssize_t ReadBlob(Image *, const size_t, unsigned char *);
extern ssize_t WriteBlob(Image *, const size_t, const unsigned char *);
extern MagickBooleanType CloseBlob(Image *);

/* One 8-bit step in Quantum units (257 at Q16); quantum-private.h is not installed either. */
#define NLC_QUANTUM_STEP ((Quantum)(QuantumRange / 255))
#define ScaleCharToQuantum(c) ((Quantum)((Quantum)(c) * NLC_QUANTUM_STEP))

ModuleExport size_t RegisterNLCImage(void);
ModuleExport void UnregisterNLCImage(void);

/* ImageMagick's EXIF profile carries the "Exif\0\0" prefix; the .nlc EXIF block does not. */
static const unsigned char exif_prefix[6] = {'E', 'x', 'i', 'f', 0, 0};

/* Reports a libnelloc failure as an ImageMagick exception with the library's message. */
static void throw_nlc(ExceptionInfo *exception, ExceptionType severity, const char *what,
                      nlc_status st, const char *filename) {
    char text[640];
    nlcp_error_text(st, text, sizeof text);
    (void)ThrowMagickException(exception, GetMagickModule(), severity, what, "`%s': %s",
                               filename, text);
}

static MagickBooleanType IsNLC(const unsigned char *magick, const size_t length) {
    nlc_header h = {.struct_size = sizeof(nlc_header)};
    if (length < NLC_MAGIC_LENGTH) return MagickFalse;
    /* Enough bytes for the signature but maybe not the whole fixed header: TRUNCATED still
     * means the signature matched. */
    nlc_status st = nlc_probe(magick, length, &h);
    return (st == NLC_OK || st == NLC_ERROR_TRUNCATED) ? MagickTrue : MagickFalse;
}

/* The whole blob in memory (files, pipes, memory blobs alike). */
static unsigned char *read_whole_blob(Image *image, size_t *size) {
    size_t cap = 1 << 16, len = 0;
    MagickSizeType known = GetBlobSize(image);
    if (known > 0 && known < (MagickSizeType)SIZE_MAX) cap = (size_t)known + 1;
    unsigned char *buf = malloc(cap);
    if (buf == NULL) return NULL;
    for (;;) {
        if (len == cap) {
            if (cap > SIZE_MAX / 2) {
                free(buf);
                return NULL;
            }
            unsigned char *bigger = realloc(buf, cap * 2);
            if (bigger == NULL) {
                free(buf);
                return NULL;
            }
            buf = bigger;
            cap *= 2;
        }
        ssize_t n = ReadBlob(image, cap - len, buf + len);
        if (n <= 0) break;
        len += (size_t)n;
    }
    *size = len;
    return buf;
}

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* Decoder options under ImageMagick's resource limits (width, height, area, threads) and
 * the editor pixel budget (NELLOC_MAX_PIXELS). */
static nlc_status decoder_options(nlc_decoder_options **out) {
    uint64_t max_pixels = nlcp_max_pixels(NLCP_EDITOR_MAX_PIXELS);
    max_pixels = min_u64(max_pixels, (uint64_t)GetMagickResourceLimit(AreaResource));
    uint64_t max_dim = NLC_DEFAULT_MAX_DIMENSION;
    max_dim = min_u64(max_dim, (uint64_t)GetMagickResourceLimit(WidthResource));
    max_dim = min_u64(max_dim, (uint64_t)GetMagickResourceLimit(HeightResource));
    MagickSizeType threads = GetMagickResourceLimit(ThreadResource);
    return nlcp_decoder_options(max_dim == 0 ? 1 : (uint32_t)max_dim,
                                max_pixels == 0 ? 1 : max_pixels,
                                threads > 0 && threads < 1024 ? (uint32_t)threads : 0, out);
}

static void attach_profile(Image *image, const char *name, const uint8_t *data, size_t size,
                           int exif) {
    StringInfo *profile = AcquireStringInfo(size + (exif ? sizeof exif_prefix : 0));
    unsigned char *datum = GetStringInfoDatum(profile);
    if (exif) memcpy(datum, exif_prefix, sizeof exif_prefix);
    memcpy(datum + (exif ? sizeof exif_prefix : 0), data, size);
    (void)SetImageProfile(image, name, profile);
    profile = DestroyStringInfo(profile);
}

static Image *ReadNLCImage(const ImageInfo *image_info, ExceptionInfo *exception) {
    Image *image = AcquireImage(image_info);
    if (OpenBlob(image_info, image, NlcReadBinaryBlobMode, exception) == MagickFalse) {
        image = DestroyImageList(image);
        return NULL;
    }
    size_t size = 0;
    unsigned char *data = read_whole_blob(image, &size);
    (void)CloseBlob(image);
    if (data == NULL) {
        (void)ThrowMagickException(exception, GetMagickModule(), ResourceLimitError,
                                   "MemoryAllocationFailed", "`%s'", image_info->filename);
        return DestroyImageList(image);
    }
    nlc_decoder_options *opts = NULL;
    nlc_image *decoded = NULL;
    nlc_stream_info info = {.struct_size = sizeof(nlc_stream_info)};
    nlc_status st = decoder_options(&opts);
    if (st == NLC_OK) st = nlc_info(data, size, opts, &info);
    if (st != NLC_OK) {
        throw_nlc(exception, CorruptImageError, "ImproperImageHeader", st, image_info->filename);
        goto fail;
    }
    image->columns = info.width;
    image->rows = info.height;
    image->depth = 8;
    int gray = info.color_type == NLC_COLOR_GRAY8 || info.color_type == NLC_COLOR_GRAYA8;
    image->matte = (info.color_type == NLC_COLOR_GRAYA8 || info.color_type == NLC_COLOR_RGBA8)
                       ? MagickTrue
                       : MagickFalse;
    if (gray) (void)SetImageColorspace(image, GRAYColorspace);
    if (image_info->ping != MagickFalse) {
        /* identify: the header is enough, no pixels are decoded. */
        nlc_decoder_options_free(opts);
        free(data);
        return GetFirstImageInList(image);
    }
    /* ImageMagick's own width/height/area policy applies before any decoding. */
    if (SetImageExtent(image, image->columns, image->rows) == MagickFalse) {
        InheritException(exception, &image->exception);
        goto fail;
    }
    st = nlc_decode(data, size, opts, &decoded);
    nlc_pixels px = {.struct_size = sizeof(nlc_pixels)};
    if (st == NLC_OK) st = nlc_image_get(decoded, &px);
    if (st != NLC_OK) {
        throw_nlc(exception, st == NLC_ERROR_LIMIT ? ResourceLimitError : CorruptImageError,
                  "UnableToReadImageData", st, image_info->filename);
        goto fail;
    }
    const unsigned int ch = px.channels;
    for (size_t y = 0; y < px.height; y++) {
        PixelPacket *q = QueueAuthenticPixels(image, 0, (ssize_t)y, image->columns, 1, exception);
        if (q == NULL) goto fail;
        const uint8_t *row = px.data + y * px.stride;
        for (size_t x = 0; x < px.width; x++, q++) {
            const uint8_t *s = row + x * ch;
            if (gray) {
                SetPixelGray(q, ScaleCharToQuantum(s[0]));
                SetPixelAlpha(q, ch == 2 ? ScaleCharToQuantum(s[1]) : QuantumRange);
            } else {
                SetPixelRed(q, ScaleCharToQuantum(s[0]));
                SetPixelGreen(q, ScaleCharToQuantum(s[1]));
                SetPixelBlue(q, ScaleCharToQuantum(s[2]));
                SetPixelAlpha(q, ch == 4 ? ScaleCharToQuantum(s[3]) : QuantumRange);
            }
        }
        if (SyncAuthenticPixels(image, exception) == MagickFalse) goto fail;
    }
    static const struct {
        uint32_t kind;
        const char *name;
    } kinds[] = {{NLC_METADATA_ICC, "icc"}, {NLC_METADATA_EXIF, "exif"}, {NLC_METADATA_XMP, "xmp"}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        const uint8_t *meta = NULL;
        size_t meta_size = 0;
        if (nlc_image_get_metadata(decoded, kinds[i].kind, &meta, &meta_size) == NLC_OK &&
            meta_size > 0)
            attach_profile(image, kinds[i].name, meta, meta_size,
                           kinds[i].kind == NLC_METADATA_EXIF);
    }
    nlc_image_free(decoded);
    nlc_decoder_options_free(opts);
    free(data);
    return GetFirstImageInList(image);
fail:
    nlc_image_free(decoded);
    nlc_decoder_options_free(opts);
    free(data);
    return DestroyImageList(image);
}

/* The sample as an 8-bit value, or -1 if the Q16 value is not exactly one. */
static int exact8(Quantum q) {
    return q % NLC_QUANTUM_STEP == 0 ? (int)(q / NLC_QUANTUM_STEP) : -1;
}

static nlc_status encoder_options(const ImageInfo *image_info, nlc_encoder_options **out) {
    nlc_encoder_options *o = NULL;
    nlc_status st = nlc_encoder_options_new(&o);
    if (st != NLC_OK) return st;
    /* -define nlc:tile-size=N, nlc:threads=N, nlc:model=FILE.safetensors */
    const char *v = GetImageOption(image_info, "nlc:tile-size");
    if (st == NLC_OK && v != NULL) {
        unsigned long n = strtoul(v, NULL, 10);
        st = n > 0 && n <= UINT32_MAX ? nlc_encoder_options_set_tile_size(o, (uint32_t)n)
                                       : NLC_ERROR_INVALID_ARGUMENT;
    }
    v = GetImageOption(image_info, "nlc:threads");
    MagickSizeType limit = GetMagickResourceLimit(ThreadResource);
    if (st == NLC_OK && v != NULL)
        st = nlc_encoder_options_set_threads(o, (uint32_t)strtoul(v, NULL, 10));
    else if (st == NLC_OK && limit > 0 && limit < 1024)
        st = nlc_encoder_options_set_threads(o, (uint32_t)limit);
    v = GetImageOption(image_info, "nlc:model");
    if (st == NLC_OK && v != NULL) st = nlc_encoder_options_set_model_file(o, NLC_MODEL_COLOR, v);
    if (st != NLC_OK) {
        nlc_encoder_options_free(o);
        return st;
    }
    *out = o;
    return NLC_OK;
}

static MagickBooleanType WriteNLCImage(const ImageInfo *image_info, Image *image) {
    ExceptionInfo *exception = &image->exception;
    const ColorspaceType cs = image->colorspace;
    const int gray = cs == GRAYColorspace || cs == LinearGRAYColorspace ||
                     image->type == GrayscaleType || image->type == GrayscaleMatteType;
    if (!gray && cs != sRGBColorspace && cs != RGBColorspace && cs != TransparentColorspace &&
        cs != UndefinedColorspace) {
        (void)ThrowMagickException(exception, GetMagickModule(), CoderError,
                                   "ColorspaceNotSupported",
                                   "`%s': .nlc holds 8-bit RGB or grey only; convert it to sRGB "
                                   "first (-colorspace sRGB)",
                                   image->filename);
        return MagickFalse;
    }
    const int alpha = image->matte != MagickFalse;
    const unsigned int ch = (gray ? 1u : 3u) + (alpha ? 1u : 0u);
    const uint32_t color_type = nlcp_color_type(gray, alpha);
    if (image->columns == 0 || image->rows == 0 || image->columns > UINT32_MAX ||
        image->rows > UINT32_MAX || image->columns > SIZE_MAX / ch / image->rows) {
        (void)ThrowMagickException(exception, GetMagickModule(), ImageError,
                                   "WidthOrHeightExceedsLimit", "`%s'", image->filename);
        return MagickFalse;
    }
    const size_t stride = image->columns * ch;
    unsigned char *buf = malloc(stride * image->rows);
    if (buf == NULL) {
        (void)ThrowMagickException(exception, GetMagickModule(), ResourceLimitError,
                                   "MemoryAllocationFailed", "`%s'", image->filename);
        return MagickFalse;
    }
    for (size_t y = 0; y < image->rows; y++) {
        const PixelPacket *p = GetVirtualPixels(image, 0, (ssize_t)y, image->columns, 1, exception);
        if (p == NULL) {
            free(buf);
            return MagickFalse;
        }
        unsigned char *row = buf + y * stride;
        for (size_t x = 0; x < image->columns; x++, p++) {
            int s[4], n = 0;
            if (gray) {
                s[n++] = exact8(GetPixelRed(p));
                /* A grey image whose channels differ is not grey: refuse rather than drop. */
                if (GetPixelGreen(p) != GetPixelRed(p) || GetPixelBlue(p) != GetPixelRed(p))
                    s[0] = -1;
            } else {
                s[n++] = exact8(GetPixelRed(p));
                s[n++] = exact8(GetPixelGreen(p));
                s[n++] = exact8(GetPixelBlue(p));
            }
            if (alpha) s[n++] = exact8(GetPixelAlpha(p));
            for (int i = 0; i < n; i++) {
                if (s[i] < 0) {
                    (void)ThrowMagickException(
                        exception, GetMagickModule(), CoderError, "ImageDepthNotSupported",
                        "`%s': pixel (%zu,%zu) is not an exact 8-bit value; .nlc is lossless "
                        "8-bit only and will not round it (use -depth 8 to reduce explicitly)",
                        image->filename, x, y);
                    free(buf);
                    return MagickFalse;
                }
                row[x * ch + (size_t)i] = (unsigned char)s[i];
            }
        }
    }
    nlc_image *img = NULL;
    nlc_encoder_options *opts = NULL;
    uint8_t *out = NULL;
    size_t out_size = 0;
    nlc_status st = nlc_image_new((uint32_t)image->columns, (uint32_t)image->rows, color_type,
                                  buf, stride, &img);
    free(buf);
    static const struct {
        uint32_t kind;
        const char *name;
    } kinds[] = {{NLC_METADATA_ICC, "icc"}, {NLC_METADATA_EXIF, "exif"}, {NLC_METADATA_XMP, "xmp"}};
    for (size_t i = 0; st == NLC_OK && i < sizeof kinds / sizeof kinds[0]; i++) {
        const StringInfo *profile = GetImageProfile(image, kinds[i].name);
        if (profile == NULL) continue;
        const unsigned char *d = GetStringInfoDatum(profile);
        size_t n = GetStringInfoLength(profile);
        if (kinds[i].kind == NLC_METADATA_EXIF && n >= sizeof exif_prefix &&
            memcmp(d, exif_prefix, sizeof exif_prefix) == 0) {
            d += sizeof exif_prefix;
            n -= sizeof exif_prefix;
        }
        if (n > 0) st = nlc_image_set_metadata(img, kinds[i].kind, d, n);
    }
    if (st == NLC_OK) st = encoder_options(image_info, &opts);
    if (st == NLC_OK) st = nlc_encode(img, opts, &out, &out_size);
    nlc_encoder_options_free(opts);
    nlc_image_free(img);
    if (st != NLC_OK) {
        throw_nlc(exception, CoderError, "UnableToWriteImageData", st, image->filename);
        return MagickFalse;
    }
    MagickBooleanType ok = OpenBlob(image_info, image, NlcWriteBinaryBlobMode, exception);
    if (ok != MagickFalse) {
        ok = WriteBlob(image, out_size, out) == (ssize_t)out_size ? MagickTrue : MagickFalse;
        if (ok == MagickFalse)
            (void)ThrowMagickException(exception, GetMagickModule(), CoderError,
                                       "UnableToWriteBlob", "`%s'", image->filename);
        (void)CloseBlob(image);
    }
    nlc_free(out);
    return ok;
}

ModuleExport size_t RegisterNLCImage(void) {
    MagickInfo *entry = SetMagickInfo("NLC");
    entry->decoder = (DecodeImageHandler *)ReadNLCImage;
    entry->encoder = (EncodeImageHandler *)WriteNLCImage;
    entry->magick = (IsImageFormatHandler *)IsNLC;
    entry->adjoin = MagickFalse;
    entry->seekable_stream = MagickFalse;
    entry->description = ConstantString(NLC_CODER_DESCRIPTION);
    entry->mime_type = ConstantString("image/x-nlc");
    entry->version = ConstantString(nlc_version_string());
    entry->magick_module = ConstantString("NLC");
    (void)RegisterMagickInfo(entry);
    return MagickImageCoderSignature;
}

ModuleExport void UnregisterNLCImage(void) { (void)UnregisterMagickInfo("NLC"); }
