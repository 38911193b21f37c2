//! Thumbnails of uploaded photos: what an order list or a timeline shows beside each entry, a
//! JPEG whose long side is [`LONG_SIDE`] pixels, some 5 to 30 KB where the picture is up to 2 MiB.
//! It is turned upright by the picture's Exif orientation (a thumbnail carries no Exif of its own)
//! and an image with transparency is laid on white.
//!
//! Pictures are decoded here, inside the component's sandbox and its memory limit, so each decode
//! is bounded before it starts: a JPEG is decoded at 1/2, 1/4 or 1/8 of its size where that still
//! covers the thumbnail (the DCT's own scaling, so a 12-megapixel photo costs a 0.2-megapixel
//! decode), and a picture that would need more memory than [`MAX_DECODED_BYTES`] gets no thumbnail:
//! the picture itself is shown in its place. So does one that does not decode.

use std::io::Cursor;

/// The long side of a thumbnail, in pixels: sharp on a phone's list row and its timeline card.
pub const LONG_SIDE: u32 = 400;

/// The most a thumbnail may take (`photos.thumbnail`'s check, migration 85); pure noise at 400 ×
/// 400 takes 119 KB, a photo 5 to 30. One over it is not kept: the picture is shown instead.
pub const MAX_BYTES: usize = 256 << 10;

/// The JPEG quality thumbnails are written at.
const QUALITY: u8 = 80;

/// The most a decode may hold at once (the decoded pixels with the colour made of them, or a
/// progressive JPEG's coefficients), in bytes: well inside a component's 64 MiB with the upload
/// beside it.
pub const MAX_DECODED_BYTES: u64 = 24 << 20;

/// A decoded picture: 8-bit RGB, row by row.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pixels {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

/// Why a picture has no thumbnail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refused {
    /// It does not decode (or is of a kind no phone writes: CMYK, 16-bit).
    Undecodable,
    /// Decoding it would hold more than [`MAX_DECODED_BYTES`] at once.
    TooLarge,
}
use Refused::{TooLarge, Undecodable};

/// The thumbnail of a picture of `kind` (`image/jpeg`, `image/png`, `image/webp`), as a JPEG;
/// `None` when it does not decode, or would take too much memory to.
pub fn thumbnail(kind: &str, bytes: &[u8]) -> Option<Vec<u8>> {
    made(kind, bytes).ok()
}

fn made(kind: &str, bytes: &[u8]) -> Result<Vec<u8>, Refused> {
    let (pixels, orientation) = match kind {
        "image/jpeg" => jpeg(bytes)?,
        "image/png" => (png(bytes)?, 1),
        "image/webp" => webp(bytes)?,
        _ => return Err(Undecodable),
    };
    let upright = orient(&shrink(&pixels, LONG_SIDE), orientation);
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, QUALITY)
        .encode(
            &upright.rgb,
            u16::try_from(upright.width).map_err(|_| Undecodable)?,
            u16::try_from(upright.height).map_err(|_| Undecodable)?,
            jpeg_encoder::ColorType::Rgb,
        )
        .map_err(|_| Undecodable)?;
    if out.len() > MAX_BYTES {
        return Err(TooLarge);
    }
    Ok(out)
}

/// Whether `pixels` of `bytes_each` fit in [`MAX_DECODED_BYTES`].
fn within(pixels: u64, bytes_each: u64) -> Result<(), Refused> {
    if pixels.saturating_mul(bytes_each) > MAX_DECODED_BYTES {
        Err(TooLarge)
    } else {
        Ok(())
    }
}

/// The orientation an Exif's TIFF structure states (starting at its byte-order mark, or at the
/// `Exif\0\0` of a JPEG's segment); 1 (as stored) without one.
fn orientation_of(exif: Option<&[u8]>) -> u16 {
    exif.map(|exif| exif.strip_prefix(b"Exif\0\0").unwrap_or(exif))
        .and_then(workorder::photo::exif_orientation)
        .unwrap_or(1)
}

