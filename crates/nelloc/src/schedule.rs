//! Tiles and the wavefront symbol order inside a tile.

/// A rectangle of the image coded as one independent stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TileRect {
    pub(crate) x: usize,
    pub(crate) y: usize,
    pub(crate) w: usize,
    pub(crate) h: usize,
}

/// Tiles in raster order (row of tiles by row of tiles, left to right).
pub(crate) fn tiles(width: u32, height: u32, tw: u32, th: u32) -> Vec<TileRect> {
    let (width, height, tw, th) = (width as usize, height as usize, tw as usize, th as usize);
    let mut out = Vec::new();
    for y in (0..height).step_by(th) {
        for x in (0..width).step_by(tw) {
            out.push(TileRect {
                x,
                y,
                w: tw.min(width - x),
                h: th.min(height - y),
            });
        }
    }
    out
}

/// Pixel positions `(row, col)` of a `w` x `h` tile in wavefront order: step
/// t = (horizon+1)*row + col ascending, then row ascending. Every causal context pixel
/// of a position comes earlier in this order.
pub(crate) fn wavefront(
    w: usize,
    h: usize,
    horizon: usize,
) -> impl Iterator<Item = (usize, usize)> {
    let a = horizon + 1;
    (0..wavefront_steps(w, h, horizon))
        .flat_map(move |t| wavefront_rows(t, w, h, horizon).map(move |i| (i, t - a * i)))
}

/// Number of wavefront steps of a `w` x `h` tile.
pub(crate) fn wavefront_steps(w: usize, h: usize, horizon: usize) -> usize {
    (horizon + 1) * (h - 1) + w
}

/// Rows with a pixel at step `t`: rows i with 0 <= t - (horizon+1)*i < w (possibly empty).
pub(crate) fn wavefront_rows(
    t: usize,
    w: usize,
    h: usize,
    horizon: usize,
) -> std::ops::RangeInclusive<usize> {
    let a = horizon + 1;
    let first = if t >= w { (t - w) / a + 1 } else { 0 };
    let last = (t / a).min(h - 1);
    first..=last
}

/// A tile's pixels, interleaved with `stride` samples per pixel.
pub(crate) struct TileBuf<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) w: usize,
    pub(crate) h: usize,
    pub(crate) stride: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wavefront_visits_every_pixel_once_after_its_context() {
        for (w, h) in [(1, 1), (1, 9), (9, 1), (7, 5), (31, 17)] {
            for horizon in 1..=4 {
                let order: Vec<_> = wavefront(w, h, horizon).collect();
                assert_eq!(order.len(), w * h);
                let mut rank = vec![usize::MAX; w * h];
                for (n, &(i, j)) in order.iter().enumerate() {
                    assert_eq!(rank[i * w + j], usize::MAX);
                    rank[i * w + j] = n;
                }
                let hz = horizon as isize;
                for &(i, j) in &order {
                    for di in -hz..=0 {
                        for dj in -hz..=hz {
                            if di == 0 && dj >= 0 {
                                continue;
                            }
                            let (y, x) = (i as isize + di, j as isize + dj);
                            if y >= 0 && x >= 0 && (x as usize) < w && (y as usize) < h {
                                assert!(rank[y as usize * w + x as usize] < rank[i * w + j]);
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn tiles_cover_the_image() {
        let t = tiles(10, 7, 4, 4);
        assert_eq!(t.len(), 6);
        assert_eq!(
            t[2],
            TileRect {
                x: 8,
                y: 0,
                w: 2,
                h: 4
            }
        );
        assert_eq!(
            t[5],
            TileRect {
                x: 8,
                y: 4,
                w: 2,
                h: 3
            }
        );
    }
}
