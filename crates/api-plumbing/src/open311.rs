//! Open311 GeoReport v2's wire shapes (<http://wiki.open311.org/GeoReport_v2>), shared by the
//! gateway (which refuses) and intake (which answers): a resource's format comes from its
//! extension, every answer is written in it, and errors are Open311's list of `code` (the HTTP
//! status) and `description` — ours starting with the stable error code, then the words.
//!
//! XML is the format the specification requires; JSON is the one most clients use. Both are
//! written from one `serde_json::Value`, so the two cannot say different things: an object is an
//! element per field (in the order of their names, as `serde_json` keeps them), an array an
//! element per item named for its parent without the final `s` (`attributes` → `attribute`),
//! `null` an empty element.

use crate::Reply;
use serde_json::Value;
use spin_sdk::http::{HeaderValue, Response, StatusCode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json; charset=utf-8",
            Format::Xml => "text/xml; charset=utf-8",
        }
    }
}

/// `/open311/v2/services.json` → (`/open311/v2/services`, JSON); `None` without a known format.
pub fn split_format(path: &str) -> Option<(&str, Format)> {
    let (resource, extension) = path.rsplit_once('.')?;
    // The extension belongs to the last segment.
    if extension.contains('/') {
        return None;
    }
    let format = match extension {
        "json" => Format::Json,
        "xml" => Format::Xml,
        _ => return None,
    };
    Some((resource, format))
}

/// The format an answer to `path` is written in: its own, else JSON (for a path with none).
pub fn format_of(path: &str) -> Format {
    split_format(path).map_or(Format::Json, |(_, format)| format)
}

/// An answer: `value` as JSON, or as XML under `root` (with `item` for each element when `value`
/// is a list).
pub fn reply(status: StatusCode, format: Format, root: &str, item: &str, value: &Value) -> Reply {
    let body = match format {
        Format::Json => value.to_string(),
        Format::Xml => {
            let mut xml = String::from(r#"<?xml version="1.0" encoding="utf-8"?>"#);
            element(&mut xml, root, value, item);
            xml
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static(format.content_type()),
    );
    response
}

/// An error in Open311's shape: `[{"code": 404, "description": "not_found: …"}]`.
pub fn error(status: StatusCode, format: Format, code: &str, message: &str) -> Reply {
    let errors = serde_json::json!([{
        "code": status.as_u16(),
        "description": format!("{code}: {message}"),
    }]);
    reply(status, format, "errors", "error", &errors)
}

/// [`crate::database_unavailable`] in Open311's error list: 503 with `Retry-After`.
pub fn database_unavailable(format: Format) -> Reply {
    let mut reply = error(
        StatusCode::SERVICE_UNAVAILABLE,
        format,
        mobile_api::codes::DATABASE_UNAVAILABLE,
        crate::DATABASE_UNAVAILABLE_MESSAGE,
    );
    reply
        .headers_mut()
        .insert("retry-after", crate::DATABASE_RETRY_AFTER_SECONDS.into());
    reply
}

fn element(xml: &mut String, name: &str, value: &Value, item: &str) {
    xml.push('<');
    xml.push_str(name);
    xml.push('>');
    match value {
        Value::Null => {}
        Value::Bool(b) => xml.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => xml.push_str(&n.to_string()),
        Value::String(s) => escape(xml, s),
        Value::Array(items) => {
            for value in items {
                element(xml, item, value, "item");
            }
        }
        Value::Object(fields) => {
            for (field, value) in fields {
                let item = field.strip_suffix('s').unwrap_or(field);
                element(xml, field, value, item);
            }
        }
    }
    xml.push_str("</");
    xml.push_str(name);
    xml.push('>');
}

fn escape(xml: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => xml.push_str("&lt;"),
            '>' => xml.push_str("&gt;"),
            '&' => xml.push_str("&amp;"),
            '"' => xml.push_str("&quot;"),
            '\'' => xml.push_str("&apos;"),
            // Control characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => xml.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_come_from_the_last_segment() {
        assert_eq!(
            split_format("/open311/v2/services.json"),
            Some(("/open311/v2/services", Format::Json))
        );
        assert_eq!(
            split_format("/open311/v2/services/urban.streetlight.xml"),
            Some(("/open311/v2/services/urban.streetlight", Format::Xml))
        );
        assert_eq!(split_format("/open311/v2/services"), None);
        assert_eq!(split_format("/open311/v2.json/services"), None);
        assert_eq!(split_format("/open311/v2/services.csv"), None);
    }

    #[test]
    fn xml_is_the_same_value_element_by_element() {
        let value = serde_json::json!([{
            "service_code": "urban.streetlight",
            "metadata": false,
            "lat": 32.98,
            "description": "路灯 <不亮> & \"坏\"\u{1}",
            "media_url": null,
            "attributes": [{"values": [{"key": "a"}]}],
        }]);
        let reply = reply(StatusCode::OK, Format::Xml, "services", "service", &value);
        assert_eq!(
            reply.body(),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><services><service>\
             <attributes><attribute><values><value><key>a</key></value></values></attribute>\
             </attributes><description>路灯 &lt;不亮&gt; &amp; &quot;坏&quot;</description>\
             <lat>32.98</lat><media_url></media_url><metadata>false</metadata>\
             <service_code>urban.streetlight</service_code></service></services>"
        );
        assert_eq!(
            reply.headers().get("content-type").expect("a type"),
            "text/xml; charset=utf-8"
        );
    }

    #[test]
    fn errors_carry_the_status_and_the_stable_code() {
        let reply = error(
            StatusCode::FORBIDDEN,
            Format::Json,
            "invalid_api_key",
            "无效",
        );
        assert_eq!(reply.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            reply.body(),
            r#"[{"code":403,"description":"invalid_api_key: 无效"}]"#
        );
    }
}
