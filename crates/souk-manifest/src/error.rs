//! The one error type for configuration problems: which file, which TOML key, what was expected.

use std::fmt;
use std::path::PathBuf;

/// A problem found while loading or validating `spin.toml` or `runtime-config.toml`.
///
/// `key` is the TOML key path of the offending item (for example
/// `component.cart.key_value_stores` or `trigger.http[2].route`); it is empty
/// when no key applies (for example when the file cannot be read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub file: PathBuf,
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(file: impl Into<PathBuf>, key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError { file: file.into(), key: key.into(), message: message.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}: {}: {}", self.file.display(), self.key, self.message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_key_and_message() {
        let e = ConfigError::new("/app/spin.toml", "component.cart.source", "missing");
        assert_eq!(e.to_string(), "/app/spin.toml: component.cart.source: missing");
    }

    #[test]
    fn display_without_key_omits_it() {
        let e = ConfigError::new("/app/spin.toml", "", "cannot read file");
        assert_eq!(e.to_string(), "/app/spin.toml: cannot read file");
    }
}
