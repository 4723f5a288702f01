/*
 * nelloc.h: the C API of libnelloc, the NeLLoC neural lossless image codec.
 * SPDX-License-Identifier: MIT OR Apache-2.0
 *
 * Conventions:
 *  - Functions return an nlc_status (0 = NLC_OK); nlc_status_message() describes a code and
 *    nlc_last_error_message() gives the details of the last failure on the calling thread.
 *  - Every pointer argument is checked for NULL; a NULL options handle means the defaults.
 *  - Output parameters are written only on success.
 *  - Buffers and handles returned by the library are owned by it and released with the
 *    matching free function (nlc_free, nlc_image_free, nlc_*_options_free), which accept NULL.
 *  - All functions are thread-safe; a handle may be shared by concurrent calls that take it
 *    as a const pointer, but must not be modified (non-const calls) while in use elsewhere.
 *  - Enumerations are passed as uint32_t; the enum types name their values.
 *
 * Build: cc app.c $(pkg-config --cflags --libs nelloc)
 */

#ifndef NELLOC_H
#define NELLOC_H

/* Generated with cbindgen:0.29.4 */

/* Generated from ffi/src by cbindgen (see ffi/cbindgen.toml). Do not edit by hand. */

#include <stddef.h>
#include <stdint.h>

/**
 * Major version of the library (`Cargo.toml`'s version; checked at compile time).
 */
#define NLC_VERSION_MAJOR 0

/**
 * Minor version of the library. While the major version is 0, a minor release may change
 * the ABI; the SONAME (`libnelloc.so.0.1`) changes with it.
 */
#define NLC_VERSION_MINOR 1

/**
 * Patch version of the library.
 */
#define NLC_VERSION_PATCH 0

/**
 * `MAJOR * 10000 + MINOR * 100 + PATCH`, the value `nlc_version()` returns at run time.
 * Compare the two to detect a header / library mismatch.
 */
#define NLC_VERSION_NUMBER (((NLC_VERSION_MAJOR * 10000) + (NLC_VERSION_MINOR * 100)) + NLC_VERSION_PATCH)

/**
 * Highest `.nlc` container version this library reads and writes (it writes version 1,
 * readable by the first release, when every tile is neural; version 4 when it stores an
 * adapted head; version 5, the compact container, for an image coded as one tile;
 * versions 6 and 7 for embedded models and short model references).
 */
#define NLC_FORMAT_VERSION 7

/**
 * Length of the `.nlc` signature `8B 4E 4C 43 0D 0A 1A 0A`.
 */
#define NLC_MAGIC_LENGTH 8

/**
 * Bytes `nlc_probe` needs to report the dimensions and colour type.
 */
#define NLC_PROBE_BYTES 20

/**
 * Length of a hex SHA-256 model hash in `nlc_stream_info`, including the terminating NUL.
 */
#define NLC_HASH_HEX_SIZE 65

/**
 * Default of `nlc_decoder_options_set_limits`'s `max_dimension`.
 */
#define NLC_DEFAULT_MAX_DIMENSION 65535

/**
 * Default of `nlc_decoder_options_set_limits`'s `max_pixels` (2^28).
 */
#define NLC_DEFAULT_MAX_PIXELS (1 << 28)

/**
 * Default of `nlc_decoder_options_set_limits`'s `max_metadata_bytes` (16 MiB).
 */
#define NLC_DEFAULT_MAX_METADATA_BYTES (16 << 20)

/**
 * Default of `nlc_decoder_options_set_work_limits`'s `max_output_bytes` (1 GiB).
 */
#define NLC_DEFAULT_MAX_OUTPUT_BYTES (1 << 30)

/**
 * Default of `nlc_decoder_options_set_work_limits`'s `max_neural_pixels` (2^29: no bound
 * beyond the pixel limit).
 */
#define NLC_DEFAULT_MAX_NEURAL_PIXELS (1 << 29)

/**
 * A conservative `max_neural_pixels` for unattended decoding (2^24: tens of seconds of
 * one core).
 */
#define NLC_STRICT_MAX_NEURAL_PIXELS (1 << 24)

/**
 * Default tile edge of the encoder, in pixels.
 */
#define NLC_DEFAULT_TILE_SIZE 256

/**
 * Tile coding mode flag for `nlc_encoder_options_set_modes`: the neural network (NeLLoC).
 */
#define NLC_MODE_NEURAL 1

/**
 * Tile coding mode flag: one colour for the whole tile.
 */
#define NLC_MODE_CONSTANT 2

/**
 * Tile coding mode flag: PNG filters and deflate.
 */
#define NLC_MODE_PNG 4

/**
 * Tile coding mode flag: a palette of at most 256 colours.
 */
#define NLC_MODE_PALETTE 8

/**
 * Tile coding mode flag: grey colour planes (all channels equal) as one PNG channel.
 */
#define NLC_MODE_GRAY 16

/**
 * Tile coding mode flag: pixels coded with an adaptive context model (repeats of
 * neighbours, then palette indices or channel values) and the ANS coder (container
 * version 3).
 */
#define NLC_MODE_CONTEXT 32

/**
 * Every tile coding mode (the encoder's default).
 */
#define NLC_MODES_ALL 63

/**
 * `nlc_encoder_options_set_preview`: no embedded preview.
 */
#define NLC_PREVIEW_NONE 0

/**
 * `nlc_encoder_options_set_preview`: the default, a 256- or 128-pixel preview where it
 * costs at most 0.5% of the file (docs/FORMAT.md section 10).
 */
#define NLC_PREVIEW_AUTO UINT32_MAX

