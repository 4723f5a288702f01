//! The JavaScript API (wasm-bindgen). Errors become JS exceptions carrying the library's
//! message and a `kind` (see `js_kind`). Options are plain objects; every field is
//! optional.
//!
//! Progress: the core crate calls its progress callback from the thread that runs the
//! work, and wasm32-unknown-unknown has one thread (rayon falls back to it), so the JS
//! function is parked in a thread-local for the duration of one call.

use std::cell::RefCell;

use js_sys::{Array, Function, Object, Reflect, Uint8Array};
use nelloc::{ColorType, Image, Progress};
use wasm_bindgen::prelude::*;

use crate::{js_kind, EncodeSettings, WebError};

impl From<WebError> for JsValue {
    fn from(e: WebError) -> JsValue {
        let error = js_sys::Error::new(&e.to_string());
        // Setting a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&error, &"kind".into(), &js_kind(e.kind()).into());
        error.into()
    }
}

type JsResult<T> = std::result::Result<T, JsValue>;

thread_local! {
    static ON_PROGRESS: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Installs `options.onProgress` (if a function) for one call; removed when dropped.
struct ProgressGuard(bool);

impl ProgressGuard {
    fn new(options: &JsValue) -> JsResult<Self> {
        let f = get(options, "onProgress")?;
        let Some(f) = f.dyn_ref::<Function>() else {
            return Ok(ProgressGuard(false));
        };
        ON_PROGRESS.with(|p| *p.borrow_mut() = Some(f.clone()));
        Ok(ProgressGuard(true))
    }

    fn progress(&self) -> Option<Progress> {
        self.0.then(|| {
            Progress::new(|done, total| {
                ON_PROGRESS.with(|p| {
                    if let Some(f) = p.borrow().as_ref() {
                        // An exception in the callback must not abort the codec.
                        let _ = f.call2(
                            &JsValue::NULL,
                            &(done as f64).into(),
                            &(total as f64).into(),
                        );
                    }
                })
            })
        })
    }
}

impl Drop for ProgressGuard {
    fn drop(&mut self) {
        ON_PROGRESS.with(|p| *p.borrow_mut() = None);
    }
}

fn get(options: &JsValue, key: &str) -> JsResult<JsValue> {
    if options.is_undefined() || options.is_null() {
        return Ok(JsValue::UNDEFINED);
    }
    Reflect::get(options, &key.into())
}

fn arg(msg: String) -> JsValue {
    WebError::Argument(msg).into()
}

fn bytes_list(v: &JsValue, what: &str) -> JsResult<Vec<Vec<u8>>> {
    if v.is_undefined() || v.is_null() {
        return Ok(Vec::new());
    }
    let list = v
        .dyn_ref::<Array>()
        .ok_or_else(|| arg(format!("{what} must be an array of Uint8Array")))?;
    list.iter()
        .map(|m| {
            m.dyn_ref::<Uint8Array>()
                .map(Uint8Array::to_vec)
                .ok_or_else(|| arg(format!("{what} must be an array of Uint8Array")))
        })
        .collect()
}

fn string(v: JsValue, what: &str) -> JsResult<Option<String>> {
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    v.as_string()
        .map(Some)
        .ok_or_else(|| arg(format!("{what} must be a string")))
}

fn settings(options: &JsValue) -> JsResult<EncodeSettings> {
    let mut s = EncodeSettings::default();
    if let Some(l) = string(get(options, "layout")?, "layout")? {
        s.layout = crate::parse_layout(&l)?;
    }
    let reduce = get(options, "reduce")?;
    if !reduce.is_undefined() {
        s.reduce = reduce
            .as_bool()
            .ok_or_else(|| arg("reduce must be a boolean".into()))?;
    }
    let tile = get(options, "tileSize")?;
    if !tile.is_undefined() {
        s.tile_size = tile
            .as_f64()
            .filter(|t| t.fract() == 0.0 && *t >= 1.0 && *t <= f64::from(u32::MAX))
            .ok_or_else(|| arg("tileSize must be a positive integer".into()))?
            as u32;
    }
    s.modes = string(get(options, "modes")?, "modes")?;
    // `preview`: true (default: auto), false (none) or a longest side in pixels.
    let preview = get(options, "preview")?;
    if let Some(b) = preview.as_bool() {
        s.preview = if b {
            nelloc::Preview::Auto
        } else {
            nelloc::Preview::Off
        };
    } else if !preview.is_undefined() {
        let max = nelloc::MAX_PREVIEW_SIZE;
        s.preview = nelloc::Preview::Size(
            preview
                .as_f64()
                .filter(|t| t.fract() == 0.0 && *t >= 1.0 && *t <= f64::from(max))
                .ok_or_else(|| arg(format!("preview must be a boolean or 1 to {max}")))?
                as u32,
        );
    }
    let embed = get(options, "embedModel")?;
    if !embed.is_undefined() {
        s.embed_models = embed
            .as_bool()
            .ok_or_else(|| arg("embedModel must be a boolean".into()))?;
    }
    s.builtin = string(get(options, "model")?, "model")?;
    s.models = bytes_list(&get(options, "models")?, "models")?;
    let alpha = get(options, "alphaModel")?;
    if !alpha.is_undefined() && !alpha.is_null() {
        let a = alpha
            .dyn_ref::<Uint8Array>()
            .ok_or_else(|| arg("alphaModel must be a Uint8Array".into()))?;
        s.alpha_model = Some(a.to_vec());
    }
    Ok(s)
}

fn set(o: &Object, key: &str, v: impl Into<JsValue>) -> JsResult<()> {
    Reflect::set(o, &key.into(), &v.into()).map(|_| ())
}

fn layout_name(c: ColorType) -> &'static str {
    match c {
        ColorType::Gray8 => "gray",
        ColorType::GrayA8 => "graya",
        ColorType::Rgb8 => "rgb",
        _ => "rgba",
    }
}