fn jpeg(bytes: &[u8]) -> Result<(Pixels, u16), Refused> {
    use jpeg_decoder::{CodingProcess, Decoder, PixelFormat};
    let mut decoder = Decoder::new(bytes);
    decoder.read_info().map_err(|_| Undecodable)?;
    let info = decoder.info().ok_or(Undecodable)?;
    // A progressive picture keeps every coefficient of every component until its last scan: two
    // bytes each, three components at most.
    if info.coding_process == CodingProcess::DctProgressive {
        within(u64::from(info.width) * u64::from(info.height), 6)?;
    }
    let side = u16::try_from(LONG_SIDE).map_err(|_| Undecodable)?;
    let (width, height) = decoder.scale(side, side).map_err(|_| Undecodable)?;
    let (width, height) = (u32::from(width), u32::from(height));
    // The decoded pixels and, for grey, the colour made of them.
    within(u64::from(width) * u64::from(height), 4)?;
    let decoded = decoder.decode().map_err(|_| Undecodable)?;
    let orientation = orientation_of(decoder.exif_data());
    let rgb = match decoder.info().ok_or(Undecodable)?.pixel_format {
        PixelFormat::RGB24 => decoded,
        PixelFormat::L8 => decoded.iter().flat_map(|l| [*l; 3]).collect(),
        // 16-bit (lossless) and CMYK (print) pictures are no phone's: shown as they are.
        PixelFormat::L16 | PixelFormat::CMYK32 => return Err(Undecodable),
    };
    if rgb.len() != (width * height * 3) as usize {
        return Err(Undecodable);
    }
    Ok((Pixels { width, height, rgb }, orientation))
}

fn png(bytes: &[u8]) -> Result<Pixels, Refused> {
    let mut decoder = png::Decoder::new_with_limits(
        Cursor::new(bytes),
        png::Limits {
            bytes: usize::try_from(MAX_DECODED_BYTES).map_err(|_| TooLarge)?,
        },
    );
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|_| Undecodable)?;
    let (width, height) = (reader.info().width, reader.info().height);
    // The decoded rows and, for grey, the colour made of them: 5 bytes a pixel at most.
    within(u64::from(width) * u64::from(height), 5)?;
    let mut buffer = vec![0; reader.output_buffer_size().ok_or(TooLarge)?];
    let frame = reader.next_frame(&mut buffer).map_err(|_| Undecodable)?;
    let channels = match frame.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return Err(Undecodable),
    };
    // Eight bits a channel: the rows follow one another without a gap.
    if frame.line_size != width as usize * channels {
        return Err(Undecodable);
    }
    buffer.truncate(frame.buffer_size());
    let rgb = match channels {
        1 => buffer.iter().flat_map(|grey| [*grey; 3]).collect(),
        2 => buffer
            .chunks_exact(2)
            .flat_map(|p| [on_white(p[0], p[1]); 3])
            .collect(),
        3 => buffer,
        _ => without_alpha(buffer),
    };
    Ok(Pixels { width, height, rgb })
}

fn webp(bytes: &[u8]) -> Result<(Pixels, u16), Refused> {
    let mut decoder = image_webp::WebPDecoder::new(Cursor::new(bytes)).map_err(|_| Undecodable)?;
    let (width, height) = decoder.dimensions();
    within(u64::from(width) * u64::from(height), 4)?;
    let orientation = orientation_of(decoder.exif_metadata().ok().flatten().as_deref());
    let mut buffer = vec![0; decoder.output_buffer_size().ok_or(TooLarge)?];
    decoder.read_image(&mut buffer).map_err(|_| Undecodable)?;
    let rgb = if decoder.has_alpha() {
        without_alpha(buffer)
    } else {
        buffer
    };
    Ok((Pixels { width, height, rgb }, orientation))
}

/// RGBA pixels laid on white, as RGB, in the memory they came in.
fn without_alpha(mut rgba: Vec<u8>) -> Vec<u8> {
    let pixels = rgba.len() / 4;
    for pixel in 0..pixels {
        let [r, g, b, a] = [0, 1, 2, 3].map(|c| rgba[pixel * 4 + c]);
        // Written at or before where it was read: nothing unread is overwritten.
        rgba[pixel * 3..pixel * 3 + 3].copy_from_slice(&[r, g, b].map(|c| on_white(c, a)));
    }
    rgba.truncate(pixels * 3);
    rgba
}

/// A colour channel of a pixel `alpha` opaque, laid on white.
fn on_white(colour: u8, alpha: u8) -> u8 {
    let (c, a) = (u32::from(colour), u32::from(alpha));
    u8::try_from((c * a + 255 * (255 - a) + 127) / 255).unwrap_or(u8::MAX)
}

