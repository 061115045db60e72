//! Kubernetes manifests: every `*.yaml` / `*.yml` file under a folder (and
//! its subfolders), split into documents.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

/// One YAML document of a manifest file, as JSON.
#[derive(Debug, Clone)]
pub struct Document {
    pub file: PathBuf,
    /// Its position in the file, from 0.
    pub index: usize,
    pub value: Value,
}

impl Document {
    pub fn kind(&self) -> Option<&str> {
        self.value["kind"].as_str()
    }

    pub fn api_version(&self) -> Option<&str> {
        self.value["apiVersion"].as_str()
    }

    pub fn name(&self) -> Option<&str> {
        self.value["metadata"]["name"].as_str()
    }

    /// `file#index (Kind/name)`, for messages.
    pub fn describe(&self) -> String {
        format!("{}#{} ({}/{})", self.file.display(), self.index, self.kind().unwrap_or("?"), self.name().unwrap_or("?"))
    }
}

/// The documents of one YAML text; empty documents (a lone `---`, only
/// comments) are left out, as kubectl does.
pub fn parse_documents(file: &Path, text: &str) -> Result<Vec<Document>, String> {
    let mut documents = Vec::new();
    for (index, document) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(document).map_err(|e| format!("{}: document {index}: {e}", file.display()))?;
        if !value.is_null() {
            documents.push(Document { file: file.to_owned(), index, value });
        }
    }
    Ok(documents)
}

/// Every YAML file under `dir`, in path order.
pub fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| format!("{}: {e}", folder.display()))?.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|ext| ext == "yaml" || ext == "yml") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The documents of every YAML file under `dir`.
pub fn load_dir(dir: &Path) -> Result<Vec<Document>, String> {
    let mut documents = Vec::new();
    for file in yaml_files(dir)? {
        let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        documents.extend(parse_documents(&file, &text)?);
    }
    Ok(documents)
}

/// The documents of one kind.
pub fn of_kind<'a>(documents: &'a [Document], kind: &'a str) -> impl Iterator<Item = &'a Document> + 'a {
    documents.iter().filter(move |d| d.kind() == Some(kind))
}

/// The document of `kind` named `name`, if one is there.
pub fn find<'a>(documents: &'a [Document], kind: &str, name: &str) -> Option<&'a Document> {
    documents.iter().find(|d| d.kind() == Some(kind) && d.name() == Some(name))
}

/// A Secret's `stringData` value for `key` (the shop's Secrets are written
/// as `stringData`, in plain text).
pub fn secret_string<'a>(secret: &'a Document, key: &str) -> Option<&'a str> {
    secret.value["stringData"][key].as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_split_and_empty_ones_left_out() {
        // The comment before the first `---` is no document; the empty one between the two `---` is.
        let text = "# comment only\n---\nkind: A\nmetadata: {name: a}\n---\n---\nkind: B\nmetadata: {name: b}\n";
        let docs = parse_documents(Path::new("x.yaml"), text).unwrap();
        let kinds: Vec<_> = docs.iter().map(|d| (d.index, d.kind().unwrap(), d.name().unwrap())).collect();
        assert_eq!(kinds, vec![(0, "A", "a"), (2, "B", "b")]);
    }

    #[test]
    fn a_yaml_syntax_error_names_the_file_and_document() {
        let err = parse_documents(Path::new("bad.yaml"), "kind: A\n---\nkind: [unclosed\n").unwrap_err();
        assert!(err.starts_with("bad.yaml: document 1:"), "{err}");
    }
}
