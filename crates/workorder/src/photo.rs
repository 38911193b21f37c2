//! Photos that citizens and staff upload: what kind of picture a body holds (by its bytes, not by
//! what the sender says), the picture taken out of the form the WeChat mini-program sends
//! (`wx.uploadFile` posts `multipart/form-data`), and the links that name uploaded photos.

/// The kinds of picture the platform keeps, by their media type. Each is told by its first bytes;
/// anything else (an SVG, which is a script as much as a picture; HEIC, which browsers cannot
/// show) is refused.
pub const KINDS: &[&str] = &["image/jpeg", "image/png", "image/webp"];

/// The path an uploaded photo is read at; a link to one in `photo_urls` is this and its id.
pub const LINK_PREFIX: &str = "/api/v1/photos/";

/// The media type of the picture `bytes` hold, told by their signature; `None` for anything else.
pub fn kind(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// A picture whose structure does not read as its kind's (segments or chunks running past its
/// end, or none where one must be).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Damaged;

/// The picture `bytes` (of `kind`, [`kind`]'s answer) without what a camera or an editor wrote
/// about it: where it was taken (GPS), the phone's make and serial number, the owner's name, the
/// time, comments, the thumbnail. A photo is shown to the agency, the centre and citizens who
/// follow the request, who see the problem but never who reported it, nor where they stood.
///
/// JPEG: the `APP1` (Exif, XMP), `APP13` (IPTC) and comment segments go, and so does anything
/// after the picture's end (phones append further images there, each with its own Exif); the
/// Exif's orientation alone is kept, in a minimal Exif of its own, so that a portrait stays
/// upright. PNG: the `eXIf`, text and time chunks go, and anything after `IEND`. WebP: the `XMP `
/// chunk goes, and the `EXIF` chunk gives way to one with the orientation alone (the extended
/// header's flags say so), and anything after the RIFF container's end goes.
pub fn without_metadata(kind: &str, bytes: &[u8]) -> Result<Vec<u8>, Damaged> {
    match kind {
        "image/jpeg" => jpeg_without_metadata(bytes),
        "image/png" => png_without_metadata(bytes),
        "image/webp" => webp_without_metadata(bytes),
        _ => Err(Damaged),
    }
}

fn jpeg_without_metadata(bytes: &[u8]) -> Result<Vec<u8>, Damaged> {
    let mut kept = Vec::with_capacity(bytes.len());
    kept.extend_from_slice(&bytes[..2]);
    let mut at = 2;
    loop {
        // A marker: 0xFF (any number of them, as fill), then its code.
        if bytes.get(at) != Some(&0xff) {
            return Err(Damaged);
        }
        while bytes.get(at) == Some(&0xff) {
            at += 1;
        }
        let code = *bytes.get(at).ok_or(Damaged)?;
        at += 1;
        match code {
            // The end of the picture before any scan: nothing to show.
            0xd9 => return Err(Damaged),
            // Markers without a length.
            0x01 | 0xd0..=0xd7 => {
                kept.extend_from_slice(&[0xff, code]);
                continue;
            }
            _ => {}
        }
        let length = bytes
            .get(at..at + 2)
            .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
            .filter(|length| *length >= 2)
            .ok_or(Damaged)?;
        let segment = bytes.get(at + 2..at + length).ok_or(Damaged)?;
        match code {
            // Exif and XMP: only the orientation stays.
            0xe1 => {
                let orientation = segment.strip_prefix(b"Exif\0\0").and_then(exif_orientation);
                if let Some(orientation) = orientation.filter(|o| *o != 1) {
                    kept.extend_from_slice(&[0xff, 0xe1]);
                    let tiff = orientation_tiff(orientation);
                    let length =
                        u16::try_from(2 + EXIF_HEADER.len() + tiff.len()).expect("a short segment");
                    kept.extend_from_slice(&length.to_be_bytes());
                    kept.extend_from_slice(EXIF_HEADER);
                    kept.extend_from_slice(&tiff);
                }
            }
            // IPTC, and comments.
            0xed | 0xfe => {}
            _ => kept.extend_from_slice(&bytes[at - 2..at + length]),
        }
        at += length;
        if code == 0xda {
            // The scans, to the picture's end.
            let end = scan_end(bytes, at);
            kept.extend_from_slice(&bytes[at..end]);
            return Ok(kept);
        }
    }
}

/// Where the picture whose scans start at `from` ends: after its end marker, or at the end of the
/// bytes when it has none. In coded data a 0xFF is followed by 0x00 (a stuffed byte) or a
/// restart marker; any other marker is the picture's own (tables and further scans of a
/// progressive JPEG), passed over by its length.
fn scan_end(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    while at + 1 < bytes.len() {
        if bytes[at] != 0xff {
            at += 1;
            continue;
        }
        match bytes[at + 1] {
            0xd9 => return at + 2,
            0x00 | 0xff | 0xd0..=0xd7 => at += 1,
            _ => {
                let Some(length) = bytes.get(at + 2..at + 4) else {
                    return bytes.len();
                };
                at += 2 + usize::from(u16::from_be_bytes([length[0], length[1]]));
            }
        }
    }
    bytes.len()
}

/// What an Exif `APP1`'s body starts with, before its TIFF structure.
const EXIF_HEADER: &[u8] = b"Exif\0\0";

/// The Exif orientation (tag 0x0112 of the first IFD, 1 to 8) of an Exif's TIFF structure.
pub fn exif_orientation(tiff: &[u8]) -> Option<u16> {
    let big_endian = match tiff.get(..4)? {
        b"MM\0*" => true,
        b"II*\0" => false,
        _ => return None,
    };
    let u16_at = |at: usize| {
        let b = tiff.get(at..at + 2)?;
        Some(if big_endian {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        })
    };
    let u32_at = |at: usize| {
        let b = tiff.get(at..at + 4)?;
        Some(if big_endian {
            u32::from_be_bytes([b[0], b[1], b[2], b[3]])
        } else {
            u32::from_le_bytes([b[0], b[1], b[2], b[3]])
        })
    };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let entries = usize::from(u16_at(ifd)?);
    (0..entries).find_map(|i| {
        let entry = ifd + 2 + i * 12;
        // SHORT (3), one value, held in the entry itself.
        (u16_at(entry)? == 0x0112 && u16_at(entry + 2)? == 3)
            .then(|| u16_at(entry + 8))
            .flatten()
            .filter(|o| (1..=8).contains(o))
    })
}

/// An Exif's TIFF structure with the orientation alone (big-endian, one IFD of one entry).
fn orientation_tiff(orientation: u16) -> Vec<u8> {
    let mut tiff = b"MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01".to_vec();
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    tiff
}

fn png_without_metadata(bytes: &[u8]) -> Result<Vec<u8>, Damaged> {
    let mut kept = bytes[..8].to_vec();
    let mut at = 8;
    loop {
        let head = bytes.get(at..at + 8).ok_or(Damaged)?;
        let length = usize::try_from(u32::from_be_bytes([head[0], head[1], head[2], head[3]]))
            .map_err(|_| Damaged)?;
        let kind = &head[4..8];
        // The chunk with its type, data and checksum.
        let end = at
            .checked_add(12)
            .and_then(|n| n.checked_add(length))
            .filter(|end| *end <= bytes.len())
            .ok_or(Damaged)?;
        if !matches!(kind, b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" | b"tIME") {
            kept.extend_from_slice(&bytes[at..end]);
        }
        at = end;
        if kind == b"IEND" {
            return Ok(kept);
        }
    }
}

/// The extended header's flags (`VP8X`): an `EXIF` chunk, an `XMP ` chunk.
const WEBP_EXIF: u8 = 0x08;
const WEBP_XMP: u8 = 0x04;

/// A WebP (a RIFF container of chunks, each a FourCC, a little-endian length, its data and a
/// byte of padding when the length is odd). The first chunk is the picture (`VP8 `, `VP8L`) or the
/// extended header (`VP8X`), whose flags say which metadata chunks follow.
fn webp_without_metadata(bytes: &[u8]) -> Result<Vec<u8>, Damaged> {
    let le32 = |at: usize| -> Result<usize, Damaged> {
        let b = bytes.get(at..at + 4).ok_or(Damaged)?;
        usize::try_from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])).map_err(|_| Damaged)
    };
    // The container's end; what follows it is no part of the picture.
    let end = le32(4)?
        .checked_add(8)
        .filter(|end| *end <= bytes.len())
        .ok_or(Damaged)?;
    let mut chunks: Vec<(&[u8], std::borrow::Cow<[u8]>)> = Vec::new();
    let mut extended = false;
    let mut at = 12;
    while at < end {
        let fourcc = bytes
            .get(at..at + 4)
            .filter(|_| at + 8 <= end)
            .ok_or(Damaged)?;
        let length = le32(at + 4)?;
        let data_end = (at + 8)
            .checked_add(length)
            .filter(|e| *e <= end)
            .ok_or(Damaged)?;
        let data = &bytes[at + 8..data_end];
        match (chunks.is_empty(), fourcc) {
            (true, b"VP8 " | b"VP8L") => {}
            (true, b"VP8X") => {
                if data.len() < 10 {
                    return Err(Damaged);
                }
                extended = true;
            }
            (true, _) => return Err(Damaged),
            (false, _) => {}
        }
        match fourcc {
            b"XMP " => {}
            // Only the extended format may hold an Exif (some writers put the JPEG's header first).
            b"EXIF" => {
                let tiff = data.strip_prefix(EXIF_HEADER).unwrap_or(data);
                let orientation = exif_orientation(tiff).filter(|o| extended && *o != 1);
                if let Some(orientation) = orientation {
                    chunks.push((b"EXIF", orientation_tiff(orientation).into()));
                }
            }
            _ => chunks.push((&bytes[at..at + 4], data.into())),
        }
        // The padding may be missing after the last chunk.
        at = (data_end + length % 2).min(end);
    }
    if chunks.is_empty() {
        return Err(Damaged);
    }
    if extended {
        let has_exif = chunks.iter().any(|(fourcc, _)| *fourcc == b"EXIF");
        let header = chunks[0].1.to_mut();
        header[0] &= !(WEBP_EXIF | WEBP_XMP);
        if has_exif {
            header[0] |= WEBP_EXIF;
        }
    }
    let mut kept = Vec::with_capacity(end);
    kept.extend_from_slice(b"RIFF\0\0\0\0WEBP");
    for (fourcc, data) in &chunks {
        kept.extend_from_slice(fourcc);
        let length = u32::try_from(data.len()).map_err(|_| Damaged)?;
        kept.extend_from_slice(&length.to_le_bytes());
        kept.extend_from_slice(data);
        if data.len() % 2 == 1 {
            kept.push(0);
        }
    }
    let size = u32::try_from(kept.len() - 8).map_err(|_| Damaged)?;
    kept[4..8].copy_from_slice(&size.to_le_bytes());
    Ok(kept)
}

