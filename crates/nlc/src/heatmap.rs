//! `nlc heatmap`: each pixel's code length under the model as a colour image, with a
//! legend in bits per pixel.

use std::path::PathBuf;

use clap::Args;
use nelloc::score::ScoreOptions;
use nelloc::Image;

use crate::{io, CliError, EncodeModels, Result, Run};

#[derive(Args)]
pub(crate) struct HeatmapArgs {
    /// Input image (PNG, TIFF, JPEG, PNM) or .nlc file.
    input: PathBuf,
    /// Output PNG (written atomically).
    output: PathBuf,
    /// Top of the colour scale in bits per pixel (all coded samples of a pixel; higher
    /// values saturate). Default: 6 bits per sample, e.g. 18 for RGB.
    #[arg(long, value_name = "BITS")]
    max: Option<f64>,
    /// Blend the colours over a dimmed grey copy of the input.
    #[arg(long)]
    overlay: bool,
    /// Tile edge, as the encoder's (contexts stop at tile edges).
    #[arg(long, default_value_t = nelloc::DEFAULT_TILE_SIZE)]
    tile_size: u32,
    #[command(flatten)]
    models: EncodeModels,
    #[command(flatten)]
    run: Run,
    /// Do not print the summary line.
    #[arg(long, short)]
    quiet: bool,
}

/// Colour stops of the scale (dark = cheap, bright = expensive), evenly spaced.
const STOPS: [[f64; 3]; 5] = [
    [0.0, 0.0, 4.0],
    [80.0, 18.0, 123.0],
    [182.0, 54.0, 121.0],
    [251.0, 136.0, 97.0],
    [252.0, 253.0, 191.0],
];

fn colour(v: f64) -> [u8; 3] {
    let t = v.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let i = (t.floor() as usize).min(STOPS.len() - 2);
    let f = t - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    [0, 1, 2].map(|c| (a[c] + (b[c] - a[c]) * f).round() as u8)
}

/// 3x5 glyphs for the legend, one row per 3-bit number (bit 2 = left column).
fn glyph(ch: char) -> [u8; 5] {
    match ch {
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [7, 1, 7, 4, 7],
        '3' => [7, 1, 3, 1, 7],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 7, 1, 7],
        '6' => [7, 4, 7, 5, 7],
        '7' => [7, 1, 1, 2, 2],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 7],
        '.' => [0, 0, 0, 0, 2],
        'b' => [4, 4, 6, 5, 6],
        'p' => [0, 6, 5, 6, 4],
        _ => [0; 5],
    }
}

/// Glyph scale and spacing of legend text.
const SCALE: usize = 2;
const ADVANCE: usize = 4 * SCALE;

struct Canvas {
    w: usize,
    h: usize,
    px: Vec<u8>,
}

impl Canvas {
    fn set(&mut self, x: usize, y: usize, c: [u8; 3]) {
        if x < self.w && y < self.h {
            self.px[(y * self.w + x) * 3..][..3].copy_from_slice(&c);
        }
    }

    fn text(&mut self, x: usize, y: usize, s: &str) {
        for (n, ch) in s.chars().enumerate() {
            for (row, bits) in glyph(ch).iter().enumerate() {
                for col in 0..3 {
                    if bits >> (2 - col) & 1 == 1 {
                        for d in 0..SCALE * SCALE {
                            let (dx, dy) = (d % SCALE, d / SCALE);
                            let gx = x + n * ADVANCE + col * SCALE + dx;
                            self.set(gx, y + row * SCALE + dy, [255; 3]);
                        }
                    }
                }
            }
        }
    }
}

fn label(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_string)
}

/// Renders the map (`bits` per pixel, raster order) above a legend.
fn render(image: &Image, bits: &[f64], max: f64, overlay: bool) -> Canvas {
    let (w, h) = (image.width() as usize, image.height() as usize);
    const LEGEND: usize = 36;
    let cw = w.max(180);
    let mut canvas = Canvas {
        w: cw,
        h: h + LEGEND,
        px: vec![0; cw * (h + LEGEND) * 3],
    };
    let (ch, cc) = (image.color().channels(), image.color().color_channels());
    for y in 0..h {
        for x in 0..w {
            let mut c = colour(bits[y * w + x] / max);
            if overlay {
                let p = &image.pixels()[(y * w + x) * ch..][..cc];
                let grey = p.iter().map(|&v| f64::from(v)).sum::<f64>() / cc as f64;
                c = c.map(|v| (0.6 * f64::from(v) + 0.4 * 0.5 * grey).round() as u8);
            }
            canvas.set(x, y, c);
        }
    }
    // Gradient bar, ticks at 0, max/2 and max; the unit after the last number.
    let (x0, x1) = (6, cw - 6);
    let bar_y = h + 5;
    for x in x0..x1 {
        let c = colour((x - x0) as f64 / (x1 - x0 - 1) as f64);
        for y in bar_y..bar_y + 10 {
            canvas.set(x, y, c);
        }
    }
    let text_y = bar_y + 14;
    for q in 0..=2 {
        let v = max * q as f64 / 2.0;
        let s = if q == 2 {
            format!("{} bpp", label(v))
        } else {
            label(v)
        };
        let width = s.len() * ADVANCE - SCALE;
        let at = x0 + (x1 - x0 - 1) * q / 2;
        let x = match q {
            0 => x0,
            2 => x1.saturating_sub(width),
            _ => at.saturating_sub(width / 2),
        };
        for y in bar_y + 10..text_y - 1 {
            canvas.set(at, y, [255; 3]);
        }
        canvas.text(x, text_y, &s);
    }
    canvas
}

pub(crate) fn run(args: &HeatmapArgs) -> Result<()> {
    // Argument errors before any work.
    if !args
        .output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"))
    {
        return Err(CliError::Msg(format!(
            "{}: the heatmap is written as PNG; name it .png",
            args.output.display()
        )));
    }
    if let Some(max) = args.max {
        if !(max > 0.0 && max.is_finite()) {
            return Err(CliError::Msg(format!("--max must be positive, got {max}")));
        }
    }
    let mut decode = args.models.files.decode_options()?;
    args.run.apply_decode(&mut decode);
    let image = crate::score::load(&args.input, &decode)?;
    let mut opts = ScoreOptions::default();
    opts.threads = args.run.threads;
    opts.tile_size = args.tile_size;
    let eo = args.models.encode_options(args.tile_size, image.color())?;
    opts.model = eo.model;
    opts.alpha_model = eo.alpha_model;
    opts.device = args.run.device();
    let map = nelloc::score::bits_map(image.as_ref(), &opts)?;
    let samples = image.pixels().len() as f64;
    let max = args.max.unwrap_or(6.0 * image.color().channels() as f64);
    let canvas = render(&image, map.bits(), max, args.overlay);
    let out = Image::new(
        canvas.w as u32,
        canvas.h as u32,
        nelloc::ColorType::Rgb8,
        canvas.px,
    )?;
    io::write_image(&args.output, &out)?;
    if !args.quiet {
        let total = map.total_bits();
        eprintln!(
            "{}: ideal code length {:.0} bits ({:.4} bpsp); scale 0 to {} bits per pixel",
            args.output.display(),
            total,
            total / samples,
            label(max)
        );
    }
    Ok(())
}
