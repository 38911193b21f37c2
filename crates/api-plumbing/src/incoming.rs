//! Requests as `wasi:http` hands them to a component, read without spin-sdk's conversion into
//! `http` types.
//!
//! spin-sdk's `#[http_service]` turns every request into an `http::Request` before the handler
//! sees it: the URI parsed, every header name parsed and hashed into a `HeaderMap`, and the
//! headers fetched twice. A component reads three or four headers of a request, so here the
//! request is read with four calls on `wasi:http` (the method, the target, the headers and their
//! list), the body only when it is wanted, and a header is found by a scan of the list. Measured on a component that
//! answers `hello`, the conversion cost about 20 µs of runtime CPU a request, a fifth of all the
//! request cost (see ARCHITECTURE.md, `crates/api-plumbing`).

use spin_sdk::http::Method;
use spin_sdk::wasip3::http::types;
use spin_sdk::wasip3::wit_bindgen::StreamResult;
use spin_sdk::wasip3::wit_future;

/// A request's headers, in the order they came.
#[derive(Debug, Default)]
pub struct Headers(Vec<(String, Vec<u8>)>);

impl Headers {
    pub fn new(fields: Vec<(String, Vec<u8>)>) -> Headers {
        Headers(fields)
    }

    /// The first value of `name` (any case), as bytes.
    pub fn get_bytes(&self, name: &str) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_slice())
    }

    /// The first value of `name` (any case) as text: visible ASCII, as `http`'s
    /// `HeaderValue::to_str` accepts it. `None` when there is no such header.
    pub fn text(&self, name: &str) -> Option<Result<&str, NotText>> {
        let value = self.get_bytes(name)?;
        Some(if is_visible_text(value) {
            std::str::from_utf8(value).map_err(|_| NotText)
        } else {
            Err(NotText)
        })
    }

    /// The first value of `name` (any case) as text; `None` when absent or not text.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.text(name)?.ok()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get_bytes(name).is_some()
    }
}

/// Whether every byte of `value` is visible ASCII (0x20 to 0x7e) or a tab.
///
/// Eight bytes are looked at together, as one number: a bearer token, read on every request the
/// gateway checks, is about 350 bytes. A word that may hold a byte outside the range (or a tab) is
/// looked at byte by byte.
fn is_visible_text(value: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    let visible = |b: &u8| *b == b'\t' || (0x20..0x7f).contains(b);
    let mut words = value.chunks_exact(8);
    for word in &mut words {
        let x = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        // Nonzero if a byte is below 0x20 (never wrongly zero: it may be wrongly nonzero, and then
        // the bytes are looked at one by one).
        let below_space = x.wrapping_sub(ONES * 0x20) & !x & HIGH_BITS;
        // Nonzero if a byte is 0x7f (DEL), the same way.
        let del = x ^ (ONES * 0x7f);
        let del = del.wrapping_sub(ONES) & !del & HIGH_BITS;
        // Nonzero if a byte is 0x80 or above.
        let high = x & HIGH_BITS;
        if below_space | del | high != 0 && !word.iter().all(visible) {
            return false;
        }
    }
    words.remainder().iter().all(visible)
}

/// A header value that is not visible ASCII.
#[derive(Debug, PartialEq, Eq)]
pub struct NotText;

/// Why a request's body could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadError {
    /// It is longer than the limit given; reading stopped there.
    TooLarge,
    /// The stream failed or was cut off.
    Unreadable,
}

/// A request as `wasi:http` gave it: method, target and headers read, the body left unread.
pub struct Incoming {
    method: Method,
    target: String,
    headers: Headers,
    request: types::Request,
}

impl Incoming {
    pub fn new(request: types::Request) -> Result<Incoming, types::ErrorCode> {
        let method = Method::try_from(request.get_method())
            .map_err(|_| types::ErrorCode::HttpRequestMethodInvalid)?;
        let target = request
            .get_path_with_query()
            .unwrap_or_else(|| "/".to_owned());
        let headers = Headers::new(request.get_headers().copy_all());
        Ok(Incoming {
            method,
            target,
            headers,
            request,
        })
    }

    /// The request with GET for HEAD: HEAD asks for what GET answers less its body (HTTP asks
    /// every server for both), and the runtime's HTTP server leaves the body out of the answer
    /// to a HEAD, keeping its length.
    pub fn head_as_get(mut self) -> Incoming {
        if self.method == Method::HEAD {
            self.method = Method::GET;
        }
        self
    }

    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path and query, as the client sent them.
    pub fn path_and_query(&self) -> &str {
        &self.target
    }

