//! Reads a TOML file and turns parse and deserialisation failures into
//! [`ConfigError`]s that carry the TOML key path and the line number.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue};

use crate::error::ConfigError;

/// One step of a TOML key path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    Index(usize),
}

/// A TOML key path such as `trigger.http[2].route`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KeyPath(Vec<Step>);

impl KeyPath {
    pub(crate) fn root() -> Self {
        KeyPath(Vec::new())
    }

    /// This path extended by a table key.
    pub(crate) fn key(&self, key: &str) -> Self {
        let mut steps = self.0.clone();
        steps.push(Step::Key(key.to_owned()));
        KeyPath(steps)
    }

    /// This path extended by an array index.
    pub(crate) fn index(&self, index: usize) -> Self {
        let mut steps = self.0.clone();
        steps.push(Step::Index(index));
        KeyPath(steps)
    }
}

fn is_bare_key(key: &str) -> bool {
    !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Key(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    if is_bare_key(key) {
                        f.write_str(key)?;
                    } else {
                        write!(f, "{key:?}")?;
                    }
                }
                Step::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// The text of one TOML file, with its (absolute) path for error messages.
pub(crate) struct TomlSource {
    pub(crate) file: PathBuf,
    text: String,
    /// Set when `text` is not the file's but made from it (a version 1
    /// manifest's version 2 form): errors then carry no line number, which
    /// would point into text the user never wrote, and say so.
    converted_from: Option<&'static str>,
}

impl TomlSource {
    /// Reads `file`; an unreadable file is a [`ConfigError`] with an empty key.
    pub(crate) fn read(file: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(file).map_err(|e| ConfigError::new(file, "", format!("cannot read file: {e}")))?;
        Ok(Self::from_text(file, text))
    }

    pub(crate) fn from_text(file: &Path, text: impl Into<String>) -> Self {
        TomlSource { file: file.to_owned(), text: text.into(), converted_from: None }
    }

    /// `text` made from `file`, which is `what` (for messages).
    pub(crate) fn converted(file: &Path, text: impl Into<String>, what: &'static str) -> Self {
        TomlSource { file: file.to_owned(), text: text.into(), converted_from: Some(what) }
    }

    fn located(&self, line: Option<usize>, message: String) -> String {
        match (self.converted_from, line) {
            (Some(what), _) => format!("{message} (the key of the version 2 form of this {what})"),
            (None, Some(line)) => format!("line {line}: {message}"),
            (None, None) => message,
        }
    }

    /// Deserialises the whole document. Syntax errors and serde errors become
    /// a [`ConfigError`] keyed by the TOML path at the error's position, with
    /// `line N: ` in front of toml's message.
    pub(crate) fn deserialize<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        let (doc, errors) = DeTable::parse_recoverable(&self.text);
        if let Some(error) = errors.first() {
            return Err(self.convert_toml_error(doc.get_ref(), error));
        }
        toml::from_str(&self.text).map_err(|error| self.convert_toml_error(doc.get_ref(), &error))
    }

    fn convert_toml_error(&self, doc: &DeTable<'_>, error: &toml::de::Error) -> ConfigError {
        let message = error.message().trim_end().to_owned();
        let Some(span) = error.span() else {
            return ConfigError::new(&self.file, "", message);
        };
        let key = locate(doc, span.start, &KeyPath::root()).map(|path| path.to_string()).unwrap_or_default();
        let line = self.line_at(span.start);
        ConfigError::new(&self.file, key, self.located(Some(line), message))
    }

    /// A [`ConfigError`] for the item at `path`; the message gets `line N: `
    /// in front when the item can be found in the document.
    pub(crate) fn error_at(&self, path: &KeyPath, message: impl Into<String>) -> ConfigError {
        let message = message.into();
        let offset = DeTable::parse(&self.text).ok().and_then(|doc| offset_of(doc.get_ref(), &path.0));
        ConfigError::new(&self.file, path.to_string(), self.located(offset.map(|offset| self.line_at(offset)), message))
    }

    fn line_at(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        self.text.as_bytes()[..offset].iter().filter(|b| **b == b'\n').count() + 1
    }
}