/// `pixels` with their long side at most `long_side`, each the mean of the pixels it covers.
fn shrink(pixels: &Pixels, long_side: u32) -> Pixels {
    let (w, h) = (pixels.width, pixels.height);
    let longest = w.max(h);
    if longest <= long_side {
        return pixels.clone();
    }
    let fit = |side: u32| {
        ((u64::from(side) * u64::from(long_side) + u64::from(longest) / 2) / u64::from(longest))
            .max(1) as u32
    };
    let (tw, th) = (fit(w), fit(h));
    let mut rgb = Vec::with_capacity((tw * th * 3) as usize);
    for ty in 0..th {
        let (y0, y1) = span(ty, th, h);
        for tx in 0..tw {
            let (x0, x1) = span(tx, tw, w);
            let mut sum = [0u64; 3];
            for y in y0..y1 {
                let row = (y * w * 3) as usize;
                for x in x0..x1 {
                    let at = row + (x * 3) as usize;
                    for (channel, total) in sum.iter_mut().enumerate() {
                        *total += u64::from(pixels.rgb[at + channel]);
                    }
                }
            }
            let count = u64::from((y1 - y0) * (x1 - x0));
            rgb.extend(sum.map(|total| ((total + count / 2) / count) as u8));
        }
    }
    Pixels {
        width: tw,
        height: th,
        rgb,
    }
}

/// The source pixels `[from, to)` that target pixel `at` of `target` covers, of `source`.
fn span(at: u32, target: u32, source: u32) -> (u32, u32) {
    let scale = |n: u32| (u64::from(n) * u64::from(source) / u64::from(target)) as u32;
    let from = scale(at);
    (from, scale(at + 1).max(from + 1))
}

