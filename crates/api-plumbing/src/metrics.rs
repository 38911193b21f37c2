//! A component's own metrics, for its `metrics_route` (`[component.<id>.tool.hotline]`): the
//! runtime asks the route at every scrape of its `/metrics`, checks the text and adds it. Names
//! must start with `hotline_<component>_`; the runtime leaves out an answer that does not.

use crate::Reply;
use spin_sdk::http::HeaderValue;
use spin_sdk::http::StatusCode;
use std::fmt::Write as _;

/// Gauges in Prometheus's text format, written one family at a time.
#[derive(Default)]
pub struct Gauges(String);

impl Gauges {
    /// The family `name` (with its help text) and its samples, each a set of labels and a value.
    pub fn family<'a>(
        &mut self,
        name: &str,
        help: &str,
        samples: impl IntoIterator<Item = (&'a [(&'a str, &'a str)], f64)>,
    ) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} gauge");
        for (labels, value) in samples {
            self.0.push_str(name);
            if !labels.is_empty() {
                self.0.push('{');
                for (index, (label, text)) in labels.iter().enumerate() {
                    if index > 0 {
                        self.0.push(',');
                    }
                    let _ = write!(self.0, "{label}=\"");
                    for c in text.chars() {
                        match c {
                            '\\' => self.0.push_str("\\\\"),
                            '"' => self.0.push_str("\\\""),
                            '\n' => self.0.push_str("\\n"),
                            c => self.0.push(c),
                        }
                    }
                    self.0.push('"');
                }
                self.0.push('}');
            }
            let _ = writeln!(self.0, " {value}");
        }
    }

    /// The family `name` with one sample and no labels.
    pub fn one(&mut self, name: &str, help: &str, value: f64) {
        self.family(name, help, [(&[][..], value)]);
    }

    pub fn into_reply(self) -> Reply {
        let mut response = Reply::new(self.0);
        *response.status_mut() = StatusCode::OK;
        response.headers_mut().insert(
            "content-type",
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        );
        response
    }

    pub fn text(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_with_labels_escaped() {
        let mut gauges = Gauges::default();
        gauges.family(
            "hotline_x_pending",
            "Waiting.",
            [
                (&[("channel", "sms")][..], 3.0),
                (&[("channel", "a\"b\\c")][..], 0.5),
            ],
        );
        gauges.one("hotline_x_oldest_seconds", "Oldest.", 0.0);
        assert_eq!(
            gauges.text(),
            "# HELP hotline_x_pending Waiting.\n# TYPE hotline_x_pending gauge\n\
             hotline_x_pending{channel=\"sms\"} 3\nhotline_x_pending{channel=\"a\\\"b\\\\c\"} 0.5\n\
             # HELP hotline_x_oldest_seconds Oldest.\n# TYPE hotline_x_oldest_seconds gauge\n\
             hotline_x_oldest_seconds 0\n"
        );
    }
}
