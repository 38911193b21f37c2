//! The bench's photo uploads: a phone's full-size photos, each uploaded as a citizen who has not
//! sent it before, so that every upload is kept and its thumbnail made (the same bytes from the
//! same person are the photo they have, answered without either).

use crate::load::{self, RequestFactory};
use bytes::Bytes;
use http_body_util::Full;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// A phone's photo: 12 megapixels (4000 × 3000), as a camera app writes it (baseline JPEG).
pub const WIDTH: u16 = 4000;
pub const HEIGHT: u16 = 3000;

/// Distinct pictures each uploader sends in turn.
pub const PICTURES: usize = 16;

/// Uploaders for each client: after the last picture, the client sends the pool again as the
/// next. Eight pools a client is 128 uploads, several times what the rounds send at the
/// measured rate, and 16 a subject, under the day's limit of 100.
pub const CYCLES: usize = 8;

/// The subject of client `client`'s `cycle`-th uploader.
pub fn uploader(client: usize, cycle: usize) -> String {
    format!("bench-uploader-{client}-{cycle}")
}

/// `count` distinct photos, each of what a phone's camera makes of a lit street at night: broad
/// gradients with the fine grain of a small sensor, at quality 85, the least under the 2 MiB an
/// upload may be.
pub fn pictures(count: usize) -> anyhow::Result<Vec<Bytes>> {
    (0..count)
        .map(|seed| {
            let rgb = scene(seed as u32);
            for quality in [85, 80, 75, 70, 60, 50] {
                let mut out = Vec::new();
                jpeg_encoder::Encoder::new(&mut out, quality).encode(
                    &rgb,
                    WIDTH,
                    HEIGHT,
                    jpeg_encoder::ColorType::Rgb,
                )?;
                if out.len() <= mobile_api::MAX_PHOTO_BYTES {
                    return Ok(Bytes::from(out));
                }
            }
            anyhow::bail!("no quality brings the bench's picture under 2 MiB")
        })
        .collect()
}

/// The pixels of picture `seed`.
fn scene(seed: u32) -> Vec<u8> {
    let (width, height) = (u32::from(WIDTH), u32::from(HEIGHT));
    let mut rgb = Vec::with_capacity((width * height * 3) as usize);
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    for y in 0..height {
        for x in 0..width {
            // xorshift: the grain.
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let grain = (state % 17) as i32 - 8;
            let base = [
                (x * 255 / width) as i32,
                (y * 255 / height) as i32,
                ((x + y + seed * 97) % 256) as i32,
            ];
            rgb.extend(base.map(|c| (c + grain).clamp(0, 255) as u8));
        }
    }
    rgb
}

/// The thumbnail of each picture made natively in this process, one at a time: the median time
/// of one, in ms (what the component's decode would take without the sandbox).
pub fn native_thumbnail_ms(pictures: &[Bytes]) -> anyhow::Result<f64> {
    let mut times = Vec::with_capacity(pictures.len());
    for picture in pictures {
        let started = Instant::now();
        let small = thumbnail::thumbnail("image/jpeg", picture);
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(small.is_some(), "the bench's picture makes no thumbnail");
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// Uploads of `pictures`, each client sending them in turn as its uploaders (`headers[client]`,
/// one `authorization` header per cycle), carrying on across rounds where the last left off.
pub fn factory(
    pictures: Arc<Vec<Bytes>>,
    headers: Arc<Vec<Vec<http::HeaderValue>>>,
) -> RequestFactory {
    let sent: Arc<Vec<AtomicUsize>> =
        Arc::new((0..headers.len()).map(|_| AtomicUsize::new(0)).collect());
    Arc::new(move |sequence| {
        let client = load::client_of(sequence) % headers.len();
        let n = sent[client].fetch_add(1, Ordering::Relaxed);
        let cycles = &headers[client];
        let header = &cycles[(n / pictures.len()) % cycles.len()];
        http::Request::post("/api/v1/photos")
            .header("host", "bench")
            .header(http::header::AUTHORIZATION, header.clone())
            .header("content-type", "image/jpeg")
            .body(Full::new(pictures[n % pictures.len()].clone()))
            .expect("a valid request")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pictures_are_distinct_full_size_photos_that_make_thumbnails() {
        let pictures = pictures(2).expect("made");
        assert_ne!(pictures[0], pictures[1]);
        for picture in &pictures {
            // What a phone's photo weighs, under what an upload may.
            assert!(
                (1 << 20..=mobile_api::MAX_PHOTO_BYTES).contains(&picture.len()),
                "{}",
                picture.len()
            );
        }
        assert!(native_thumbnail_ms(&pictures).expect("made") > 0.0);
    }
}
