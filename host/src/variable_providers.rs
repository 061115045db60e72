//! Where application variables come from, in Spin's order: `--variable`
//! first, then each `[[variables_provider]]` of the runtime config (`type =
//! "env"`: `<prefix>_<NAME>` from the environment, else from its dotenv
//! file), then Spin's default environment provider (`SPIN_VARIABLE_<NAME>`,
//! else `.env` in the working directory), then the manifest's default.
//! Dotenv files are read once at start-up (with `dotenvy`, the maintained
//! parser of the format); a missing one holds nothing, as in Spin.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use souk_manifest::EnvProviderConfig;

const DEFAULT_PREFIX: &str = "SPIN_VARIABLE";
const DEFAULT_DOTENV: &str = ".env";

struct EnvProvider {
    prefix: String,
    dotenv: HashMap<String, String>,
}

pub struct VariableSources {
    cli: HashMap<String, String>,
    providers: Vec<EnvProvider>,
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
    pub fn load(cli: HashMap<String, String>, configured: &[EnvProviderConfig]) -> Result<Self, String> {
        let default = EnvProviderConfig { prefix: None, dotenv_path: Some(PathBuf::from(DEFAULT_DOTENV)) };
        let providers = configured
            .iter()
            .chain(std::iter::once(&default))
            .map(|config| {
                Ok(EnvProvider {
                    prefix: config.prefix.clone().unwrap_or_else(|| DEFAULT_PREFIX.to_string()),
                    dotenv: config.dotenv_path.as_deref().map(read_dotenv).transpose()?.unwrap_or_default(),
                })
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
        self.providers.iter().find_map(|p| {
            let key = format!("{}_{upper}", p.prefix);
            env(&key).or_else(|| p.dotenv.get(&key).cloned())
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
            &[EnvProviderConfig { prefix: Some("SHOP".into()), dotenv_path: Some(dotenv) }],
        )
        .unwrap();
        let env = |key: &str| match key {
            "SHOP_REGION" => Some("env-region".to_string()),
            "SPIN_VARIABLE_API_KEY" | "SPIN_VARIABLE_COLOUR" => Some("from-spin-env".to_string()),
            _ => None,
        };
        assert_eq!(sources.get_with("api_key", &env).as_deref(), Some("from-cli"), "--variable first");
        assert_eq!(sources.get_with("region", &env).as_deref(), Some("env-region"), "the environment before the dotenv file");
        assert_eq!(sources.get_with("tier", &env).as_deref(), Some("from-dotenv"));
        assert_eq!(sources.get_with("colour", &env).as_deref(), Some("from-spin-env"), "the default provider last");
        assert_eq!(sources.get_with("missing", &env), None);
    }

    #[test]
    fn a_missing_dotenv_file_holds_nothing_and_a_broken_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = EnvProviderConfig { prefix: None, dotenv_path: Some(dir.path().join("none.env")) };
        assert!(VariableSources::load(HashMap::new(), &[missing]).is_ok());
        let broken = dir.path().join("broken.env");
        std::fs::write(&broken, "A='unterminated\n").unwrap();
        let error = VariableSources::load(HashMap::new(), &[EnvProviderConfig { prefix: None, dotenv_path: Some(broken) }]).err().unwrap();
        assert!(error.contains("broken.env"), "{error}");
    }
}
