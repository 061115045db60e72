//! Where application variables come from, in Spin's order: `--variable`
//! first, then each `[[variables_provider]]` of the runtime config (`type =
//! "env"`: `<prefix>_<NAME>` from the environment, else from its dotenv
//! file; `type = "static"`: its `values`), then Spin's default environment
//! provider (`SPIN_VARIABLE_<NAME>`, else `.env` in the working
//! directory), then the manifest's default.
//! Dotenv files are read once at start-up (with `dotenvy`, the maintained
//! parser of the format); a missing one holds nothing, as in Spin.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use souk_manifest::{EnvProviderConfig, VariablesProvider};

const DEFAULT_PREFIX: &str = "SPIN_VARIABLE";
const DEFAULT_DOTENV: &str = ".env";

enum Provider {
    Env {
        prefix: String,
        dotenv: HashMap<String, String>,
    },
    /// Values by lower-case variable name.
    Static(HashMap<String, String>),
}

pub struct VariableSources {
    cli: HashMap<String, String>,
    providers: Vec<Provider>,
}

fn read_dotenv(path: &Path) -> Result<HashMap<String, String>, String> {
    match dotenvy::from_path_iter(path) {
        Ok(entries) => entries.collect::<Result<_, _>>().map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.not_found() => Ok(HashMap::new()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

impl VariableSources {
    /// `cli`: the `--variable` values by lower-case name.
    pub fn load(cli: HashMap<String, String>, configured: &[VariablesProvider]) -> Result<Self, String> {
        let default = VariablesProvider::Env(EnvProviderConfig { prefix: None, dotenv_path: Some(PathBuf::from(DEFAULT_DOTENV)) });
        let providers = configured
            .iter()
            .chain(std::iter::once(&default))
            .map(|config| match config {
                VariablesProvider::Env(config) => Ok(Provider::Env {
                    prefix: config.prefix.clone().unwrap_or_else(|| DEFAULT_PREFIX.to_string()),
                    dotenv: config.dotenv_path.as_deref().map(read_dotenv).transpose()?.unwrap_or_default(),
                }),
                VariablesProvider::Static(values) => Ok(Provider::Static(values.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect())),
            })
            .collect::<Result<_, String>>()?;
        Ok(VariableSources { cli, providers })
    }

    /// The value of variable `name`, if any source has one.
    pub fn get(&self, name: &str) -> Option<String> {
        self.get_with(name, &|key| std::env::var(key).ok())
    }

    fn get_with(&self, name: &str, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
        if let Some(value) = self.cli.get(&name.to_ascii_lowercase()) {
            return Some(value.clone());
        }
        let upper = name.to_ascii_uppercase();
        self.providers.iter().find_map(|p| match p {
            Provider::Env { prefix, dotenv } => {
                let key = format!("{prefix}_{upper}");
                env(&key).or_else(|| dotenv.get(&key).cloned())
            }
            Provider::Static(values) => values.get(&name.to_ascii_lowercase()).cloned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_asked_in_spins_order() {
        let dir = tempfile::tempdir().unwrap();
        let dotenv = dir.path().join("shop.env");
        std::fs::write(&dotenv, "SHOP_TIER=from-dotenv\nSHOP_REGION=dotenv-region\n").unwrap();
        let sources = VariableSources::load(
            HashMap::from([("api_key".to_string(), "from-cli".to_string())]),
            &[
                VariablesProvider::Env(EnvProviderConfig { prefix: Some("SHOP".into()), dotenv_path: Some(dotenv) }),
                VariablesProvider::Static([("mode".to_string(), "static".to_string()), ("region".to_string(), "static".to_string())].into()),
            ],
        )
        .unwrap();
        let env = |key: &str| match key {
            "SHOP_REGION" => Some("env-region".to_string()),
            "SPIN_VARIABLE_API_KEY" | "SPIN_VARIABLE_COLOUR" | "SPIN_VARIABLE_MODE" => Some("from-spin-env".to_string()),
            _ => None,
        };
        assert_eq!(sources.get_with("api_key", &env).as_deref(), Some("from-cli"), "--variable first");
        assert_eq!(sources.get_with("region", &env).as_deref(), Some("env-region"), "the environment before the dotenv file");
        assert_eq!(sources.get_with("tier", &env).as_deref(), Some("from-dotenv"));
        assert_eq!(sources.get_with("mode", &env).as_deref(), Some("static"), "a static provider before the default one");
        assert_eq!(sources.get_with("region", &env).as_deref(), Some("env-region"), "and after the providers listed before it");
        assert_eq!(sources.get_with("colour", &env).as_deref(), Some("from-spin-env"), "the default provider last");
        assert_eq!(sources.get_with("missing", &env), None);
    }

    #[test]
    fn a_missing_dotenv_file_holds_nothing_and_a_broken_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = EnvProviderConfig { prefix: None, dotenv_path: Some(dir.path().join("none.env")) };
        assert!(VariableSources::load(HashMap::new(), &[VariablesProvider::Env(missing)]).is_ok());
        let broken = dir.path().join("broken.env");
        std::fs::write(&broken, "A='unterminated\n").unwrap();
        let broken = VariablesProvider::Env(EnvProviderConfig { prefix: None, dotenv_path: Some(broken) });
        let error = VariableSources::load(HashMap::new(), &[broken]).err().unwrap();
        assert!(error.contains("broken.env"), "{error}");
    }
}
