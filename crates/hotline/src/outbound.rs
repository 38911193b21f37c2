//! `allowed_outbound_hosts`: which addresses a component may reach.
//!
//! Patterns are written as in Spin: `scheme://host[:port]`, where the scheme may be `*`, the host
//! may be `*` or start with `*.`, and the port may be `*`. Without a port the scheme's default is
//! meant (80, 443, 5432). Service chaining targets are ordinary hosts: `http://intake.spin.internal`.
//!
//! Invariant: a component reaches nothing that a pattern of its own does not allow.

use anyhow::{Context, bail};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    scheme: Option<String>,
    host: HostMatch,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostMatch {
    Any,
    Suffix(String),
    Exact(String),
}

pub fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        "postgres" | "postgresql" => Some(5432),
        _ => None,
    }
}

impl HostPattern {
    pub fn parse(pattern: &str) -> anyhow::Result<HostPattern> {
        let (scheme, rest) = pattern
            .split_once("://")
            .with_context(|| format!("`{pattern}` must be written as scheme://host[:port]"))?;
        if rest.contains('/') {
            bail!("`{pattern}` must not contain a path");
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        };
        if host.is_empty() {
            bail!("`{pattern}` has no host");
        }
        let scheme = (scheme != "*").then(|| scheme.to_ascii_lowercase());
        let port =
            match port {
                Some("*") => None,
                Some(port) => Some(
                    port.parse::<u16>()
                        .with_context(|| format!("`{pattern}`: bad port"))?,
                ),
                None => match &scheme {
                    Some(scheme) => Some(default_port(scheme).with_context(|| {
                        format!("`{pattern}`: give a port for scheme `{scheme}`")
                    })?),
                    None => None,
                },
            };
        let host = host.to_ascii_lowercase();
        let host = if host == "*" {
            HostMatch::Any
        } else if let Some(suffix) = host.strip_prefix("*.") {
            HostMatch::Suffix(format!(".{suffix}"))
        } else if host.contains('*') {
            bail!(
                "`{pattern}`: `*` may stand only for the whole host or its first labels (`*.example.com`)"
            );
        } else {
            HostMatch::Exact(host)
        };
        Ok(HostPattern { scheme, host, port })
    }

    /// Patterns are lower-cased when parsed; `host` is compared in any case, without a copy
    /// (this runs for every chained request and every database connection).
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        self.scheme.as_deref().is_none_or(|s| s == scheme)
            && self.port.is_none_or(|p| p == port)
            && match &self.host {
                HostMatch::Any => true,
                HostMatch::Suffix(suffix) => {
                    host.len() >= suffix.len()
                        && host.as_bytes()[host.len() - suffix.len()..]
                            .eq_ignore_ascii_case(suffix.as_bytes())
                }
                HostMatch::Exact(exact) => exact.eq_ignore_ascii_case(host),
            }
    }
}

/// A component's outbound allow-list.
#[derive(Debug, Clone, Default)]
pub struct OutboundPolicy {
    patterns: Vec<HostPattern>,
}

impl OutboundPolicy {
    pub fn new(patterns: &[String]) -> anyhow::Result<OutboundPolicy> {
        let patterns = patterns
            .iter()
            .map(|p| HostPattern::parse(p))
            .collect::<Result<_, _>>()?;
        Ok(OutboundPolicy { patterns })
    }

    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        self.patterns.iter().any(|p| p.allows(scheme, host, port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(patterns: &[&str]) -> OutboundPolicy {
        OutboundPolicy::new(&patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>())
            .expect("patterns")
    }

    #[test]
    fn exact_hosts_use_the_default_port() {
        let policy = policy(&["http://intake.spin.internal", "postgres://127.0.0.1:5433"]);
        assert!(policy.allows("http", "intake.spin.internal", 80));
        assert!(!policy.allows("http", "routing.spin.internal", 80));
        assert!(!policy.allows("https", "intake.spin.internal", 443));
        assert!(policy.allows("postgres", "127.0.0.1", 5433));
        assert!(!policy.allows("postgres", "127.0.0.1", 5432));
    }

    #[test]
    fn wildcards() {
        let policy = policy(&["http://*.spin.internal", "https://*:*"]);
        assert!(policy.allows("http", "anything.spin.internal", 80));
        assert!(!policy.allows("http", "spin.internal.evil.com", 80));
        assert!(policy.allows("https", "fcm.googleapis.com", 8443));
        // Host names are compared in any case.
        assert!(policy.allows("http", "Anything.SPIN.internal", 80));
        assert!(!policy.allows("http", "spin.internal", 80));
        let exact =
            OutboundPolicy::new(&["http://Intake.spin.internal".to_owned()]).expect("pattern");
        assert!(exact.allows("http", "INTAKE.spin.internal", 80));
        assert!(!exact.allows("http", "intake.spin.internal.evil", 80));
    }

    #[test]
    fn nothing_is_allowed_by_default() {
        assert!(!OutboundPolicy::default().allows("http", "example.com", 80));
    }

    #[test]
    fn refuses_malformed_patterns() {
        assert!(HostPattern::parse("example.com").is_err());
        assert!(HostPattern::parse("http://ex*ample.com").is_err());
        assert!(HostPattern::parse("redis://cache").is_err());
    }
}
