//! The image block's pixels: a PNG decoded to 8-bit samples (any PNG colour type: palette
//! and low bit depths expanded, 16-bit stripped), colour and alpha split into planes,
//! downscaled by area averaging when wider than asked, and each plane written as an image
//! XObject stream: Flate-compressed with per-row PNG predictors (`/Predictor 15`), alpha as an
//! `/SMask`.

use std::io::Write as _;

use lopdf::{dictionary, Document, Object, ObjectId, Stream};

/// A decoded image: colour samples (gray or RGB) and an optional alpha plane, 8 bits each.
#[derive(Debug, Clone)]
pub(crate) struct Raster {
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// 1 (DeviceGray) or 3 (DeviceRGB).
    channels: u8,
    color: Vec<u8>,
    /// Left out when every pixel is opaque.
    alpha: Option<Vec<u8>>,
}

/// Decodes `png`, then scales it down to at most `max_width` pixels wide (keeping the aspect
/// ratio; `0` keeps the size).
///
/// # Errors
/// A message when the bytes are not a PNG the decoder can read, or the image is empty.
pub(crate) fn decode(png: &[u8], max_width: u32) -> Result<Raster, String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| "image too large".to_owned())?;
    let mut buf = vec![0; size];
    let info = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
    let (w, h) = (info.width as usize, info.height as usize);
    if w == 0 || h == 0 {
        return Err("empty image".into());
    }
    let (channels, has_alpha) = match info.color_type {
        png::ColorType::Grayscale => (1, false),
        png::ColorType::GrayscaleAlpha => (1, true),
        png::ColorType::Rgb => (3, false),
        png::ColorType::Rgba => (3, true),
        png::ColorType::Indexed => return Err("palette not expanded".into()),
    };
    let stride = usize::from(channels) + usize::from(has_alpha);
    let mut color = Vec::with_capacity(w * h * usize::from(channels));
    let mut alpha = Vec::with_capacity(if has_alpha { w * h } else { 0 });
    for row in buf.chunks(info.line_size).take(h) {
        for px in row[..w * stride].chunks_exact(stride) {
            color.extend_from_slice(&px[..usize::from(channels)]);
            if has_alpha {
                alpha.push(px[usize::from(channels)]);
            }
        }
    }
    let alpha = (has_alpha && alpha.iter().any(|a| *a != 255)).then_some(alpha);
    let mut raster = Raster {
        width: info.width,
        height: info.height,
        channels,
        color,
        alpha,
    };
    if max_width > 0 && raster.width > max_width {
        raster = raster.scaled(max_width);
    }
    Ok(raster)
}

impl Raster {
    /// The image `width` pixels wide, its height in proportion (at least 1).
    fn scaled(&self, width: u32) -> Raster {
        let ratio = f64::from(width) / f64::from(self.width);
        let height = ((f64::from(self.height) * ratio).round() as u32).max(1);
        let (sw, sh) = (self.width as usize, self.height as usize);
        let (dw, dh) = (width as usize, height as usize);
        Raster {
            width,
            height,
            channels: self.channels,
            color: resample(&self.color, sw, sh, self.channels.into(), dw, dh),
            alpha: self.alpha.as_ref().map(|a| resample(a, sw, sh, 1, dw, dh)),
        }
    }

    /// Adds the image (and its soft mask) to `doc`; returns the image XObject's id.
    pub(crate) fn embed(&self, doc: &mut Document) -> Result<ObjectId, std::io::Error> {
        let smask = match &self.alpha {
            Some(a) => Some(doc.add_object(self.plane(a, 1, "DeviceGray")?)),
            None => None,
        };
        let space = if self.channels == 1 {
            "DeviceGray"
        } else {
            "DeviceRGB"
        };
        let mut image = self.plane(&self.color, self.channels, space)?;
        if let Some(id) = smask {
            image.dict.set("SMask", id);
        }
        Ok(doc.add_object(image))
    }

