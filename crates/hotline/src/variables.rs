//! Application variables: manifest defaults, overridden from the environment as
//! `SPIN_VARIABLE_<NAME>` (upper case), as upstream Spin's environment provider does.
//!
//! Values are resolved once at start (the app lifetime): a required variable with no value stops
//! the start with a message that says which environment variable to set.

use crate::manifest::{Manifest, render_template};
use anyhow::bail;
use std::collections::BTreeMap;

/// The resolved values of every application variable.
#[derive(Debug, Clone, Default)]
pub struct AppVariables {
    values: BTreeMap<String, String>,
}

pub fn env_name(variable: &str) -> String {
    format!("SPIN_VARIABLE_{}", variable.to_ascii_uppercase())
}

impl AppVariables {
    pub fn resolve(
        manifest: &Manifest,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<AppVariables> {
        let mut values = BTreeMap::new();
        let mut missing = Vec::new();
        for (name, variable) in &manifest.variables {
            match env(&env_name(name)).or_else(|| variable.default.clone()) {
                Some(value) => {
                    values.insert(name.clone(), value);
                }
                None => missing.push(format!("`{name}` (set {})", env_name(name))),
            }
        }
        if !missing.is_empty() {
            bail!(
                "required application variables have no value: {}",
                missing.join(", ")
            );
        }
        Ok(AppVariables { values })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Renders a `{{ name }}` template from the manifest with these values.
    pub fn render(&self, template: &str) -> anyhow::Result<String> {
        render_template(template, |name| match self.get(name) {
            Some(value) => Ok(value.to_owned()),
            None => bail!("no application variable `{name}`"),
        })
    }

    /// The values one component sees: its `[component.<id>.variables]`, rendered.
    pub fn for_component(
        &self,
        templates: &BTreeMap<String, String>,
    ) -> anyhow::Result<BTreeMap<String, String>> {
        templates
            .iter()
            .map(|(name, template)| Ok((name.clone(), self.render(template)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const MANIFEST: &str = r#"
spin_manifest_version = 2
[application]
name = "demo"
[variables]
token = { required = true, secret = true }
greeting = { default = "你好" }
[[trigger.http]]
route = "/..."
component = "front"
[component.front]
source = "front.wasm"
[component.front.variables]
message = "{{ greeting }}, {{ token }}"
"#;

    #[test]
    fn environment_overrides_defaults() {
        let manifest = Manifest::parse(MANIFEST, Path::new(".")).expect("manifest");
        let vars = AppVariables::resolve(&manifest, |name| match name {
            "SPIN_VARIABLE_TOKEN" => Some("t0k".to_owned()),
            _ => None,
        })
        .expect("resolved");
        let front = vars
            .for_component(&manifest.components["front"].variables)
            .expect("rendered");
        assert_eq!(front["message"], "你好, t0k");
    }

    #[test]
    fn a_missing_required_variable_names_its_environment_variable() {
        let manifest = Manifest::parse(MANIFEST, Path::new(".")).expect("manifest");
        let error = AppVariables::resolve(&manifest, |_| None)
            .expect_err("missing")
            .to_string();
        assert!(error.contains("SPIN_VARIABLE_TOKEN"), "{error}");
    }
}