/// Why a form holds no picture to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormProblem {
    /// The content type names no boundary, or the body is not parts between it.
    Malformed,
    /// No part is named `file`.
    NoFile,
}

/// The part named `file` of a `multipart/form-data` body (RFC 7578), given the request's
/// `content_type` with its `boundary`. Other parts (`wx.uploadFile`'s `formData`) are passed over.
pub fn form_file<'a>(content_type: &str, body: &'a [u8]) -> Result<&'a [u8], FormProblem> {
    let boundary = content_type
        .split(';')
        .skip(1)
        .filter_map(|param| param.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, value)| value.trim().trim_matches('"'))
        .filter(|boundary| !boundary.is_empty() && boundary.len() <= 70)
        .ok_or(FormProblem::Malformed)?;
    let delimiter = [b"--", boundary.as_bytes()].concat();
    // Each part ends where a line holding the next delimiter starts.
    let part_end = [b"\r\n--", boundary.as_bytes()].concat();
    let first = find(body, &delimiter).ok_or(FormProblem::Malformed)?;
    let mut rest = &body[first + delimiter.len()..];
    loop {
        // After a delimiter: `--` closes the form; otherwise a line break and the part.
        if rest.starts_with(b"--") {
            return Err(FormProblem::NoFile);
        }
        rest = rest.strip_prefix(b"\r\n").ok_or(FormProblem::Malformed)?;
        let head_end = find(rest, b"\r\n\r\n").ok_or(FormProblem::Malformed)?;
        let head = std::str::from_utf8(&rest[..head_end]).map_err(|_| FormProblem::Malformed)?;
        let contents = &rest[head_end + 4..];
        let end = find(contents, &part_end).ok_or(FormProblem::Malformed)?;
        if part_name(head) == Some("file") {
            return Ok(&contents[..end]);
        }
        rest = &contents[end + part_end.len()..];
    }
}

