//! A CustomResourceDefinition's schema as a validator: what the API server
//! checks when a custom resource is applied.
//!
//! The API server validates against the `openAPIV3Schema` of the version
//! the resource names, and with kubectl's default (strict) field validation
//! an unknown field is an error too, where the schema alone would let it
//! pass: a field that is not in the schema is refused here, unless the
//! schema keeps unknown fields (`x-kubernetes-preserve-unknown-fields`) or
//! says what any other field holds (`additionalProperties`).

use jsonschema::Validator;
use serde_json::Value;

/// The validator for one served version of a CRD.
pub struct CrdSchema {
    /// `<group>/<version>`, the `apiVersion` a resource must name.
    pub api_version: String,
    pub kind: String,
    validator: Validator,
}

impl CrdSchema {
    /// The schema of `version` from a CRD document; that version must be served.
    pub fn from_crd(crd: &Value, version: &str) -> Result<CrdSchema, String> {
        if crd["kind"] != "CustomResourceDefinition" {
            return Err(format!("not a CustomResourceDefinition: kind {}", crd["kind"]));
        }
        let group = crd["spec"]["group"].as_str().ok_or("the CRD has no spec.group")?;
        let kind = crd["spec"]["names"]["kind"].as_str().ok_or("the CRD has no spec.names.kind")?;
        let versions = crd["spec"]["versions"].as_array().ok_or("the CRD has no spec.versions")?;
        let entry = versions.iter().find(|v| v["name"] == version).ok_or_else(|| format!("the CRD has no version {version}"))?;
        if entry["served"] != true {
            return Err(format!("version {version} of the CRD is not served"));
        }
        let mut schema = entry["schema"]["openAPIV3Schema"].clone();
        if !schema.is_object() {
            return Err(format!("version {version} of the CRD has no openAPIV3Schema"));
        }
        refuse_unknown_fields(&mut schema);
        // OpenAPI 3.0 schemas are JSON Schema draft 4 with extensions
        // (`x-kubernetes-*`), which a validator ignores as unknown keywords.
        let validator = jsonschema::draft4::new(&schema).map_err(|e| format!("the CRD's schema does not compile: {e}"))?;
        Ok(CrdSchema { api_version: format!("{group}/{version}"), kind: kind.to_owned(), validator })
    }

    /// Every problem with `resource`, each with the path it is at; none
    /// when the API server would take it.
    pub fn problems(&self, resource: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        if resource["apiVersion"] != self.api_version.as_str() {
            problems.push(format!("apiVersion is {}, not {}", resource["apiVersion"], self.api_version));
        }
        if resource["kind"] != self.kind.as_str() {
            problems.push(format!("kind is {}, not {}", resource["kind"], self.kind));
        }
        if resource["metadata"]["name"].as_str().is_none_or(str::is_empty) {
            problems.push("metadata.name is missing".to_owned());
        }
        for error in self.validator.iter_errors(resource) {
            let at = error.instance_path().to_string();
            problems.push(format!("{}: {error}", if at.is_empty() { "/" } else { &at }));
        }
        problems
    }
}

/// Sets `additionalProperties: false` on every object schema that lists
/// its properties and neither keeps unknown fields nor has a rule of its
/// own for other fields.
fn refuse_unknown_fields(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            let lists_properties = map.get("properties").is_some_and(Value::is_object);
            let keeps_unknown = map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
            if lists_properties && !keeps_unknown && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".to_owned(), Value::Bool(false));
            }
            for value in map.values_mut() {
                refuse_unknown_fields(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(refuse_unknown_fields),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn crd(served: bool) -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "spec": {
                "group": "example.dev",
                "names": { "kind": "Widget" },
                "versions": [{
                    "name": "v1",
                    "served": served,
                    "schema": { "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "apiVersion": { "type": "string" },
                            "kind": { "type": "string" },
                            "metadata": { "type": "object" },
                            "spec": {
                                "type": "object",
                                "required": ["size"],
                                "properties": {
                                    "size": { "type": "integer" },
                                    "labels": { "type": "object", "additionalProperties": { "type": "string" } },
                                    "free": { "type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": { "a": { "type": "string" } } }
                                }
                            }
                        }
                    }}
                }]
            }
        })
    }

    fn widget(spec: Value) -> Value {
        json!({ "apiVersion": "example.dev/v1", "kind": "Widget", "metadata": { "name": "w" }, "spec": spec })
    }

    #[test]
    fn a_resource_that_fits_passes() {
        let schema = CrdSchema::from_crd(&crd(true), "v1").unwrap();
        let ok = widget(json!({ "size": 2, "labels": { "any": "x" }, "free": { "b": 1 } }));
        assert_eq!(schema.problems(&ok), Vec::<String>::new());
    }

    #[test]
    fn unknown_fields_are_refused_where_the_schema_lists_them() {
        let schema = CrdSchema::from_crd(&crd(true), "v1").unwrap();
        let problems = schema.problems(&widget(json!({ "size": 2, "sise": 3 })));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("/spec:") && problems[0].contains("sise"), "{problems:?}");
    }

    #[test]
    fn wrong_types_missing_fields_and_another_version_are_refused() {
        let schema = CrdSchema::from_crd(&crd(true), "v1").unwrap();
        let problems = schema.problems(&widget(json!({ "size": "two" })));
        assert!(problems.iter().any(|p| p.starts_with("/spec/size:")), "{problems:?}");
        assert!(schema.problems(&widget(json!({}))).iter().any(|p| p.contains("size")));
        let mut other = widget(json!({ "size": 1 }));
        other["apiVersion"] = json!("example.dev/v2");
        assert_eq!(schema.problems(&other), vec!["apiVersion is \"example.dev/v2\", not example.dev/v1".to_owned()]);
    }

    #[test]
    fn a_version_that_is_not_served_or_absent_has_no_schema() {
        assert!(CrdSchema::from_crd(&crd(false), "v1").err().unwrap().contains("not served"));
        assert!(CrdSchema::from_crd(&crd(true), "v2").err().unwrap().contains("no version v2"));
    }
}