fn image_object(image: &Image) -> JsResult<Object> {
    let o = Object::new();
    set(&o, "width", image.width())?;
    set(&o, "height", image.height())?;
    set(&o, "layout", layout_name(image.color()))?;
    set(&o, "channels", image.color().channels() as u32)?;
    set(&o, "pixels", Uint8Array::from(image.pixels()))?;
    let rgba = crate::convert(image.pixels(), image.color(), ColorType::Rgba8);
    set(&o, "rgba", Uint8Array::from(&rgba[..]))?;
    Ok(o)
}

fn decode_image(bytes: &[u8], options: &JsValue) -> JsResult<Image> {
    let guard = ProgressGuard::new(options)?;
    let mut o = crate::decode_options(&bytes_list(&get(options, "models")?, "models")?)?;
    o.progress = guard.progress();
    nelloc::decode(bytes, &o).map_err(|e| WebError::from(e).into())
}

/// Decodes `.nlc` bytes to `{width, height, layout, channels, pixels, rgba}`: `pixels` in
/// the stored layout ("gray", "graya", "rgb", "rgba"), `rgba` widened for a canvas.
/// Options: `models` (array of safetensors bytes, matched by hash), `onProgress(done,
/// total)` in pixels.
#[wasm_bindgen]
pub fn decode(bytes: &[u8], options: JsValue) -> JsResult<Object> {
    image_object(&decode_image(bytes, &options)?)
}

/// Decodes the embedded preview of `.nlc` bytes (a small copy of the image that decodes in
/// milliseconds), or the image itself when the stream has none: the object `decode`
/// returns plus `embedded` (true for the preview). Options: `models`, as for `decode`.
#[wasm_bindgen(js_name = decodePreview)]
pub fn decode_preview(bytes: &[u8], options: JsValue) -> JsResult<Object> {
    let o = crate::decode_options(&bytes_list(&get(&options, "models")?, "models")?)?;
    let p = nelloc::decode_preview(bytes, &o).map_err(WebError::from)?;
    let r = image_object(&p.image)?;
    set(&r, "embedded", p.embedded)?;
    Ok(r)
}

/// Decodes `.nlc` bytes to a PNG file (the one `nlc decode x.nlc y.png` writes).
#[wasm_bindgen(js_name = decodeToPng)]
pub fn decode_to_png(bytes: &[u8], options: JsValue) -> JsResult<Vec<u8>> {
    Ok(crate::encode_png(&decode_image(bytes, &options)?)?)
}

/// Encodes raw samples to `.nlc`. Options: `layout` of `pixels` (default "rgba"),
/// `reduce` (default true: store grey / no alpha when that loses nothing), `tileSize`,
/// `modes` ("all", "neural,png", ...), `model` (built-in name), `models` and
/// `alphaModel` (safetensors bytes), `preview` (true: the default, false: none, or a
/// longest side in pixels), `embedModel` (store `models` / `alphaModel` in the stream, so
/// that it decodes without them; default false), `onProgress`.
#[wasm_bindgen]
pub fn encode(pixels: &[u8], width: u32, height: u32, options: JsValue) -> JsResult<Vec<u8>> {
    let s = settings(&options)?;
    let guard = ProgressGuard::new(&options)?;
    Ok(crate::encode_pixels(
        pixels,
        width,
        height,
        &s,
        guard.progress(),
    )?)
}