/// The `name` a part's `Content-Disposition` gives it.
fn part_name(head: &str) -> Option<&str> {
    let disposition = head.split("\r\n").find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-disposition")
            .then_some(value)
    })?;
    disposition
        .split(';')
        .skip(1)
        .filter_map(|param| param.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("name"))
        .map(|(_, value)| value.trim().trim_matches('"'))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The id a link names when it is one of the platform's own photos (`/api/v1/photos/<id>`,
/// the id in its lower-case hyphenated form); `None` for a link elsewhere.
pub fn own_photo(link: &str) -> Option<&str> {
    let id = link.strip_prefix(LINK_PREFIX)?;
    let hyphens = [8, 13, 18, 23];
    let well_formed = id.len() == 36
        && id.bytes().enumerate().all(|(i, b)| {
            if hyphens.contains(&i) {
                b == b'-'
            } else {
                b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
            }
        });
    well_formed.then_some(id)
}

/// The ids of the platform's own photos among `links`, each once.
pub fn own_photos(links: &[String]) -> Vec<String> {
    let mut ids: Vec<String> = links
        .iter()
        .filter_map(|link| own_photo(link))
        .map(str::to_owned)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The link an uploaded photo is read at.
pub fn link(id: &str) -> String {
    format!("{LINK_PREFIX}{id}")
}

/// What a photo's link adds to read its thumbnail (`GET /api/v1/photos/{id}?size=thumbnail`).
pub const THUMBNAIL_QUERY: &str = "?size=thumbnail";

/// What a list row shows of the photo `link` names: its thumbnail when it is one of the
/// platform's own photos, the link as it is when it is elsewhere.
pub fn thumbnail_link(link: &str) -> String {
    if own_photo(link).is_some() {
        format!("{link}{THUMBNAIL_QUERY}")
    } else {
        link.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_are_told_by_their_bytes() {
        assert_eq!(kind(&[0xff, 0xd8, 0xff, 0xe0, 0, 0x10]), Some("image/jpeg"));
        assert_eq!(kind(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("image/png"));
        assert_eq!(kind(b"RIFF\x24\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(kind(b"RIFF\x24\0\0\0WAVEfmt "), None);
        assert_eq!(kind(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"), None);
        assert_eq!(kind(b"GIF89a"), None);
        assert_eq!(kind(b""), None);
        assert_eq!(kind(&[0xff, 0xd8]), None);
    }

    fn segment(code: u8, body: &[u8]) -> Vec<u8> {
        let mut segment = vec![0xff, code];
        segment.extend_from_slice(
            &u16::try_from(body.len() + 2)
                .expect("a short segment")
                .to_be_bytes(),
        );
        segment.extend_from_slice(body);
        segment
    }

    /// A little-endian Exif with the orientation `6` (rotated) and a GPS position.
    fn exif_with_gps() -> Vec<u8> {
        let mut exif = b"Exif\0\0II*\0\x08\0\0\0\x02\0".to_vec();
        exif.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]);
        exif.extend_from_slice(&[0x25, 0x88, 4, 0, 1, 0, 0, 0, 38, 0, 0, 0]);
        exif.extend_from_slice(&[0, 0, 0, 0]);
        exif.extend_from_slice(b"GPS 32.9802N 114.0227E; owner Wang");
        exif
    }

    #[test]
    fn a_jpeg_keeps_its_picture_and_orientation_and_loses_what_was_written_about_it() {
        let jfif = segment(0xe0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        let tables = segment(0xdb, &[0; 65]);
        let scan = segment(0xda, &[1, 1, 0, 0, 0x3f, 0]);
        // Coded data with a stuffed 0xFF and a restart marker, a second scan of a progressive
        // picture whose table holds 0xFF 0xD9, and the end.
        let coded: &[u8] = b"\x12\xff\0\x34\xff\xd0\x56";
        let second = [
            segment(0xc4, &[0x10, 0xff, 0xd9]),
            segment(0xda, &[1, 1, 0, 0, 0x3f, 0]),
        ]
        .concat();
        let picture = [
            &[0xff, 0xd8][..],
            &jfif,
            &segment(0xe1, &exif_with_gps()),
            &segment(
                0xe1,
                b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>GPS</x:xmpmeta>",
            ),
            &segment(0xed, b"Photoshop 3.0\0owner"),
            &segment(0xfe, b"taken at home"),
            &tables,
            &scan,
            coded,
            &second,
            b"\x78\xff\xd9",
            // A second image after the end, as phones append, with an Exif of its own.
            &[0xff, 0xd8],
            &segment(0xe1, &exif_with_gps()),
            &[0xff, 0xd9],
        ]
        .concat();
        let kept = without_metadata("image/jpeg", &picture).expect("a JPEG");
        let upright = [
            &[0xff, 0xe1, 0, 34][..],
            b"Exif\0\0MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0",
        ]
        .concat();
        let expected = [
            &[0xff, 0xd8][..],
            &jfif,
            &upright,
            &tables,
            &scan,
            coded,
            &second,
            b"\x78\xff\xd9",
        ]
        .concat();
        assert_eq!(kept, expected);
        assert_eq!(exif_orientation(&upright[10..]), Some(6));
        // Nothing to take: the same bytes.
        let plain = [&[0xff, 0xd8][..], &jfif, &scan, coded, &[0xff, 0xd9]].concat();
        assert_eq!(without_metadata("image/jpeg", &plain), Ok(plain.clone()));
        // Upright already: no Exif at all.
        let mut exif = exif_with_gps();
        exif[24] = 1;
        let upright_already = [
            &[0xff, 0xd8][..],
            &segment(0xe1, &exif),
            &scan,
            &[0xff, 0xd9],
        ]
        .concat();
        assert_eq!(
            without_metadata("image/jpeg", &upright_already),
            Ok([&[0xff, 0xd8][..], &scan, &[0xff, 0xd9]].concat())
        );
    }

    #[test]
    fn a_jpeg_whose_segments_do_not_read_is_damaged() {
        for damaged in [
            &b"\xff\xd8\xff"[..],
            b"\xff\xd8\xff\xe0 a picture of the loose paving \xff\xd9",
            b"\xff\xd8\xff\xe0\0\x10JFIF",
            b"\xff\xd8\xff\xd9",
            b"\xff\xd8\x12\x34",
        ] {
            assert_eq!(
                without_metadata("image/jpeg", damaged),
                Err(Damaged),
                "{damaged:?}"
            );
        }
    }

    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut chunk = u32::try_from(data.len())
            .expect("a short chunk")
            .to_be_bytes()
            .to_vec();
        chunk.extend_from_slice(kind);
        chunk.extend_from_slice(data);
        chunk.extend_from_slice(&[0; 4]);
        chunk
    }

    #[test]
    fn a_png_loses_its_text_exif_and_time_and_what_follows_its_end() {
        let signature = b"\x89PNG\r\n\x1a\n";
        let header = chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]);
        let data = chunk(b"IDAT", b"\x78\x9c\x63\x60");
        let end = chunk(b"IEND", b"");
        let picture = [
            &signature[..],
            &header,
            &chunk(b"eXIf", &exif_with_gps()[6..]),
            &chunk(b"tEXt", b"Author\0Wang"),
            &chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0GPS"),
            &chunk(b"tIME", &[7, 234, 12, 6, 20, 0, 0]),
            &data,
            &end,
            b"trailing",
        ]
        .concat();
        assert_eq!(
            without_metadata("image/png", &picture),
            Ok([&signature[..], &header, &data, &end].concat())
        );
        assert_eq!(without_metadata("image/png", &picture[..30]), Err(Damaged));
    }

    /// A WebP of `chunks`, each padded to an even length.
    fn webp(chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
        let mut body = b"WEBP".to_vec();
        for (fourcc, data) in chunks {
            body.extend_from_slice(*fourcc);
            let length = u32::try_from(data.len()).expect("a short chunk");
            body.extend_from_slice(&length.to_le_bytes());
            body.extend_from_slice(data);
            if data.len() % 2 == 1 {
                body.push(0);
            }
        }
        let size = u32::try_from(body.len()).expect("a short picture");
        [&b"RIFF"[..], &size.to_le_bytes(), &body].concat()
    }

    #[test]
    fn a_webp_loses_its_xmp_and_exif_but_the_orientation_and_what_follows_its_end() {
        // The extended header: alpha, Exif and XMP flagged; a 1×1 canvas.
        let flagged = |flags: u8| [flags, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let alpha: &[u8] = &[0, 0xff, 0x7f];
        let picture: &[u8] = b"\x30\x01\0\x9d";
        let exif = &exif_with_gps()[6..];
        let sent = [
            webp(&[
                (b"VP8X", &flagged(0x1c)),
                (b"ALPH", alpha),
                (b"VP8 ", picture),
                (b"EXIF", exif),
                (b"XMP ", b"<x:xmpmeta>GPS 32.9802N</x:xmpmeta>"),
            ]),
            b"trailing".to_vec(),
        ]
        .concat();
        let kept = without_metadata("image/webp", &sent).expect("a WebP");
        let upright = orientation_tiff(6);
        assert_eq!(
            kept,
            webp(&[
                (b"VP8X", &flagged(0x18)),
                (b"ALPH", alpha),
                (b"VP8 ", picture),
                (b"EXIF", &upright),
            ])
        );
        assert_eq!(kind(&kept), Some("image/webp"));
        assert_eq!(exif_orientation(&upright), Some(6));
        // An Exif written with the JPEG's header, upright: no Exif at all, nor its flag.
        let mut upright_already = exif_with_gps();
        upright_already[24] = 1;
        assert_eq!(
            without_metadata(
                "image/webp",
                &webp(&[
                    (b"VP8X", &flagged(0x08)),
                    (b"VP8 ", picture),
                    (b"EXIF", &upright_already),
                ])
            ),
            Ok(webp(&[(b"VP8X", &flagged(0)), (b"VP8 ", picture)]))
        );
        // The simple format: the same bytes. Its last chunk's padding missing: added.
        let simple = webp(&[(b"VP8L", b"\x2f\0\0\0\0")]);
        assert_eq!(without_metadata("image/webp", &simple), Ok(simple.clone()));
        let mut unpadded = simple[..simple.len() - 1].to_vec();
        unpadded[4] -= 1;
        assert_eq!(
            without_metadata("image/webp", &unpadded),
            Ok(simple.clone())
        );
    }

    #[test]
    fn a_webp_whose_chunks_do_not_read_is_damaged() {
        let mut past_its_end = webp(&[(b"VP8 ", b"\x30\x01\0\x9d")]);
        past_its_end[4] += 2;
        let mut chunk_past_the_container = webp(&[(b"VP8 ", b"\x30\x01\0\x9d")]);
        chunk_past_the_container[16] += 2;
        for damaged in [
            b"RIFF\x04\0\0\0WEBP".to_vec(),
            b"RIFF\x08\0\0\0WEBPVP8 ".to_vec(),
            past_its_end,
            chunk_past_the_container,
            webp(&[(b"ALPH", b"\0"), (b"VP8 ", b"\x30\x01\0\x9d")]),
            webp(&[(b"VP8X", &[0; 9]), (b"VP8 ", b"\x30\x01\0\x9d")]),
        ] {
            assert_eq!(
                without_metadata("image/webp", &damaged),
                Err(Damaged),
                "{damaged:?}"
            );
        }
    }

    fn form(boundary: &str, parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (name, contents) in parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"a.jpg\"\r\n\
                     Content-Type: image/jpeg\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(contents);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        body
    }

    #[test]
    fn the_file_part_is_taken_from_a_form_and_the_others_passed_over() {
        // The contents hold line breaks and dashes of their own, as pictures do.
        let picture: &[u8] = b"\xff\xd8\xff\r\n--not-the-boundary\r\n\r\n\xff\xd9";
        let body = form(
            "----WxFormBoundary7MA4YWxk",
            &[("order", b"12345"), ("file", picture)],
        );
        let content_type = "multipart/form-data; boundary=----WxFormBoundary7MA4YWxk";
        assert_eq!(form_file(content_type, &body), Ok(picture));
        let quoted = "multipart/form-data; charset=utf-8; BOUNDARY=\"----WxFormBoundary7MA4YWxk\"";
        assert_eq!(form_file(quoted, &body), Ok(picture));
    }

    #[test]
    fn a_form_without_its_file_or_its_boundary_is_refused() {
        let body = form("b", &[("photo", b"\xff\xd8\xff")]);
        assert_eq!(
            form_file("multipart/form-data; boundary=b", &body),
            Err(FormProblem::NoFile)
        );
        assert_eq!(
            form_file("multipart/form-data", &body),
            Err(FormProblem::Malformed)
        );
        assert_eq!(
            form_file("multipart/form-data; boundary=other", &body),
            Err(FormProblem::Malformed)
        );
        // A part cut off before its end.
        let body = form("b", &[("file", b"\xff\xd8\xff")]);
        assert_eq!(
            form_file("multipart/form-data; boundary=b", &body[..body.len() - 10]),
            Err(FormProblem::Malformed)
        );
        assert_eq!(
            form_file("multipart/form-data; boundary=b", b""),
            Err(FormProblem::Malformed)
        );
    }

    #[test]
    fn own_photo_links_name_an_id_and_nothing_else() {
        let id = "0b5c1c1e-3f4a-4d7e-9a51-2c7d8e9f0a1b";
        assert_eq!(own_photo(&link(id)), Some(id));
        assert_eq!(own_photo(&format!("https://example.org{}", link(id))), None);
        assert_eq!(own_photo(&link(&id.to_uppercase())), None);
        assert_eq!(own_photo(&format!("{}/x", link(id))), None);
        assert_eq!(own_photo("/api/v1/photos/"), None);
        assert_eq!(
            own_photo(&link("0b5c1c1e-3f4a-4d7e-9a51_2c7d8e9f0a1b")),
            None
        );
        let links = [link(id), "https://example.org/a.jpg".to_owned(), link(id)];
        assert_eq!(own_photos(&links), vec![id.to_owned()]);
        assert_eq!(
            thumbnail_link(&link(id)),
            format!("/api/v1/photos/{id}?size=thumbnail")
        );
        assert_eq!(
            thumbnail_link("https://example.org/a.jpg"),
            "https://example.org/a.jpg"
        );
    }
}
