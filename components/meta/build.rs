//! Turns docs/openapi.yaml into $OUT_DIR/openapi.json, which the component
//! embeds: the document is parsed once here, never at request time.

use std::path::PathBuf;

use serde_json::{Map, Number, Value as Json};
use serde_yaml_ng::Value as Yaml;

/// YAML allows keys that are not strings (response codes such as `200:`
/// unquoted); JSON does not, so scalar keys become their text.
fn key(yaml: &Yaml) -> Result<String, String> {
    match yaml {
        Yaml::String(s) => Ok(s.clone()),
        Yaml::Number(n) => Ok(n.to_string()),
        Yaml::Bool(b) => Ok(b.to_string()),
        other => Err(format!("a mapping key that is not a scalar: {other:?}")),
    }
}

fn to_json(yaml: &Yaml) -> Result<Json, String> {
    Ok(match yaml {
        Yaml::Null => Json::Null,
        Yaml::Bool(b) => Json::Bool(*b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                Json::from(i)
            } else if let Some(u) = n.as_u64() {
                Json::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                Json::Number(Number::from_f64(f).ok_or_else(|| format!("{n} has no JSON form"))?)
            }
        }
        Yaml::String(s) => Json::String(s.clone()),
        Yaml::Sequence(items) => Json::Array(items.iter().map(to_json).collect::<Result<_, _>>()?),
        Yaml::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(key(k)?, to_json(v)?);
            }
            Json::Object(out)
        }
        Yaml::Tagged(tagged) => to_json(&tagged.value)?,
    })
}

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let source = manifest_dir.join("../../docs/openapi.yaml");
    println!("cargo:rerun-if-changed={}", source.display());
    let text = std::fs::read_to_string(&source).unwrap_or_else(|e| panic!("reading {}: {e}", source.display()));
    let mut yaml: Yaml = serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{} is not YAML: {e}", source.display()));
    // `<<: *anchor` merge keys, if the document uses them.
    yaml.apply_merge().unwrap_or_else(|e| panic!("{}: {e}", source.display()));
    let json = to_json(&yaml).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
    if json.get("openapi").and_then(Json::as_str).is_none() {
        panic!("{} has no `openapi` version field", source.display());
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("openapi.json");
    std::fs::write(&out, json.to_string()).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
}