    /// One plane as an image XObject stream.
    fn plane(&self, samples: &[u8], channels: u8, space: &str) -> Result<Stream, std::io::Error> {
        let row = self.width as usize * usize::from(channels);
        let mut enc = flate2::write::ZlibEncoder::new(
            Vec::with_capacity(samples.len() / 4),
            flate2::Compression::default(),
        );
        enc.write_all(&predict(samples, row, channels.into()))?;
        let data = enc.finish()?;
        Ok(Stream::new(
            dictionary! {
                "Type" => "XObject",
                "Subtype" => "Image",
                "Width" => i64::from(self.width),
                "Height" => i64::from(self.height),
                "ColorSpace" => Object::Name(space.as_bytes().to_vec()),
                "BitsPerComponent" => 8,
                "Filter" => "FlateDecode",
                "DecodeParms" => dictionary! {
                    "Predictor" => 15,
                    "Colors" => i64::from(channels),
                    "BitsPerComponent" => 8,
                    "Columns" => i64::from(self.width),
                },
            },
            data,
        ))
    }
}

/// Area-averaging resample of `ch`-channel samples from `sw`×`sh` to `dw`×`dh` (each output
/// pixel the weighted mean of the source pixels it covers), done per axis.
fn resample(src: &[u8], sw: usize, sh: usize, ch: usize, dw: usize, dh: usize) -> Vec<u8> {
    let xw = weights(sw, dw);
    let yw = weights(sh, dh);
    // Horizontal pass: sh rows of dw pixels.
    let mut mid = vec![0f32; sh * dw * ch];
    for y in 0..sh {
        let srow = &src[y * sw * ch..(y + 1) * sw * ch];
        let mrow = &mut mid[y * dw * ch..(y + 1) * dw * ch];
        for (x, taps) in xw.iter().enumerate() {
            for c in 0..ch {
                mrow[x * ch + c] = taps
                    .iter()
                    .map(|(i, w)| f32::from(srow[i * ch + c]) * w)
                    .sum();
            }
        }
    }
    // Vertical pass.
    let mut out = vec![0u8; dh * dw * ch];
    let row = dw * ch;
    for (y, taps) in yw.iter().enumerate() {
        let orow = &mut out[y * row..(y + 1) * row];
        for (k, o) in orow.iter_mut().enumerate() {
            let v: f32 = taps.iter().map(|(i, w)| mid[i * row + k] * w).sum();
            *o = v.round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// For each of `dst` output cells, the source cells it covers with their weights (summing
/// to 1).
fn weights(src: usize, dst: usize) -> Vec<Vec<(usize, f32)>> {
    let scale = src as f64 / dst as f64;
    (0..dst)
        .map(|d| {
            let (a, b) = (d as f64 * scale, (d + 1) as f64 * scale);
            let mut taps = Vec::new();
            let mut i = a.floor() as usize;
            while (i as f64) < b && i < src {
                let cover = (b.min(i as f64 + 1.0) - a.max(i as f64)) / scale;
                if cover > 0.0 {
                    taps.push((i, cover as f32));
                }
                i += 1;
            }
            taps
        })
        .collect()
}

/// Rows prefixed with their PNG filter type, each row the filter (None, Sub, Up, Average,
/// Paeth) with the least sum of absolute differences — what `/Predictor 15` undoes.
fn predict(samples: &[u8], row: usize, bpp: usize) -> Vec<u8> {
    let rows = samples.len() / row.max(1);
    let mut out = Vec::with_capacity(samples.len() + rows);
    let zero = vec![0u8; row];
    let mut cand: [Vec<u8>; 5] = Default::default();
    for y in 0..rows {
        let cur = &samples[y * row..(y + 1) * row];
        let prev = if y == 0 {
            &zero[..]
        } else {
            &samples[(y - 1) * row..y * row]
        };
        for (f, buf) in cand.iter_mut().enumerate() {
            buf.clear();
            for i in 0..row {
                let a = if i >= bpp { cur[i - bpp] } else { 0 };
                let b = prev[i];
                let c = if i >= bpp { prev[i - bpp] } else { 0 };
                let p = match f {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                    _ => paeth(a, b, c),
                };
                buf.push(cur[i].wrapping_sub(p));
            }
        }
        let cost =
            |b: &Vec<u8>| -> u64 { b.iter().map(|v| u64::from((*v as i8).unsigned_abs())).sum() };
        let best = (0..5).min_by_key(|f| cost(&cand[*f])).unwrap_or(0);
        out.push(best as u8);
        out.extend_from_slice(&cand[best]);
    }
    out
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}
