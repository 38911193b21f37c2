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
    }
}