/// Encodes an image file (PNG, JPEG, TIFF, PNM; 8-bit) to `.nlc` with its metadata: the
/// bytes `nlc encode` writes with the same options (`layout` and `reduce` do not apply).
#[wasm_bindgen(js_name = encodeFile)]
pub fn encode_file(bytes: &[u8], options: JsValue) -> JsResult<Vec<u8>> {
    let s = settings(&options)?;
    let guard = ProgressGuard::new(&options)?;
    Ok(crate::encode_image_file(bytes, &s, guard.progress())?)
}

/// Reads an image file (PNG, JPEG, TIFF, PNM) to `{width, height, layout, channels,
/// pixels, rgba}` exactly as the encoder sees it (no colour management, no premultiplied
/// alpha, unlike a canvas).
#[wasm_bindgen(js_name = readImage)]
pub fn read_image(bytes: &[u8]) -> JsResult<Object> {
    image_object(&crate::read_image_file(bytes)?)
}

/// Encodes raw samples (`layout`, default "rgba") to a PNG file.
#[wasm_bindgen(js_name = encodePng)]
pub fn encode_png(
    pixels: &[u8],
    width: u32,
    height: u32,
    layout: Option<String>,
) -> JsResult<Vec<u8>> {
    let color = crate::parse_layout(layout.as_deref().unwrap_or("rgba"))?;
    let image = Image::new(width, height, color, pixels.to_vec()).map_err(WebError::from)?;
    Ok(crate::encode_png(&image)?)
}

/// The header of an `.nlc` stream: size, layout, tiles and their modes, models, bpsp.
#[wasm_bindgen]
pub fn info(bytes: &[u8], options: JsValue) -> JsResult<Object> {
    let o = crate::decode_options(&bytes_list(&get(&options, "models")?, "models")?)?;
    let i = nelloc::info(bytes, &o).map_err(WebError::from)?;
    let r = Object::new();
    set(&r, "width", i.width)?;
    set(&r, "height", i.height)?;
    set(&r, "layout", layout_name(i.color))?;
    set(&r, "channels", i.color.channels() as u32)?;
    set(&r, "version", u32::from(i.version))?;
    set(&r, "fileSize", i.file_size as f64)?;
    set(&r, "bitsPerSubpixel", i.bits_per_subpixel())?;
    set(&r, "tileWidth", i.tile_width)?;
    set(&r, "tileHeight", i.tile_height)?;
    set(&r, "modelHash", i.model_hash.as_str())?;
    set(&r, "modelName", i.model_name.as_deref().map(JsValue::from))?;
    set(&r, "alpha", i.alpha.to_string())?;
    let preview = i.preview.map(|(w, h)| {
        let p = Object::new();
        // Setting properties on a fresh plain object cannot fail.
        let _ = set(&p, "width", w);
        let _ = set(&p, "height", h);
        JsValue::from(p)
    });
    set(&r, "preview", preview.unwrap_or(JsValue::NULL))?;
    let embedded = Array::new();
    for h in &i.embedded_models {
        embedded.push(&JsValue::from(h.as_str()));
    }
    set(&r, "embeddedModels", embedded)?;
    let tiles = Array::new();
    for t in &i.tile_details {
        let o = Object::new();
        set(&o, "x", t.x)?;
        set(&o, "y", t.y)?;
        set(&o, "width", t.width)?;
        set(&o, "height", t.height)?;
        set(&o, "colorMode", t.color_mode.to_string())?;
        set(
            &o,
            "alphaMode",
            t.alpha_mode.map(|m| JsValue::from(m.to_string())),
        )?;
        set(&o, "bytes", t.bytes)?;
        tiles.push(&o);
    }
    set(&r, "tiles", tiles)?;
    Ok(r)
}

/// The network kernel level this module runs: "Simd128" or "Scalar".
#[wasm_bindgen(js_name = simdLevel)]
pub fn simd_level() -> String {
    nelloc::bench_support::simd_level()
}

/// Self-test: the kernels of this build against the scalar reference on synthetic models;
/// returns the pixels compared, throws on a mismatch.
#[wasm_bindgen(js_name = kernelsMatchReference)]
pub fn kernels_match_reference() -> JsResult<u32> {
    nelloc::bench_support::kernels_match_reference()
        .map(|n| n as u32)
        .map_err(arg)
}