/// `pixels` turned as the Exif `orientation` (1 to 8) says, so that they stand upright.
fn orient(pixels: &Pixels, orientation: u16) -> Pixels {
    let (w, h) = (pixels.width, pixels.height);
    let turned = matches!(orientation, 5..=8);
    let (ow, oh) = if turned { (h, w) } else { (w, h) };
    let mut rgb = vec![0; pixels.rgb.len()];
    for y in 0..h {
        for x in 0..w {
            // Where the stored pixel (x, y) stands upright.
            let (ox, oy) = match orientation {
                2 => (w - 1 - x, y),
                3 => (w - 1 - x, h - 1 - y),
                4 => (x, h - 1 - y),
                5 => (y, x),
                6 => (h - 1 - y, x),
                7 => (h - 1 - y, w - 1 - x),
                8 => (y, w - 1 - x),
                _ => (x, y),
            };
            let from = ((y * w + x) * 3) as usize;
            let to = ((oy * ow + ox) * 3) as usize;
            rgb[to..to + 3].copy_from_slice(&pixels.rgb[from..from + 3]);
        }
    }
    Pixels {
        width: ow,
        height: oh,
        rgb,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A picture whose left half is red and right half blue, top row of each a marker: the
    /// top-left 1/8 × 1/8 corner green.
    fn quarters(width: u32, height: u32) -> Vec<u8> {
        let mut rgb = Vec::with_capacity((width * height * 3) as usize);
        for y in 0..height {
            for x in 0..width {
                rgb.extend(if x < width / 8 && y < height / 8 {
                    [0, 255, 0]
                } else if x < width / 2 {
                    [255, 0, 0]
                } else {
                    [0, 0, 255]
                });
            }
        }
        rgb
    }

    fn encoded_jpeg(width: u32, height: u32, progressive: bool, exif: Option<&[u8]>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut out, 90);
        encoder.set_progressive(progressive);
        if let Some(exif) = exif {
            encoder.add_app_segment(1, exif).expect("an Exif");
        }
        encoder
            .encode(
                &quarters(width, height),
                u16::try_from(width).expect("narrow"),
                u16::try_from(height).expect("short"),
                jpeg_encoder::ColorType::Rgb,
            )
            .expect("encoded");
        out
    }

    fn encoded_png(width: u32, height: u32, colour: png::ColorType, pixels: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(colour);
        let mut writer = encoder.write_header().expect("a header");
        writer.write_image_data(pixels).expect("the pixels");
        drop(writer);
        out
    }

    fn decoded(jpeg: &[u8]) -> Pixels {
        let mut decoder = jpeg_decoder::Decoder::new(jpeg);
        let rgb = decoder.decode().expect("a JPEG");
        let info = decoder.info().expect("its size");
        assert_eq!(info.pixel_format, jpeg_decoder::PixelFormat::RGB24);
        Pixels {
            width: u32::from(info.width),
            height: u32::from(info.height),
            rgb,
        }
    }

    /// The colour at (x, y), each channel rounded to the nearest of 0 and 255.
    fn colour(pixels: &Pixels, x: u32, y: u32) -> [u8; 3] {
        let at = ((y * pixels.width + x) * 3) as usize;
        [0, 1, 2].map(|c| if pixels.rgb[at + c] > 127 { 255 } else { 0 })
    }

    #[test]
    fn a_photo_becomes_a_small_jpeg_of_the_same_picture() {
        let photo = encoded_jpeg(1600, 1200, false, None);
        let small = thumbnail("image/jpeg", &photo).expect("a thumbnail");
        assert!(
            small.len() < photo.len() / 4,
            "{} of {}",
            small.len(),
            photo.len()
        );
        let pixels = decoded(&small);
        assert_eq!((pixels.width, pixels.height), (400, 300));
        assert_eq!(colour(&pixels, 10, 10), [0, 255, 0]);
        assert_eq!(colour(&pixels, 100, 200), [255, 0, 0]);
        assert_eq!(colour(&pixels, 300, 10), [0, 0, 255]);
        // A small picture keeps its size; a progressive one is read too.
        let icon = thumbnail("image/jpeg", &encoded_jpeg(64, 48, true, None)).expect("small");
        let pixels = decoded(&icon);
        assert_eq!((pixels.width, pixels.height), (64, 48));
        assert_eq!(colour(&pixels, 50, 40), [0, 0, 255]);
    }

    #[test]
    fn noise_makes_the_largest_thumbnail_and_it_fits() {
        let mut seed = 7u32;
        let noise: Vec<u8> = (0..400 * 400 * 3)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 24) as u8
            })
            .collect();
        let png_bytes = encoded_png(400, 400, png::ColorType::Rgb, &noise);
        let small = thumbnail("image/png", &png_bytes).expect("a thumbnail");
        assert!(small.len() <= MAX_BYTES, "{}", small.len());
        assert!(small.len() > 100 << 10, "{}", small.len());
    }

    #[test]
    fn a_thumbnail_stands_as_the_exif_says() {
        // Orientation 6: stored lying on its side, shown turned a quarter clockwise.
        let exif = b"Exif\0\0MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0";
        let photo = encoded_jpeg(800, 600, false, Some(exif));
        let pixels = decoded(&thumbnail("image/jpeg", &photo).expect("a thumbnail"));
        assert_eq!((pixels.width, pixels.height), (300, 400));
        // The stored top-left corner is at the top right; the stored right half at the bottom.
        assert_eq!(colour(&pixels, 290, 10), [0, 255, 0]);
        assert_eq!(colour(&pixels, 150, 350), [0, 0, 255]);
        assert_eq!(colour(&pixels, 150, 50), [255, 0, 0]);
        // Every orientation: the corner where the stored top-left stands, in a 2 × 1 picture.
        let stored = Pixels {
            width: 2,
            height: 1,
            rgb: vec![1, 1, 1, 2, 2, 2],
        };
        for (orientation, rgb, width) in [
            (1, [1, 2], 2),
            (2, [2, 1], 2),
            (3, [2, 1], 2),
            (4, [1, 2], 2),
            (5, [1, 2], 1),
            (6, [1, 2], 1),
            (7, [2, 1], 1),
            (8, [2, 1], 1),
        ] {
            let turned = orient(&stored, orientation);
            assert_eq!(turned.width, width, "{orientation}");
            assert_eq!(
                turned.rgb,
                rgb.iter().flat_map(|c| [*c; 3]).collect::<Vec<u8>>(),
                "{orientation}"
            );
        }
    }

    #[test]
    fn png_and_webp_pictures_get_thumbnails_and_transparency_turns_white() {
        let (width, height) = (1000, 500);
        let mut rgba = Vec::new();
        for (i, rgb) in quarters(width, height).chunks(3).enumerate() {
            // The right half transparent.
            let alpha = if (i as u32 % width) < width / 2 {
                255
            } else {
                0
            };
            rgba.extend([rgb[0], rgb[1], rgb[2], alpha]);
        }
        let png_bytes = encoded_png(width, height, png::ColorType::Rgba, &rgba);
        let mut webp_bytes = Vec::new();
        image_webp::WebPEncoder::new(&mut webp_bytes)
            .encode(&rgba, width, height, image_webp::ColorType::Rgba8)
            .expect("a WebP");
        for (kind, bytes) in [("image/png", &png_bytes), ("image/webp", &webp_bytes)] {
            let pixels = decoded(&thumbnail(kind, bytes).expect(kind));
            assert_eq!((pixels.width, pixels.height), (400, 200), "{kind}");
            assert_eq!(colour(&pixels, 10, 10), [0, 255, 0], "{kind}");
            assert_eq!(colour(&pixels, 150, 150), [255, 0, 0], "{kind}");
            assert_eq!(colour(&pixels, 300, 100), [255, 255, 255], "{kind}");
        }
        // Grey with alpha: the left half opaque black, the right transparent.
        let grey: Vec<u8> = (0..100 * 50)
            .flat_map(|i| if i % 100 < 50 { [0, 255] } else { [0, 0] })
            .collect();
        let grey_png = encoded_png(100, 50, png::ColorType::GrayscaleAlpha, &grey);
        let pixels = decoded(&thumbnail("image/png", &grey_png).expect("grey"));
        assert_eq!((pixels.width, pixels.height), (100, 50));
        assert_eq!(colour(&pixels, 10, 25), [0, 0, 0]);
        assert_eq!(colour(&pixels, 90, 25), [255, 255, 255]);
    }

    /// A panic in a component is a trap and a 500: a picture damaged anywhere (bits flipped,
    /// bytes overwritten, cut short) gets a thumbnail or none, and nothing else. (80,000 such
    /// mutations in a release build found no panic either.)
    #[test]
    fn a_damaged_picture_never_panics() {
        let rgb: Vec<u8> = (0..96 * 64 * 3).map(|i| (i * 7 % 256) as u8).collect();
        let mut pictures = vec![
            ("image/jpeg", encoded_jpeg(96, 64, false, None)),
            ("image/jpeg", encoded_jpeg(96, 64, true, None)),
        ];
        let png_bytes = encoded_png(96, 64, png::ColorType::Rgb, &rgb);
        pictures.push(("image/png", png_bytes));
        let mut webp_bytes = Vec::new();
        image_webp::WebPEncoder::new(&mut webp_bytes)
            .encode(&rgb, 96, 64, image_webp::ColorType::Rgb8)
            .expect("a WebP");
        pictures.push(("image/webp", webp_bytes));
        let mut seed = 12_345u64;
        let mut random = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for (kind, bytes) in &pictures {
            assert!(thumbnail(kind, bytes).is_some(), "{kind}");
            for _ in 0..500 {
                let mut damaged = bytes.clone();
                for _ in 0..1 + random() % 8 {
                    let at = (random() % damaged.len() as u64) as usize;
                    damaged[at] = match random() % 3 {
                        0 => damaged[at] ^ 1 << (random() % 8),
                        1 => random() as u8,
                        _ => 0xff,
                    };
                }
                if random() % 5 == 0 {
                    damaged.truncate(1 + (random() % damaged.len() as u64) as usize);
                }
                if let Some(small) = thumbnail(kind, &damaged) {
                    assert!(small.len() <= MAX_BYTES);
                }
            }
        }
    }

    #[test]
    fn what_does_not_decode_or_would_take_too_much_memory_gets_none() {
        let photo = encoded_jpeg(320, 240, false, None);
        for (kind, bytes) in [
            ("image/jpeg", &photo[..photo.len() / 2]),
            (
                "image/jpeg",
                b"\xff\xd8\xff\xda\x00\x02 a picture of the loose paving \xff\xd9",
            ),
            ("image/png", b"\x89PNG\r\n\x1a\n"),
            ("image/webp", b"RIFF\x0c\0\0\0WEBPVP8 \0\0\0\0"),
            ("image/gif", b"GIF89a"),
        ] {
            assert_eq!(made(kind, bytes), Err(Undecodable), "{kind} {bytes:?}");
            assert_eq!(thumbnail(kind, bytes), None, "{kind} {bytes:?}");
        }
        // Only a picture's header is read before its size is weighed.
        let progressive = |side: u16| {
            let mut header = b"\xff\xd8\xff\xc2\0\x11\x08".to_vec();
            header.extend(side.to_be_bytes());
            header.extend(side.to_be_bytes());
            header.extend(b"\x03\x01\x11\0\x02\x11\0\x03\x11\0\xff\xd9");
            header
        };
        // 2000 × 2000 progressive: 24.0 MB of coefficients, within 24 MiB; 2100 × 2100, 26.5 MB.
        assert_eq!(made("image/jpeg", &progressive(2000)), Err(Undecodable));
        assert_eq!(made("image/jpeg", &progressive(2100)), Err(TooLarge));
        // A PNG of 2300 × 2300 would hold 26.5 MB decoded (5 bytes a pixel); 2200 × 2200, 24.2.
        let png_header = |side: u32| {
            let mut header = Vec::new();
            let mut encoder = png::Encoder::new(&mut header, side, side);
            encoder.set_color(png::ColorType::Rgba);
            let mut writer = encoder.write_header().expect("a header");
            // The start of the pixels' zlib stream, a row's filter byte, and no more.
            writer
                .write_chunk(png::chunk::IDAT, b"\x78\x01\x00\x01\x00\xfe\xff\x00")
                .expect("a start");
            writer.finish().expect("the end");
            header
        };
        assert_eq!(made("image/png", &png_header(2200)), Err(Undecodable));
        assert_eq!(made("image/png", &png_header(2300)), Err(TooLarge));
    }
}
