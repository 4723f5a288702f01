//! The README's `image` snippet, verbatim below this header (ffi/ci.sh checks that the
//! README's copy matches this file and runs it on a `photo.nlc`).
fn main() -> Result<(), image::ImageError> {
    nelloc_image::register(); // once, before opening .nlc files

    let img = image::open("photo.nlc")?;
    println!("photo.nlc: {}x{}", img.width(), img.height());

    // image has no encoding hook, so img.save("gray.nlc") cannot work: use save_nlc.
    let gray = image::DynamicImage::ImageLuma8(img.to_luma8());
    nelloc_image::save_nlc(&gray, "gray.nlc", &nelloc::EncodeOptions::default())?;
    Ok(())
}
