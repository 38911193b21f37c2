//! The Spin application manifest (`spin.toml`, manifest version 2): parsing and checking.
//!
//! Only the parts this runtime acts on are modelled; anything else Spin accepts is ignored, as
//! Spin itself ignores tool sections it does not know. Every check names the field it refuses,
//! and syntax errors carry the line and column `toml` reports.

use anyhow::{Context, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
struct RawManifest {
    spin_manifest_version: u32,
    application: RawApplication,
    #[serde(default)]
    variables: BTreeMap<String, RawVariable>,
    #[serde(default)]
    trigger: RawTriggers,
    #[serde(default)]
    component: BTreeMap<String, RawComponent>,
}

#[derive(Debug, Deserialize)]
struct RawApplication {
    name: String,
    #[serde(default)]
    version: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVariable {
    #[serde(default)]
    default: Option<String>,
    #[serde(default)]
    required: bool,
    /// Secret values are never logged; this runtime logs no variable values at all.
    #[serde(default, rename = "secret")]
    _secret: bool,
}

#[derive(Debug, Default, Deserialize)]
struct RawTriggers {
    #[serde(default)]
    http: Vec<RawHttpTrigger>,
}

#[derive(Debug, Deserialize)]
struct RawHttpTrigger {
    route: RawRoute,
    component: String,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawRoute {
    Path(String),
    Private { private: bool },
}

#[derive(Debug, Deserialize)]
struct RawComponent {
    source: String,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    #[serde(default)]
    key_value_stores: Vec<String>,
    #[serde(default)]
    tool: RawTools,
}

/// `[component.<id>.tool.*]`: settings for tools, which Spin ignores. This runtime reads its own.
#[derive(Debug, Default, Deserialize)]
struct RawTools {
    #[serde(default)]
    hotline: RawHotlineTool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHotlineTool {
    #[serde(default)]
    schedules: Vec<RawSchedule>,
    /// Origins (`scheme://host[:port]`, variables allowed) reached over HTTP/2.
    #[serde(default)]
    http2_origins: Vec<String>,
    /// A route the runtime GETs for the component's own metrics, added to its `/metrics`.
    #[serde(default)]
    metrics_route: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    route: String,
    every_seconds: u64,
    #[serde(default)]
    on_notify: Option<String>,
}

/// Periodic work: the runtime POSTs to a component's route every `every`, and also at once when
/// a transaction that ran `NOTIFY <on_notify>` commits. Another Spin host can run the same
/// schedule with any scheduler that calls the route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub route: String,
    pub every: std::time::Duration,
    pub on_notify: Option<String>,
}

/// An application variable declared in `[variables]`.
#[derive(Debug, Clone)]
pub struct Variable {
    /// `None` for a required variable.
    pub default: Option<String>,
}

/// Where an HTTP trigger listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// An exact path, e.g. `/openapi.json`.
    Exact(String),
    /// A prefix followed by `/...`, e.g. `/api/...`; `/...` matches every path.
    Wildcard(String),
    /// Reachable only from other components, as `http://<component>.spin.internal`.
    Private,
}

impl Route {
    fn parse(raw: &str) -> anyhow::Result<Route> {
        if !raw.starts_with('/') {
            bail!("route `{raw}` must start with `/`");
        }
        if let Some(prefix) = raw.strip_suffix("/...") {
            return Ok(Route::Wildcard(prefix.to_owned()));
        }
        if raw.contains("...") {
            bail!("route `{raw}`: `...` is allowed only as the last segment (`/prefix/...`)");
        }
        let trimmed = raw.trim_end_matches('/');
        Ok(Route::Exact(if trimmed.is_empty() {
            "/".to_owned()
        } else {
            trimmed.to_owned()
        }))
    }

    /// How well this route matches `path`: `None` when it does not, otherwise a score where a
    /// longer (more specific) route wins and an exact route beats a wildcard of the same length,
    /// as in Spin's router.
    pub fn match_score(&self, path: &str) -> Option<(usize, bool)> {
        let path = path.trim_end_matches('/');
        let path = if path.is_empty() { "/" } else { path };
        match self {
            Route::Exact(exact) => (exact == path).then_some((exact.len(), true)),
            Route::Wildcard(prefix) => {
                let matches = prefix.is_empty()
                    || path == prefix
                    || (path.starts_with(prefix.as_str()) && path[prefix.len()..].starts_with('/'));
                matches.then_some((prefix.len(), false))
            }
            Route::Private => None,
        }
    }

    /// The route as written in the manifest, for logs and the `spin-*` request headers.
    pub fn raw(&self) -> String {
        match self {
            Route::Exact(exact) => exact.clone(),
            Route::Wildcard(prefix) => format!("{prefix}/..."),
            Route::Private => "(private)".to_owned(),
        }
    }
}

/// One `[[trigger.http]]` entry.
#[derive(Debug, Clone)]
pub struct HttpTrigger {
    pub route: Route,
    pub component: String,
}

/// One `[component.<id>]` table.
#[derive(Debug, Clone)]
pub struct Component {
    pub id: String,
    pub source: PathBuf,
    pub allowed_outbound_hosts: Vec<String>,
    pub variables: BTreeMap<String, String>,
    pub environment: BTreeMap<String, String>,
    pub key_value_stores: Vec<String>,
    pub schedules: Vec<Schedule>,
    /// Origins this runtime reaches over HTTP/2 for the component (templates, like
    /// `allowed_outbound_hosts`).
    pub http2_origins: Vec<String>,
    /// The route that answers the component's own metrics (`metrics.rs`), if it has any.
    pub metrics_route: Option<String>,
}

/// A checked manifest, with component sources resolved against the manifest's folder.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub name: String,
    pub version: Option<String>,
    pub variables: BTreeMap<String, Variable>,
    pub triggers: Vec<HttpTrigger>,
    pub components: BTreeMap<String, Component>,
}

impl Manifest {
    pub fn load(path: &Path) -> anyhow::Result<Manifest> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the manifest {}", path.display()))?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        Manifest::parse(&text, base).with_context(|| format!("invalid manifest {}", path.display()))
    }

    pub fn parse(text: &str, base: &Path) -> anyhow::Result<Manifest> {
        let raw: RawManifest = toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        if raw.spin_manifest_version != 2 {
            bail!(
                "spin_manifest_version: only version 2 is supported, found {}",
                raw.spin_manifest_version
            );
        }
        check_name("application.name", &raw.application.name, true)?;

        let mut variables = BTreeMap::new();
        for (name, var) in raw.variables {
            check_variable_name(&format!("variables.{name}"), &name)?;
            if var.required && var.default.is_some() {
                bail!(
                    "variables.{name}: a variable cannot be both `required` and have a `default`"
                );
            }
            if !var.required && var.default.is_none() {
                bail!(
                    "variables.{name}: give the variable a `default` or mark it `required = true`"
                );
            }
            variables.insert(
                name,
                Variable {
                    default: var.default,
                },
            );
        }

        let mut components = BTreeMap::new();
        for (id, raw_component) in raw.component {
            check_name(&format!("component.{id}"), &id, false)?;
            for (name, template) in &raw_component.variables {
                check_variable_name(&format!("component.{id}.variables.{name}"), name)?;
                for reference in template_references(template)
                    .with_context(|| format!("component.{id}.variables.{name}"))?
                {
                    if !variables.contains_key(&reference) {
                        bail!(
                            "component.{id}.variables.{name}: `{{{{ {reference} }}}}` names no application variable in [variables]"
                        );
                    }
                }
            }
            for (index, host) in raw_component.allowed_outbound_hosts.iter().enumerate() {
                let field = format!("component.{id}.allowed_outbound_hosts[{index}]");
                for reference in template_references(host).with_context(|| field.clone())? {
                    if !variables.contains_key(&reference) {
                        bail!(
                            "{field}: `{{{{ {reference} }}}}` names no application variable in [variables]"
                        );
                    }
                }
            }
            for (index, label) in raw_component.key_value_stores.iter().enumerate() {
                check_name(
                    &format!("component.{id}.key_value_stores[{index}]"),
                    label,
                    false,
                )?;
            }
            for (index, origin) in raw_component.tool.hotline.http2_origins.iter().enumerate() {
                let field = format!("component.{id}.tool.hotline.http2_origins[{index}]");
                for reference in template_references(origin).with_context(|| field.clone())? {
                    if !variables.contains_key(&reference) {
                        bail!(
                            "{field}: `{{{{ {reference} }}}}` names no application variable in [variables]"
                        );
                    }
                }
            }
            if let Some(route) = &raw_component.tool.hotline.metrics_route
                && !route.starts_with('/')
            {
                bail!("component.{id}.tool.hotline.metrics_route: `{route}` must start with `/`");
            }
            let mut schedules = Vec::new();
            for (index, raw) in raw_component.tool.hotline.schedules.into_iter().enumerate() {
                let field = format!("component.{id}.tool.hotline.schedules[{index}]");
                if !raw.route.starts_with('/') {
                    bail!("{field}.route: `{}` must start with `/`", raw.route);
                }
                if raw.every_seconds == 0 {
                    bail!("{field}.every_seconds: must be at least 1");
                }
                if let Some(channel) = &raw.on_notify {
                    check_variable_name(&format!("{field}.on_notify"), channel)?;
                }
                schedules.push(Schedule {
                    route: raw.route,
                    every: std::time::Duration::from_secs(raw.every_seconds),
                    on_notify: raw.on_notify,
                });
            }
            components.insert(
                id.clone(),
                Component {
                    id,
                    source: base.join(&raw_component.source),
                    allowed_outbound_hosts: raw_component.allowed_outbound_hosts,
                    variables: raw_component.variables,
                    environment: raw_component.environment,
                    key_value_stores: raw_component.key_value_stores,
                    schedules,
                    http2_origins: raw_component.tool.hotline.http2_origins,
                    metrics_route: raw_component.tool.hotline.metrics_route,
                },
            );
        }

        let mut triggers = Vec::new();
        for (index, trigger) in raw.trigger.http.into_iter().enumerate() {
            let field = format!("trigger.http[{index}]");
            if !components.contains_key(&trigger.component) {
                bail!(
                    "{field}.component: no [component.{}] in the manifest",
                    trigger.component
                );
            }
            let route = match trigger.route {
                RawRoute::Path(path) => {
                    Route::parse(&path).with_context(|| format!("{field}.route"))?
                }
                RawRoute::Private { private: true } => Route::Private,
                RawRoute::Private { private: false } => {
                    bail!("{field}.route: `private = false` is not a route; give a path instead")
                }
            };
            if route != Route::Private
                && let Some(other) = triggers.iter().position(|t: &HttpTrigger| t.route == route)
            {
                bail!(
                    "{field}.route: `{}` is already the route of trigger.http[{other}]",
                    route.raw()
                );
            }
            triggers.push(HttpTrigger {
                route,
                component: trigger.component,
            });
        }
        if triggers.is_empty() {
            bail!("trigger.http: the application has no HTTP triggers");
        }

        Ok(Manifest {
            name: raw.application.name,
            version: raw.application.version,
            variables,
            triggers,
            components,
        })
    }
}