/**
 * Largest preview side an encoder writes and a decoder accepts, in pixels.
 */
#define NLC_MAX_PREVIEW_SIZE 1024

/**
 * Result of every fallible function. `NLC_OK` is 0; the numeric values never change once
 * released, and new codes may be added (treat unknown non-zero values as errors).
 * In C it is a `uint32_t`.
 */
enum nlc_status
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * Success.
     */
    NLC_OK = 0,
    /**
     * A required pointer argument was NULL.
     */
    NLC_ERROR_NULL_POINTER = 1,
    /**
     * An argument is out of range or inconsistent (e.g. a pixel buffer of the wrong size,
     * an unknown colour type).
     */
    NLC_ERROR_INVALID_ARGUMENT = 2,
    /**
     * Reading or writing a file failed.
     */
    NLC_ERROR_IO = 3,
    /**
     * The data is not an `.nlc` stream (wrong signature).
     */
    NLC_ERROR_NOT_NLC = 4,
    /**
     * The data ends before the structure it announces (give more bytes, or the file was
     * cut short).
     */
    NLC_ERROR_TRUNCATED = 5,
    /**
     * The data is an `.nlc` stream but damaged (checksum, invalid field, corrupt tile).
     */
    NLC_ERROR_CORRUPT = 6,
    /**
     * Valid input or a request this version does not support (a newer container version,
     * a device this build or machine lacks: CUDA, ONNX Runtime).
     */
    NLC_ERROR_UNSUPPORTED = 7,
    /**
     * The input exceeds a configured limit (see `nlc_decoder_options_set_limits`).
     */
    NLC_ERROR_LIMIT = 8,
    /**
     * The stream needs a model the decoder has neither built in nor been given.
     */
    NLC_ERROR_MODEL_NOT_FOUND = 9,
    /**
     * A model file is invalid or does not fit the image (channel count).
     */
    NLC_ERROR_MODEL_INVALID = 10,
    /**
     * An internal error (a bug) was caught at the library boundary.
     */
    NLC_ERROR_PANIC = 11,
    /**
     * Any other error.
     */
    NLC_ERROR_INTERNAL = 12,
    /**
     * The system refused a resource the call needs (worker threads).
     */
    NLC_ERROR_RESOURCE = 13,
    /**
     * The selected device (GPU, ONNX Runtime) failed while working, or its results are
     * not bit-exact and it was refused.
     */
    NLC_ERROR_DEVICE = 14,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum nlc_status nlc_status;
#else
typedef uint32_t nlc_status;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Pixel layouts: 8 bits per sample, interleaved, rows without padding unless a stride is
 * given. The values are the container's colour-type codes.
 */
enum nlc_color_type
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * One grey sample per pixel.
     */
    NLC_COLOR_GRAY8 = 1,
    /**
     * Grey, then alpha.
     */
    NLC_COLOR_GRAYA8 = 2,
    /**
     * Red, green, blue.
     */
    NLC_COLOR_RGB8 = 3,
    /**
     * Red, green, blue, alpha (straight, not premultiplied).
     */
    NLC_COLOR_RGBA8 = 4,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum nlc_color_type nlc_color_type;
#else
typedef uint32_t nlc_color_type;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Where the codec runs.
 */
enum nlc_device
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * The CPU (all cores by default). The default.
     */
    NLC_DEVICE_CPU = 0,
    /**
     * The first NVIDIA GPU (CUDA driver and NVRTC loaded at run time). Selecting it
     * where either or a GPU is missing returns `NLC_ERROR_UNSUPPORTED`, with what is
     * missing in `nlc_last_error_message`.
     */
    NLC_DEVICE_CUDA = 1,
    /**
     * The GPU when present and the image is large enough to gain, else the CPU.
     */
    NLC_DEVICE_AUTO = 2,
    /**
     * ONNX Runtime (CPU provider), loaded at run time from `$NELLOC_ORT_LIB` (or
     * `libonnxruntime.so` on the library path); `NLC_ERROR_UNSUPPORTED` when absent.
     */
    NLC_DEVICE_ORT = 3,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum nlc_device nlc_device;
#else
typedef uint32_t nlc_device;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Metadata blocks stored losslessly next to the pixels.
 */
enum nlc_metadata_kind
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * ICC colour profile.
     */
    NLC_METADATA_ICC = 1,
    /**
     * EXIF block (TIFF structure, without the `Exif\0\0` prefix).
     */
    NLC_METADATA_EXIF = 2,
    /**
     * XMP packet (UTF-8 XML).
     */
    NLC_METADATA_XMP = 3,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum nlc_metadata_kind nlc_metadata_kind;
#else
typedef uint32_t nlc_metadata_kind;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Which model an encoder model setting applies to.
 */
enum nlc_model_role
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * The model for the colour channels (3 channels for RGB, 1 for grey).
     */
    NLC_MODEL_COLOR = 0,
    /**
     * The one-channel model for a non-constant alpha plane.
     */
    NLC_MODEL_ALPHA = 1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum nlc_model_role nlc_model_role;