/// The deepest key path whose key or value covers byte `pos`.
fn locate(table: &DeTable<'_>, pos: usize, path: &KeyPath) -> Option<KeyPath> {
    for (key, value) in table.iter() {
        let here = path.key(key.get_ref());
        if key.span().contains(&pos) {
            return Some(here);
        }
        if let Some(found) = locate_value(value.get_ref(), pos, &here) {
            return Some(found);
        }
        if value.span().contains(&pos) {
            return Some(here);
        }
    }
    None
}

fn locate_value(value: &DeValue<'_>, pos: usize, path: &KeyPath) -> Option<KeyPath> {
    match value {
        DeValue::Table(table) => locate(table, pos, path),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let here = path.index(i);
                if let Some(found) = locate_value(item.get_ref(), pos, &here) {
                    return Some(found);
                }
                if item.span().contains(&pos) {
                    return Some(here);
                }
            }
            None
        }
        _ => None,
    }
}

/// The byte offset of the item at `steps` (its key, or its array element).
fn offset_of(table: &DeTable<'_>, steps: &[Step]) -> Option<usize> {
    let (Step::Key(first), rest) = steps.split_first()? else {
        return None;
    };
    let (key, value) = table.iter().find(|(k, _)| k.get_ref() == first)?;
    if rest.is_empty() {
        return Some(key.span().start);
    }
    offset_in_value(value.get_ref(), rest).or(Some(key.span().start))
}

fn offset_in_value(value: &DeValue<'_>, steps: &[Step]) -> Option<usize> {
    match (value, steps.first()?) {
        (DeValue::Table(table), Step::Key(_)) => offset_of(table, steps),
        (DeValue::Array(items), Step::Index(i)) => {
            let item = items.get(*i)?;
            if steps.len() == 1 { Some(item.span().start) } else { offset_in_value(item.get_ref(), &steps[1..]).or(Some(item.span().start)) }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        table: std::collections::BTreeMap<String, Inner>,
        #[serde(default)]
        list: Vec<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        value: String,
    }

    fn source(text: &str) -> TomlSource {
        TomlSource::from_text(Path::new("/x/test.toml"), text)
    }

    #[test]
    fn key_path_display_quotes_unusual_keys() {
        let p = KeyPath::root().key("trigger").key("http").index(2).key("a.b");
        assert_eq!(p.to_string(), "trigger.http[2].\"a.b\"");
    }

    #[test]
    fn serde_error_names_key_path_and_line() {
        let err = source("[table.one]\nvalue = \"x\"\nvalu = \"y\"\n").deserialize::<Doc>().unwrap_err();
        assert_eq!(err.key, "table.one.valu");
        assert!(err.message.starts_with("line 3: unknown field `valu`"), "{err}");
    }

    #[test]
    fn serde_error_inside_array_of_tables_has_index() {
        let err = source("[table.a]\nvalue = \"x\"\n[[list]]\nvalue = \"x\"\n[[list]]\nvalue = 3\n").deserialize::<Doc>().unwrap_err();
        assert_eq!(err.key, "list[1].value");
        assert!(err.message.starts_with("line 6: "), "{err}");
    }

    #[test]
    fn syntax_error_has_line_number() {
        let err = source("[table.a]\nvalue = \"x\"\nbroken = \n").deserialize::<Doc>().unwrap_err();
        assert!(err.message.starts_with("line 3: "), "{err}");
        assert_eq!(err.file, Path::new("/x/test.toml"));
    }

    #[test]
    fn error_at_finds_line_of_key() {
        let src = source("[table.a]\nvalue = \"x\"\n\n[[list]]\nvalue = \"y\"\n");
        let err = src.error_at(&KeyPath::root().key("list").index(0).key("value"), "bad");
        assert_eq!(err.key, "list[0].value");
        assert_eq!(err.message, "line 5: bad");
    }
}