fn check_name(field: &str, name: &str, allow_upper: bool) -> anyhow::Result<()> {
    let valid = !name.is_empty()
        && name.chars().all(|c| {
            c.is_ascii_lowercase()
                || c.is_ascii_digit()
                || c == '-'
                || (allow_upper && c.is_ascii_uppercase())
        })
        && !name.starts_with('-')
        && !name.ends_with('-');
    if !valid {
        bail!("{field}: `{name}` must be lowercase letters, digits and single dashes (kebab-case)");
    }
    Ok(())
}

fn check_variable_name(field: &str, name: &str) -> anyhow::Result<()> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        bail!(
            "{field}: `{name}` must start with a lowercase letter and hold only lowercase letters, digits and `_`"
        );
    }
    Ok(())
}

/// The application variables a `{{ name }}` template refers to.
pub fn template_references(template: &str) -> anyhow::Result<Vec<String>> {
    let mut references = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            bail!("unclosed `{{{{` in `{template}`");
        };
        references.push(after[..end].trim().to_owned());
        rest = &after[end + 2..];
    }
    Ok(references)
}

/// Replaces each `{{ name }}` in `template` with `lookup(name)`.
pub fn render_template(
    template: &str,
    mut lookup: impl FnMut(&str) -> anyhow::Result<String>,
) -> anyhow::Result<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            bail!("unclosed `{{{{` in `{template}`");
        };
        out.push_str(&lookup(after[..end].trim())?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
spin_manifest_version = 2
[application]
name = "demo"
[variables]
token = { required = true }
greeting = { default = "hi" }
[[trigger.http]]
route = "/..."
component = "front"
[[trigger.http]]
route = { private = true }
component = "back"
[component.front]
source = "front.wasm"
allowed_outbound_hosts = ["http://back.spin.internal"]
[component.front.variables]
token = "{{ token }}"
[component.back]
source = "back.wasm"
"#;

    #[test]
    fn reads_key_value_stores_and_this_runtimes_schedules() {
        let text = format!(
            "{MINIMAL}key_value_stores = [\"default\"]\n\
             [[component.back.tool.hotline.schedules]]\n\
             route = \"/internal/tick\"\nevery_seconds = 5\non_notify = \"work_queued\"\n"
        );
        let manifest = Manifest::parse(&text, Path::new("/app")).expect("valid manifest");
        let back = &manifest.components["back"];
        assert_eq!(back.key_value_stores, ["default"]);
        assert_eq!(
            back.schedules,
            [Schedule {
                route: "/internal/tick".into(),
                every: std::time::Duration::from_secs(5),
                on_notify: Some("work_queued".into()),
            }]
        );
        for (bad, field) in [
            ("route = \"tick\"\nevery_seconds = 5", "schedules[0].route"),
            (
                "route = \"/tick\"\nevery_seconds = 0",
                "schedules[0].every_seconds",
            ),
            (
                "route = \"/tick\"\nevery_seconds = 5\non_notify = \"Bad-Name\"",
                "on_notify",
            ),
        ] {
            let text = format!("{MINIMAL}[[component.back.tool.hotline.schedules]]\n{bad}\n");
            let error = Manifest::parse(&text, Path::new("/app")).expect_err("refused");
            assert!(format!("{error:#}").contains(field), "{error:#}");
        }
    }

    #[test]
    fn reads_a_metrics_route() {
        let text = format!(
            "{MINIMAL}[component.back.tool.hotline]\nmetrics_route = \"/internal/metrics\"\n"
        );
        let manifest = Manifest::parse(&text, Path::new("/app")).expect("valid manifest");
        assert_eq!(
            manifest.components["back"].metrics_route.as_deref(),
            Some("/internal/metrics")
        );
        assert_eq!(manifest.components["front"].metrics_route, None);
        let text = format!("{MINIMAL}[component.back.tool.hotline]\nmetrics_route = \"metrics\"\n");
        let error = Manifest::parse(&text, Path::new("/app")).expect_err("refused");
        assert!(
            format!("{error:#}").contains("component.back.tool.hotline.metrics_route"),
            "{error:#}"
        );
    }

    #[test]
    fn parses_routes_components_and_variables() {
        let manifest = Manifest::parse(MINIMAL, Path::new("/app")).expect("valid manifest");
        assert_eq!(manifest.triggers.len(), 2);
        assert_eq!(manifest.triggers[1].route, Route::Private);
        assert_eq!(
            manifest.components["front"].source,
            Path::new("/app/front.wasm")
        );
        assert!(manifest.variables["token"].default.is_none());
    }

    #[test]
    fn refuses_a_trigger_for_an_unknown_component() {
        let text = MINIMAL.replace("component = \"back\"", "component = \"missing\"");
        let error = format!(
            "{:#}",
            Manifest::parse(&text, Path::new(".")).expect_err("invalid")
        );
        assert!(error.contains("trigger.http[1].component"), "{error}");
    }

    #[test]
    fn refuses_a_template_naming_no_variable() {
        let text = MINIMAL.replace("token = \"{{ token }}\"", "token = \"{{ nope }}\"");
        let error = format!(
            "{:#}",
            Manifest::parse(&text, Path::new(".")).expect_err("invalid")
        );
        assert!(error.contains("component.front.variables.token"), "{error}");
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let error = format!(
            "{:#}",
            Manifest::parse("spin_manifest_version = ", Path::new(".")).expect_err("invalid")
        );
        assert!(error.contains("line 1"), "{error}");
    }

    #[test]
    fn routes_prefer_the_most_specific() {
        let wildcard = Route::parse("/api/...").expect("route");
        let exact = Route::parse("/api/health").expect("route");
        assert_eq!(wildcard.match_score("/api/health"), Some((4, false)));
        assert_eq!(exact.match_score("/api/health"), Some((11, true)));
        assert_eq!(wildcard.match_score("/apiary"), None);
        assert_eq!(
            Route::parse("/...")
                .expect("route")
                .match_score("/anything"),
            Some((0, false))
        );
    }
}