    pub fn path(&self) -> &str {
        split_target(&self.target).0
    }

    pub fn query(&self) -> Option<&str> {
        split_target(&self.target).1
    }

    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// A private component's body, whole. The gateway forwards none longer than
    /// [`crate::MAX_BODY_BYTES`], so a failure here is a body cut off on its way.
    pub async fn forwarded_body(self) -> Result<Vec<u8>, ReadError> {
        self.body(crate::MAX_BODY_BYTES).await
    }

    /// Reads the body whole, refusing one longer than `limit` bytes without reading it all.
    pub async fn body(self, limit: usize) -> Result<Vec<u8>, ReadError> {
        let (done_writer, done) = wit_future::new(|| Ok(()));
        let (mut stream, trailers) = types::Request::consume_body(self.request, done);
        let mut body = Vec::new();
        let outcome = loop {
            let room = (limit + 1 - body.len()).min(READ_SIZE);
            let (result, chunk) = stream.read(Vec::with_capacity(room)).await;
            body.extend_from_slice(&chunk);
            if body.len() > limit {
                break Err(ReadError::TooLarge);
            }
            match result {
                StreamResult::Complete(_) => {}
                StreamResult::Dropped => {
                    break match trailers.await {
                        Ok(_) => Ok(body),
                        Err(_) => Err(ReadError::Unreadable),
                    };
                }
                StreamResult::Cancelled => break Err(ReadError::Unreadable),
            }
        };
        crate::settle(done_writer, Ok(()));
        outcome
    }
}

/// How much of a body one read asks for.
const READ_SIZE: usize = 16 * 1024;

/// The path and the query of a request target (`/a/b?c=d`).
fn split_target(target: &str) -> (&str, Option<&str>) {
    match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_text_is_told_a_word_at_a_time_as_a_byte_at_a_time() {
        let by_bytes = |value: &[u8]| {
            value
                .iter()
                .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
        };
        let base = b"Bearer eyJhbGciOiJFZERTQSJ9.e30.c2ln".to_vec();
        assert!(is_visible_text(&base));
        for at in 0..base.len() {
            for byte in 0..=255u8 {
                let mut value = base.clone();
                value[at] = byte;
                assert_eq!(
                    is_visible_text(&value),
                    by_bytes(&value),
                    "{byte:#x} at {at}"
                );
            }
        }
        for value in [
            &b""[..],
            b"\t",
            b"\t\t\t\t\t\t\t\t\t",
            b" ~ ~ ~ ~ ~",
            b"\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f",
        ] {
            assert_eq!(is_visible_text(value), by_bytes(value), "{value:?}");
        }
    }

    fn headers() -> Headers {
        Headers::new(vec![
            ("content-type".to_owned(), b"application/json".to_vec()),
            ("X-Hotline-Subject".to_owned(), b"citizen-1".to_vec()),
            ("x-hotline-subject".to_owned(), b"second".to_vec()),
            (
                "accept-language".to_owned(),
                "zh-CN,中文".as_bytes().to_vec(),
            ),
            ("x-binary".to_owned(), vec![0x01, b'a']),
        ])
    }

    #[test]
    fn a_header_is_found_in_any_case_and_its_first_value_wins() {
        let headers = headers();
        assert_eq!(headers.get("Content-Type"), Some("application/json"));
        assert_eq!(headers.get("x-hotline-subject"), Some("citizen-1"));
        assert!(headers.contains("CONTENT-TYPE"));
        assert!(!headers.contains("authorization"));
        assert_eq!(headers.get("authorization"), None);
    }

    #[test]
    fn a_value_that_is_not_visible_ascii_is_not_text() {
        let headers = headers();
        assert_eq!(headers.get("accept-language"), None);
        assert_eq!(
            headers.get_bytes("accept-language"),
            Some("zh-CN,中文".as_bytes())
        );
        assert_eq!(headers.get("x-binary"), None);
        assert_eq!(headers.text("x-binary"), Some(Err(NotText)));
        assert_eq!(headers.text("content-type"), Some(Ok("application/json")));
        assert_eq!(headers.text("origin"), None);
    }

    #[test]
    fn a_target_splits_into_path_and_query() {
        assert_eq!(split_target("/api/v1/requests"), ("/api/v1/requests", None));
        assert_eq!(
            split_target("/api/v1/requests?cursor=a?b"),
            ("/api/v1/requests", Some("cursor=a?b"))
        );
        assert_eq!(split_target("/x?"), ("/x", Some("")));
    }
}
