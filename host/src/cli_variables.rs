//! `souk up --variable`, as `spin up` takes it: `NAME=VALUE`, `NAME=@FILE`
//! (the file's text), or `@FILE.json` / `@FILE.toml` (a table of names to
//! strings). Repeatable; a later value for the same name wins. They come
//! before `SPIN_VARIABLE_*` from the environment, which come before the
//! manifest's defaults.

use std::collections::HashMap;
use std::path::PathBuf;

/// One `--variable` argument.
#[derive(Debug, Clone, PartialEq)]
pub enum VariableSource {
    Value(String, String),
    TextFile(String, PathBuf),
    JsonFile(PathBuf),
    TomlFile(PathBuf),
}

/// clap's parser for `--variable`.
pub fn parse(s: &str) -> Result<VariableSource, String> {
    if let Some(path) = s.strip_prefix('@') {
        let path = PathBuf::from(path);
        return match path.extension().and_then(|e| e.to_str()) {
            Some("json") => Ok(VariableSource::JsonFile(path)),
            Some("toml") => Ok(VariableSource::TomlFile(path)),
            _ => Err(format!("`{s}`: a file of variables must end in .json or .toml (or use NAME=@FILE for one value)")),
        };
    }
    match s.split_once('=') {
        Some(("", _)) => Err(format!("`{s}`: the variable's name is empty")),
        Some((name, value)) => Ok(match value.strip_prefix('@') {
            Some(path) => VariableSource::TextFile(name.to_string(), PathBuf::from(path)),
            None => VariableSource::Value(name.to_string(), value.to_string()),
        }),
        None => Err(format!("expected NAME=VALUE, NAME=@FILE, @FILE.json or @FILE.toml, got `{s}`")),
    }
}

/// Every `--variable`, merged in order, with names in lower case (variable
/// names are case-insensitive, as with `SPIN_VARIABLE_*`). Errors name the
/// file and what is wrong with it.
pub fn merge(sources: &[VariableSource]) -> Result<HashMap<String, String>, String> {
    let read = |path: &PathBuf| std::fs::read_to_string(path).map_err(|e| format!("--variable: cannot read {}: {e}", path.display()));
    let mut merged = HashMap::new();
    for source in sources {
        let pairs: Vec<(String, String)> = match source {
            VariableSource::Value(name, value) => vec![(name.clone(), value.clone())],
            VariableSource::TextFile(name, path) => vec![(name.clone(), read(path)?)],
            VariableSource::JsonFile(path) => serde_json::from_str::<HashMap<String, String>>(&read(path)?)
                .map_err(|e| format!("--variable: {}: expected an object of names to strings: {e}", path.display()))?
                .into_iter()
                .collect(),
            VariableSource::TomlFile(path) => toml::from_str::<HashMap<String, String>>(&read(path)?)
                .map_err(|e| format!("--variable: {}: expected a table of names to strings: {e}", path.display()))?
                .into_iter()
                .collect(),
        };
        merged.extend(pairs.into_iter().map(|(name, value)| (name.to_ascii_lowercase(), value)));
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_form_parses_and_bad_ones_say_why() {
        assert_eq!(parse("region=eu=west"), Ok(VariableSource::Value("region".into(), "eu=west".into())));
        assert_eq!(parse("key=@secret.txt"), Ok(VariableSource::TextFile("key".into(), "secret.txt".into())));
        assert_eq!(parse("@vars.json"), Ok(VariableSource::JsonFile("vars.json".into())));
        assert_eq!(parse("@vars.toml"), Ok(VariableSource::TomlFile("vars.toml".into())));
        assert!(parse("@vars.yaml").unwrap_err().contains(".json or .toml"));
        assert!(parse("=x").unwrap_err().contains("name is empty"));
        assert!(parse("novalue").unwrap_err().contains("NAME=VALUE"));
    }

    #[test]
    fn later_values_win_and_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("key.txt");
        std::fs::write(&text, "from-file").unwrap();
        let json = dir.path().join("v.json");
        std::fs::write(&json, r#"{"region": "json", "tier": "gold"}"#).unwrap();
        let toml_file = dir.path().join("v.toml");
        std::fs::write(&toml_file, "region = \"toml\"\n").unwrap();
        let merged = merge(&[
            VariableSource::Value("Region".into(), "first".into()),
            VariableSource::JsonFile(json),
            VariableSource::TomlFile(toml_file),
            VariableSource::TextFile("key".into(), text),
        ])
        .unwrap();
        assert_eq!(merged["region"], "toml");
        assert_eq!(merged["tier"], "gold");
        assert_eq!(merged["key"], "from-file");

        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, r#"{"n": 3}"#).unwrap();
        let error = merge(&[VariableSource::JsonFile(bad)]).unwrap_err();
        assert!(error.contains("bad.json") && error.contains("names to strings"), "{error}");
        assert!(merge(&[VariableSource::TextFile("k".into(), dir.path().join("missing"))]).unwrap_err().contains("cannot read"));
    }
}