#else
typedef uint32_t nlc_model_role;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * How a stream stores alpha (`nlc_stream_info`'s `alpha_mode`).
 */
enum nlc_alpha_mode
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * The colour type has no alpha.
     */
    NLC_ALPHA_NONE = 0,
    /**
     * Every pixel has the alpha `alpha_value`; nothing is coded.
     */
    NLC_ALPHA_CONSTANT = 1,
    /**
     * Alpha is coded with the alpha model.
     */
    NLC_ALPHA_CODED = 2,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum nlc_alpha_mode nlc_alpha_mode;
#else
typedef uint32_t nlc_alpha_mode;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Decoder settings (opaque). Create with `nlc_decoder_options_new`, release with
 * `nlc_decoder_options_free`. One handle may be used by concurrent `nlc_decode` /
 * `nlc_info` calls as long as no thread modifies it meanwhile.
 */
typedef struct nlc_decoder_options nlc_decoder_options;

/**
 * Encoder settings (opaque). Create with `nlc_encoder_options_new`, release with
 * `nlc_encoder_options_free`. One handle may be used by concurrent `nlc_encode` calls as
 * long as no thread modifies it meanwhile.
 */
typedef struct nlc_encoder_options nlc_encoder_options;

/**
 * An image with its metadata (opaque): made by `nlc_image_new` (to encode) or returned by
 * `nlc_decode`; release with `nlc_image_free`.
 */
typedef struct nlc_image nlc_image;

/**
 * A rows callback (`nlc_decoder_options_set_rows_callback`): `user` as given to the
 * setter; rows `0 .. rows_done` of the image are final, at `pixels` (row 0 first), each
 * row `stride` bytes apart (`width * channels`: rows are not padded). The pixels are valid
 * only during the call: copy what is needed.
 */
typedef void (*nlc_rows_callback)(void *user,
                                  uint32_t rows_done,
                                  const uint8_t *pixels,
                                  size_t stride);

/**
 * A view of an image's pixels, filled by `nlc_image_get`. `data` belongs to the image and
 * stays valid until `nlc_image_free`. Set `struct_size` to `sizeof(nlc_pixels)` first.
 */
typedef struct nlc_pixels {
    /**
     * `sizeof(nlc_pixels)` as the caller compiled it: set it before the call. The library
     * fills only the fields within it and sets it to the bytes it wrote (see the ABI
     * policy in ffi/README.md).
     */
    size_t struct_size;
    /**
     * Width in pixels.
     */
    uint32_t width;
    /**
     * Height in pixels.
     */
    uint32_t height;
    /**
     * An `nlc_color_type` value.
     */
    uint32_t color_type;
    /**
     * Samples (bytes) per pixel.
     */
    uint32_t channels;
    /**
     * Bytes per row (`width * channels`: rows are not padded).
     */
    size_t stride;
    /**
     * Bytes in `data` (`stride * height`).
     */
    size_t size;
    /**
     * Interleaved samples, row-major.
     */
    const uint8_t *data;
} nlc_pixels;

/**
 * What `nlc_info` reports about a complete, validated stream. Set `struct_size` to
 * `sizeof(nlc_stream_info)` first.
 */
typedef struct nlc_stream_info {
    /**
     * `sizeof(nlc_stream_info)` as the caller compiled it: set it before the call (see
     * `nlc_pixels.struct_size`).
     */
    size_t struct_size;
    /**
     * Width in pixels.
     */
    uint32_t width;
    /**
     * Height in pixels.
     */
    uint32_t height;
    /**
     * An `nlc_color_type` value.
     */
    uint32_t color_type;
    /**
     * Samples per pixel.
     */
    uint32_t channels;
    /**
     * Tile width in pixels.
     */
    uint32_t tile_width;
    /**
     * Tile height in pixels.
     */
    uint32_t tile_height;
    /**
     * Number of tiles.
     */
    uint32_t tile_count;
    /**
     * An `nlc_alpha_mode` value.
     */
    uint32_t alpha_mode;
    /**
     * The alpha of every pixel when `alpha_mode` is `NLC_ALPHA_CONSTANT`, else 0.
     */
    uint32_t alpha_value;
    /**
     * 1 if the colour model is built in or was given to the decoder options, else 0
     * (decoding would fail with `NLC_ERROR_MODEL_NOT_FOUND`).
     */
    uint32_t model_available;
    /**
     * Size of the ICC profile in bytes (0: none).
     */
    size_t icc_size;
    /**
     * Size of the EXIF block in bytes (0: none).
     */
    size_t exif_size;
    /**
     * Size of the XMP packet in bytes (0: none).
     */
    size_t xmp_size;
    /**
     * Size of the whole stream in bytes.
     */
    uint64_t file_size;
    /**
     * Hex SHA-256 of the colour model file, NUL-terminated.
     */
    char model_hash[65];
    /**
     * Hex SHA-256 of the alpha model file when alpha is coded, else the empty string.
     */
    char alpha_model_hash[65];
    /**
     * Width of the embedded preview (validated, not decoded; read it with
     * `nlc_decode_preview`), 0 without one. Added after the first release.
     */
    uint32_t preview_width;
    /**
     * Height of the embedded preview, 0 without one. Added after the first release.
     */
    uint32_t preview_height;
} nlc_stream_info;

/**
 * What [`crate::nlc_probe`] reads from the first `NLC_PROBE_BYTES` bytes of a stream.
 * The values are not yet verified by the header checksum.
 * Set `struct_size` to `sizeof(nlc_header)` first.
 */
typedef struct nlc_header {
    /**
     * `sizeof(nlc_header)` as the caller compiled it: set it before the call (see
     * `nlc_pixels.struct_size`).
     */
    size_t struct_size;
    /**
     * Container version (1 to `NLC_FORMAT_VERSION`).
     */
    uint32_t version;
    /**
     * An `nlc_color_type` value.
     */
    uint32_t color_type;
    /**
     * Samples per pixel (1 to 4).
     */
    uint32_t channels;
    /**
     * Width in pixels (at least 1).
     */
    uint32_t width;
    /**
     * Height in pixels (at least 1).
     */
    uint32_t height;
} nlc_header;

/**
 * Out-of-distribution scores of an image, filled by `nlc_score`; all in bits per subpixel,
 * oriented "higher = more unusual". Set `struct_size` to `sizeof(nlc_scores)` first.
 */
typedef struct nlc_scores {
    /**
     * `sizeof(nlc_scores)` as the caller compiled it: set it before the call (see
     * `nlc_pixels.struct_size`).
     */
    size_t struct_size;
    /**
     * Colour samples scored (width x height x colour channels; alpha is not scored).
     */
    uint64_t samples;
    /**
     * Raw likelihood: the model's ideal code length per subpixel.
     */
    double bpsp;
    /**
     * A generic classical predictive coder's code length per subpixel.
     */
    double generic_bpsp;
    /**
     * Complexity-corrected likelihood: `bpsp - generic_bpsp`.
     */
    double complexity;
    /**
     * The background model's code length per subpixel (0 without a background model).
     */
    double background_bpsp;
    /**
     * Likelihood ratio: `bpsp - background_bpsp` (0 without a background model).
     */
    double ratio;
    /**
     * 95th percentile over 16x16 blocks of the block's `model - generic` bits per subpixel.
     */
    double local;
    /**
     * 1 if `background_bpsp` and `ratio` were computed, else 0.
     */
    uint32_t has_background;
    /**
     * Share of the model's bits spent on the colour channels after the first (0 for one
     * channel): near 0 for a grey image under an RGB model.
     */
    double chroma_share;
    /**
     * The model's bits per sample of each colour channel (unused channels 0).
     */
    double channel_bpsp[3];
    /**
     * The generic coder's bits per sample of each colour channel (unused channels 0).
     */
    double generic_channel_bpsp[3];
    /**
     * 50th, 90th and 99th percentile of the per-pixel model bits per subpixel.
     */
    double quantiles[3];
    /**
     * Share of pixels coded in under 0.25 bits per subpixel (flat areas).
     */
    double flat;
    /**
     * Standard deviation over 16x16 blocks of the block's model bits per subpixel.
     */
    double spread;
} nlc_scores;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * The library's version as `MAJOR * 10000 + MINOR * 100 + PATCH`. Compare with
 * `NLC_VERSION_NUMBER` to check that the header matches the library loaded at run time.
 */
uint32_t nlc_version(void);

/**
 * The library's version as a static NUL-terminated string, e.g. `"0.1.0"`.
 */
const char *nlc_version_string(void);

/**
 * A static, NUL-terminated English description of a status code (never NULL; unknown
 * codes get a generic text).
 */
const char *nlc_status_message(uint32_t status);

/**
 * Copies the detailed message of the last failed call on the calling thread into
 * `buffer` (NUL-terminated, truncated to `capacity` bytes including the NUL) and returns
 * the message's full length without the NUL, like `snprintf`. `buffer` may be NULL
 * (with any `capacity`) to query the length. Calls that succeed do not clear it, so read it
 * right after the call that returned an error.
 *
 * # Safety
 * If `buffer` is not NULL it must be valid for writes of `capacity` bytes.
 */
size_t nlc_last_error_message(char *buffer, size_t capacity);

/**
 * Creates encoder options with the defaults: all cores, CPU, 256x256 tiles, the built-in
 * model for the image's channels. On success `*out` receives the handle.
 *
 * # Safety
 * `out` must be NULL (an error) or valid for a write.
 */
nlc_status nlc_encoder_options_new(struct nlc_encoder_options **out);

/**
 * Releases encoder options. NULL is accepted and ignored.
 *
 * # Safety
 * `options` must be NULL or a handle from `nlc_encoder_options_new` not yet freed, and no
 * other call may be using it.
 */
void nlc_encoder_options_free(struct nlc_encoder_options *options);

/**
 * Worker threads; 0 (the default) uses all cores. The output does not depend on it.
 *
 * # Safety
 * `options` must be NULL (an error) or a live handle not used by another thread.
 */
nlc_status nlc_encoder_options_set_threads(struct nlc_encoder_options *options, uint32_t threads);

/**
 * Tile width and height in pixels (at least 1; default `NLC_DEFAULT_TILE_SIZE`). Tiles are
 * independent streams (parallel and random-access decoding) at a small cost in size.
 *
 * # Safety
 * `options` must be NULL (an error) or a live handle not used by another thread.
 */
nlc_status nlc_encoder_options_set_tile_size(struct nlc_encoder_options *options,
                                             uint32_t tile_size);

/**
 * The per-tile coding modes the encoder may choose: a combination of `NLC_MODE_NEURAL`,
 * `NLC_MODE_CONSTANT`, `NLC_MODE_PNG`, `NLC_MODE_PALETTE`, `NLC_MODE_GRAY` and
 * `NLC_MODE_CONTEXT` (default `NLC_MODES_ALL`; it keeps the smallest per tile). It must
 * include `NLC_MODE_NEURAL`, `NLC_MODE_PNG` or `NLC_MODE_CONTEXT` (the modes that code
 * any tile) and no other bits, else `NLC_ERROR_INVALID_ARGUMENT` and the
 * options are unchanged. `NLC_MODE_NEURAL` alone is pure NeLLoC (container version 1).
 *
 * # Safety
 * `options` must be NULL (an error) or a live handle not used by another thread.
 */
nlc_status nlc_encoder_options_set_modes(struct nlc_encoder_options *options, uint32_t modes);

/**
 * The embedded preview (docs/FORMAT.md section 10; read with `nlc_decode_preview`):
 * `NLC_PREVIEW_AUTO` (the default: 256 or 128 pixels on the longer side where it costs at
 * most 0.5% of the file), `NLC_PREVIEW_NONE`, or a longest side of 1 to
 * `NLC_MAX_PREVIEW_SIZE` pixels written for any image larger than that. Any other value
 * returns `NLC_ERROR_INVALID_ARGUMENT` and leaves the options unchanged.
 *
 * # Safety
 * `options` must be NULL (an error) or a live handle not used by another thread.
 */
nlc_status nlc_encoder_options_set_preview(struct nlc_encoder_options *options, uint32_t size);

/**
 * Selects the device (an `nlc_device` value; default `NLC_DEVICE_CPU`). A device that is
 * absent here returns `NLC_ERROR_UNSUPPORTED` and leaves the options unchanged.
 *
 * # Safety
 * `options` must be NULL (an error) or a live handle not used by another thread.
 */
nlc_status nlc_encoder_options_set_device(struct nlc_encoder_options *options, uint32_t device);

/**
 * Writes the device selected in `options` (an `nlc_device` value) to `*out`.
 *
 * # Safety
 * `options` must be NULL (an error) or a live handle; `out` NULL (an error) or valid for
 * a write.
 */
nlc_status nlc_encoder_options_get_device(const struct nlc_encoder_options *options, uint32_t *out);

/**
 * The limits the encoder applies to the image (the decoder's, see
 * `nlc_decoder_options_set_limits`): it refuses with `NLC_ERROR_LIMIT` to write a stream
 * that a decoder with these limits would refuse. Defaults: `NLC_DEFAULT_MAX_*`.
 *
 * # Safety
 * `options` must be NULL (an error) or a live handle not used by another thread.
 */
nlc_status nlc_encoder_options_set_limits(struct nlc_encoder_options *options,
                                          uint32_t max_dimension,
                                          uint64_t max_pixels,
                                          uint64_t max_metadata_bytes);

/**
 * Uses the model file in memory (`data`, `size` bytes, copied) for `role` (an
 * `nlc_model_role`) instead of the built-in one. Decoders find it by its SHA-256.
 *
 * # Safety
 * `options` must be NULL (an error) or a live handle not used by another thread; `data`
 * must be NULL (an error) or valid for reads of `size` bytes.
 */
nlc_status nlc_encoder_options_set_model(struct nlc_encoder_options *options,
                                         uint32_t role,
                                         const uint8_t *data,
                                         size_t size);

/**
 * Like `nlc_encoder_options_set_model`, reading the model file at `path`.
 *
 * # Safety
 * `options` must be NULL (an error) or a live handle not used by another thread; `path`
 * must be NULL (an error) or a NUL-terminated string.
 */
nlc_status nlc_encoder_options_set_model_file(struct nlc_encoder_options *options,
                                              uint32_t role,
                                              const char *path);

/**
 * Creates decoder options with the defaults: all cores, CPU, the built-in models, the
 * default limits (`NLC_DEFAULT_MAX_*`). On success `*out` receives the handle.
 *
 * # Safety
 * `out` must be NULL (an error) or valid for a write.
 */
nlc_status nlc_decoder_options_new(struct nlc_decoder_options **out);

/**
 * Releases decoder options. NULL is accepted and ignored.
 *
 * # Safety
 * `options` must be NULL or a handle from `nlc_decoder_options_new` not yet freed, and no
 * other call may be using it.
 */
void nlc_decoder_options_free(struct nlc_decoder_options *options);

/**
 * Worker threads; 0 (the default) uses all cores. The output does not depend on it.
 *
 * # Safety
 * `options` must be NULL (an error) or a live handle not used by another thread.
 */
nlc_status nlc_decoder_options_set_threads(struct nlc_decoder_options *options, uint32_t threads);

/**
 * Selects the device (an `nlc_device` value; default `NLC_DEVICE_CPU`). A device that is
 * absent here returns `NLC_ERROR_UNSUPPORTED` and leaves the options unchanged.
 *
 * # Safety
 * `options` must be NULL (an error) or a live handle not used by another thread.
 */
nlc_status nlc_decoder_options_set_device(struct nlc_decoder_options *options, uint32_t device);

/**
 * Writes the device selected in `options` (an `nlc_device` value) to `*out`.
 *
 * # Safety
 * `options` must be NULL (an error) or a live handle; `out` NULL (an error) or valid for
 * a write.
 */
nlc_status nlc_decoder_options_get_device(const struct nlc_decoder_options *options, uint32_t *out);

/**
 * Resource limits, checked before anything sized by the stream is allocated: largest
 * width or height, largest pixel count, largest total metadata size. Streams beyond them
 * fail with `NLC_ERROR_LIMIT`. Defaults: `NLC_DEFAULT_MAX_DIMENSION`,
 * `NLC_DEFAULT_MAX_PIXELS`, `NLC_DEFAULT_MAX_METADATA_BYTES`.
 *
 * # Safety
 * `options` must be NULL (an error) or a live handle not used by another thread.
 */
nlc_status nlc_decoder_options_set_limits(struct nlc_decoder_options *options,
                                          uint32_t max_dimension,
                                          uint64_t max_pixels,
                                          uint64_t max_metadata_bytes);

/**
 * Bounds on a decode beyond `nlc_decoder_options_set_limits`: the size of the decoded
 * image in bytes (checked before it is allocated), and the decoding work, in pixels
 * decoded through the network or the context model (a tile's pixels count once per
 * neural or context-coded plane group). A
 * few bytes can claim hours of neural decoding: set `max_neural_pixels` when decoding
 * files from strangers unattended (thumbnailers, servers; `NLC_STRICT_MAX_NEURAL_PIXELS`
 * is a conservative choice). Streams beyond them fail with `NLC_ERROR_LIMIT` before any
 * decoding. Defaults: `NLC_DEFAULT_MAX_OUTPUT_BYTES`, `NLC_DEFAULT_MAX_NEURAL_PIXELS`.
 *
 * # Safety
 * `options` must be NULL (an error) or a live handle not used by another thread.
 */
nlc_status nlc_decoder_options_set_work_limits(struct nlc_decoder_options *options,
                                               uint64_t max_output_bytes,
                                               uint64_t max_neural_pixels);

/**
 * Makes the model file in memory (`data`, `size` bytes, copied) available to the decoder,
 * looked up by SHA-256 before the built-in models. May be called several times.
 *
 * # Safety
 * `options` must be NULL (an error) or a live handle not used by another thread; `data`
 * must be NULL (an error) or valid for reads of `size` bytes.
 */
nlc_status nlc_decoder_options_add_model(struct nlc_decoder_options *options,
                                         const uint8_t *data,
                                         size_t size);

/**
 * Like `nlc_decoder_options_add_model`, reading the model file at `path`.
 *
 * # Safety
 * `options` must be NULL (an error) or a live handle not used by another thread; `path`
 * must be NULL (an error) or a NUL-terminated string.
 */
nlc_status nlc_decoder_options_add_model_file(struct nlc_decoder_options *options,
                                              const char *path);

/**
 * Adds a directory searched (not recursively) for the `*.safetensors` model file a stream
 * needs when it is not built in, not added with `nlc_decoder_options_add_model{,_file}`
 * and not embedded in the stream (docs/FORMAT.md section 12). Directories are searched in
 * the order added, and only then; the directory need not exist yet. May be called several
 * times.
 *
 * # Safety
 * `options` must be NULL (an error) or a live handle not used by another thread; `path`
 * must be NULL (an error) or a NUL-terminated string.
 */
nlc_status nlc_decoder_options_add_model_dir(struct nlc_decoder_options *options, const char *path);

/**
 * Appends the directories of the `NELLOC_MODEL_PATH` environment variable (separated as
 * `PATH` is: `:` on Unix, `;` on Windows), as read now, to the model search directories
 * (`nlc_decoder_options_add_model_dir`). The library never reads the variable unless
 * asked to by this call. An unset or empty variable adds nothing.
 *
 * # Safety
 * `options` must be NULL (an error) or a live handle not used by another thread.
 */
nlc_status nlc_decoder_options_add_env_model_path(struct nlc_decoder_options *options);

/**
 * The largest model file accepted, in bytes (default 64 MiB): a model embedded in a
 * stream above it is refused before it is read, and search-path files above it are
 * skipped.
 *
 * # Safety
 * `options` must be NULL (an error) or a live handle not used by another thread.
 */
nlc_status nlc_decoder_options_set_max_model_bytes(struct nlc_decoder_options *options,
                                                   uint64_t max_model_bytes);

/**
 * Sets a callback that sees the image as it decodes (viewers showing rows as they come):
 * called whenever more rows, from the top, are final (`nlc_rows_callback`). Tiles are
 * decoded in row order with all workers busy, so rows arrive steadily from the first
 * row of tiles on.
 *
 * The callback runs on the thread that called `nlc_decode` / `nlc_decode_file` (never on
 * a worker), one call at a time, with `rows_done` strictly increasing; the last call of a
 * successful decode has every row. No call comes once the decode has failed, but a decode
 * can still fail after rows were passed (damage in a later tile): show them, but trust
 * only the status the decode returns. Workers wait while the callback runs, so it should
 * only copy rows out or post them on. It must not unwind (no C++ exception) or `longjmp`
 * out, nor free or modify `options`. Used by
 * `nlc_decode`, `nlc_decode_file` and `nlc_decode_preview*` when they decode the image
 * itself (not the embedded preview); not by `nlc_decode_batch`. A NULL `callback` removes
 * it (the default).
 *
 * # Safety
 * `options` must be NULL (an error) or a live handle not used by another thread;
 * `callback` NULL or a function of that type, callable with `user` for as long as the
 * options decode.
 */
nlc_status nlc_decoder_options_set_rows_callback(struct nlc_decoder_options *options,
                                                 nlc_rows_callback callback,
                                                 void *user);

/**
 * Whether the stream carries the external model files it is coded with (0 no, the
 * default; 1 yes): a `MODL` chunk per model that is not built in (container version 6 for
 * an image of one tile, 7 otherwise), so that it decodes where the model file is not
 * available. Built-in models are never embedded. Any other value returns
 * `NLC_ERROR_INVALID_ARGUMENT` and leaves the options unchanged.
 *
 * # Safety
 * `options` must be NULL (an error) or a live handle not used by another thread.
 */
nlc_status nlc_encoder_options_set_embed_models(struct nlc_encoder_options *options,
                                                uint32_t embed);

/**
 * Creates an image by copying `height` rows of `width * channels` bytes from `pixels`,
 * rows `stride` bytes apart (0: `width * channels`, no padding). `color_type` is an
 * `nlc_color_type`. On success `*out` receives the handle.
 *
 * # Safety
 * `pixels` must be NULL (an error) or valid for reads of `(height - 1) * stride +
 * width * channels` bytes; `out` must be NULL (an error) or valid for a write.
 */
nlc_status nlc_image_new(uint32_t width,
                         uint32_t height,
                         uint32_t color_type,
                         const uint8_t *pixels,
                         size_t stride,
                         struct nlc_image **out);

/**
 * Releases an image. NULL is accepted and ignored.
 *
 * # Safety
 * `image` must be NULL or a handle from `nlc_image_new` / `nlc_decode` not yet freed, and
 * no other call may be using it; pointers obtained from it become invalid.
 */
void nlc_image_free(struct nlc_image *image);

/**
 * Fills `*out` with the image's dimensions, colour type and a pointer to its pixels
 * (valid until `nlc_image_free`).
 *
 * # Safety
 * `image` must be NULL (an error) or a live handle; `out` NULL (an error) or the caller's struct
 * with `struct_size` set (read first; at most that many bytes are written).
 */
nlc_status nlc_image_get(const struct nlc_image *image, struct nlc_pixels *out);

/**
 * Attaches (copies) a metadata block of `kind` (an `nlc_metadata_kind`) to the image,
 * replacing any previous one; `(NULL, 0)` removes it.
 *
 * # Safety
 * `image` must be NULL (an error) or a live handle not used by another thread; `data` must
 * be NULL or valid for reads of `size` bytes.
 */
nlc_status nlc_image_set_metadata(struct nlc_image *image,
                                  uint32_t kind,
                                  const uint8_t *data,
                                  size_t size);

/**
 * Gets the metadata block of `kind` (an `nlc_metadata_kind`): `*data` points into the image
 * (valid until `nlc_image_free`) and `*size` is its length; when the image has none,
 * `*data` is NULL and `*size` is 0.
 *
 * # Safety
 * `image` must be NULL (an error) or a live handle; `data` and `size` must be NULL (an
 * error) or valid for a write.
 */
nlc_status nlc_image_get_metadata(const struct nlc_image *image,
                                  uint32_t kind,
                                  const uint8_t **data,
                                  size_t *size);

/**
 * Encodes `image` (with its metadata) into a complete `.nlc` stream. On success `*out`
 * receives a library-owned buffer of `*out_size` bytes, to be released with `nlc_free`.
 * `options` may be NULL for the defaults.
 *
 * # Safety
 * `image` must be NULL (an error) or a live handle; `options` NULL or a live handle;
 * `out` and `out_size` NULL (an error) or valid for a write.
 */
nlc_status nlc_encode(const struct nlc_image *image,
                      const struct nlc_encoder_options *options,
                      uint8_t **out,
                      size_t *out_size);

/**
 * Encodes `image` into the file at `path`. The file is written to a temporary file in
 * the same directory and renamed, so a failure leaves an existing file untouched.
 * `options` may be NULL for the defaults.
 *
 * # Safety
 * `image` must be NULL (an error) or a live handle; `options` NULL or a live handle; `path`
 * NULL (an error) or a NUL-terminated string.
 */
nlc_status nlc_encode_file(const struct nlc_image *image,
                           const struct nlc_encoder_options *options,
                           const char *path);

/**
 * Releases a buffer returned by `nlc_encode`. NULL is accepted and ignored.
 *
 * # Safety
 * `buffer` must be NULL or a pointer returned by `nlc_encode` not yet freed.
 */
void nlc_free(uint8_t *buffer);

/**
 * Decodes a complete `.nlc` stream of `size` bytes. On success `*out` receives a new image
 * (release with `nlc_image_free`). `options` may be NULL for the defaults.
 *
 * # Safety
 * `data` must be NULL (an error) or valid for reads of `size` bytes; `options` NULL or a
 * live handle; `out` NULL (an error) or valid for a write.
 */
nlc_status nlc_decode(const uint8_t *data,
                      size_t size,
                      const struct nlc_decoder_options *options,
                      struct nlc_image **out);

/**
 * Decodes the `.nlc` file at `path`; otherwise like `nlc_decode`.
 *
 * # Safety
 * `path` must be NULL (an error) or a NUL-terminated string; `options` NULL or a live
 * handle; `out` NULL (an error) or valid for a write.
 */
nlc_status nlc_decode_file(const char *path,
                           const struct nlc_decoder_options *options,
                           struct nlc_image **out);

/**
 * Decodes the embedded preview of a complete `.nlc` stream (docs/FORMAT.md section 10: a
 * small copy of the image, at most `NLC_MAX_PREVIEW_SIZE` per side, that decodes in
 * milliseconds without a model), or the full image when the stream has none. On success
 * `*out` receives a new image (release with `nlc_image_free`) and, if `embedded` is not
 * NULL, `*embedded` is 1 for the preview, 0 for the full image. With a preview, the
 * options' size limits do not apply (the preview is bounded by itself); without one the
 * decode is `nlc_decode`'s, limits included. A damaged preview is `NLC_ERROR_CORRUPT`.
 *
 * # Safety
 * `data` must be NULL (an error) or valid for reads of `size` bytes; `options` NULL or a
 * live handle; `out` NULL (an error) or valid for a write; `embedded` NULL or valid for a
 * write.
 */
nlc_status nlc_decode_preview(const uint8_t *data,
                              size_t size,
                              const struct nlc_decoder_options *options,
                              struct nlc_image **out,
                              uint32_t *embedded);

/**
 * `nlc_decode_preview` for the `.nlc` file at `path`.
 *
 * # Safety
 * `path` must be NULL (an error) or a NUL-terminated string; `options` NULL or a live
 * handle; `out` NULL (an error) or valid for a write; `embedded` NULL or valid for a
 * write.
 */
nlc_status nlc_decode_preview_file(const char *path,
                                   const struct nlc_decoder_options *options,
                                   struct nlc_image **out,
                                   uint32_t *embedded);

/**
 * Validates a complete `.nlc` stream's header (signature, checksum, fields, tile index,
 * limits) without decoding pixels, and fills `*out`. `options` (may be NULL) supplies the
 * limits and the models `model_available` refers to.
 *
 * # Safety
 * `data` must be NULL (an error) or valid for reads of `size` bytes; `options` NULL or a
 * live handle; `out` NULL (an error) or the caller's struct
 * with `struct_size` set (read first; at most that many bytes are written).
 */
nlc_status nlc_info(const uint8_t *data,
                    size_t size,
                    const struct nlc_decoder_options *options,
                    struct nlc_stream_info *out);

/**
 * `nlc_info` for the file at `path`.
 *
 * # Safety
 * `path` must be NULL (an error) or a NUL-terminated string; `options` NULL or a live
 * handle; `out` NULL (an error) or the caller's struct
 * with `struct_size` set (read first; at most that many bytes are written).
 */
nlc_status nlc_info_file(const char *path,
                         const struct nlc_decoder_options *options,
                         struct nlc_stream_info *out);

/**
 * Sniffs the start of a stream (for format detection in loaders and thumbnailers): with
 * at least `NLC_PROBE_BYTES` bytes it fills `*out` from the fixed header fields
 * (unverified: `nlc_info` checks the whole header). Returns `NLC_ERROR_NOT_NLC` if the
 * signature does not match, `NLC_ERROR_TRUNCATED`
 * if the bytes given match so far but are too few, `NLC_ERROR_CORRUPT` for a damaged
 * signature or invalid fields, and `NLC_ERROR_UNSUPPORTED` for a newer container version.
 *
 * # Safety
 * `data` must be NULL (an error unless `size` is 0) or valid for reads of `size` bytes;
 * `out` NULL (an error) or the caller's struct
 * with `struct_size` set (read first; at most that many bytes are written).
 */
nlc_status nlc_probe(const uint8_t *data, size_t size, struct nlc_header *out);

/**
 * Encodes `count` images in one call. On return `statuses[i]` is image i's status and,
 * where it is `NLC_OK`, `outs[i]` / `out_sizes[i]` its stream (release each with
 * `nlc_free`); failed entries get NULL and 0. Returns `NLC_OK` when every image was
 * encoded, else the first failing status (its message in `nlc_last_error_message`). When
 * the call fails as a whole (NULL arrays, an absent device) nothing is written.
 *
 * # Safety
 * `images` must be NULL (an error) or valid for reads of `count` live image handles;
 * `options` NULL or a live handle; `outs`, `out_sizes` and `statuses` NULL (an error) or
 * valid for writes of `count` elements.
 */
nlc_status nlc_encode_batch(const struct nlc_image *const *images,
                            size_t count,
                            const struct nlc_encoder_options *options,
                            uint8_t **outs,
                            size_t *out_sizes,
                            nlc_status *statuses);

/**
 * Decodes `count` streams (`data[i]` of `sizes[i]` bytes) in one call. On return
 * `statuses[i]` is stream i's status and, where it is `NLC_OK`, `outs[i]` its image
 * (release each with `nlc_image_free`); failed entries get NULL. Returns `NLC_OK` when
 * every stream was decoded, else the first failing status. When the call fails as a
 * whole (NULL arrays, an absent device) nothing is written.
 *
 * # Safety
 * `data` and `sizes` must be NULL (an error) or valid for reads of `count` elements, each
 * `data[i]` valid for reads of `sizes[i]` bytes; `options` NULL or a live handle; `outs`
 * and `statuses` NULL (an error) or valid for writes of `count` elements.
 */
nlc_status nlc_decode_batch(const uint8_t *const *data,
                            const size_t *sizes,
                            size_t count,
                            const struct nlc_decoder_options *options,
                            struct nlc_image **outs,
                            nlc_status *statuses);

/**
 * Likelihood and out-of-distribution scores of `image`'s colour channels under the colour
 * model of `options` (NULL: the defaults, i.e. the built-in model for the image's
 * channels). `background` names the weaker model of the likelihood-ratio score: a
 * built-in model name (e.g. "fast") or a model file path; NULL for none. The image's
 * colour channels must match the models' (convert grey to RGB first to score it with an
 * RGB model). No stream is written: this is the fast path.
 *
 * # Safety
 * `image` must be NULL (an error) or a live handle; `options` NULL or a live handle;
 * `background` NULL or a NUL-terminated string; `out` NULL (an error) or the caller's
 * struct with `struct_size` set (read first; at most that many bytes are written).
 */
nlc_status nlc_score(const struct nlc_image *image,
                     const struct nlc_encoder_options *options,
                     const char *background,
                     struct nlc_scores *out);

/**
 * Code length of every pixel of `image` in bits (all its coded samples: colour, and alpha
 * when it varies), as the encoder with `options` (NULL: the defaults) would code it with
 * every tile neural; they add up to that ideal code length. `bits` receives `count`
 * values in raster order; `count` must be the image's width x height.
 *
 * # Safety
 * `image` must be NULL (an error) or a live handle; `options` NULL or a live handle;
 * `bits` NULL (an error) or valid for writes of `count` doubles.
 */
nlc_status nlc_bits_map(const struct nlc_image *image,
                        const struct nlc_encoder_options *options,
                        double *bits,
                        size_t count);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* NELLOC_H */
