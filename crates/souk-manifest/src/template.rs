//! Spin's variable templates: literal text with `{{ name }}` references.

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part<'a> {
    Literal(&'a str),
    Variable(&'a str),
}

/// Splits a template into literal text and (trimmed) variable references.
/// A `{{` without a closing `}}` is an error; a lone `}}` is literal text.
pub(crate) fn parse(template: &str) -> Result<Vec<Part<'_>>, String> {
    let mut parts = Vec::new();
    let mut rest = template;
    while !rest.is_empty() {
        match rest.find("{{") {
            Some(0) => {
                let Some((expr, after)) = rest[2..].split_once("}}") else {
                    return Err(format!("unmatched `{{{{` in template {template:?}"));
                };
                parts.push(Part::Variable(expr.trim()));
                rest = after;
            }
            Some(start) => {
                parts.push(Part::Literal(&rest[..start]));
                rest = &rest[start..];
            }
            None => {
                parts.push(Part::Literal(rest));
                rest = "";
            }
        }
    }
    Ok(parts)
}

/// The variable names a template refers to, in order.
pub(crate) fn references(template: &str) -> Result<Vec<&str>, String> {
    Ok(parse(template)?
        .into_iter()
        .filter_map(|p| match p {
            Part::Variable(name) => Some(name),
            Part::Literal(_) => None,
        })
        .collect())
}

/// Whether the text contains a template reference at all.
pub(crate) fn is_template(text: &str) -> bool {
    text.contains("{{")
}

/// Expands a template, looking each variable up with `lookup`.
pub(crate) fn expand<E>(template: &str, mut lookup: impl FnMut(&str) -> Result<String, E>, syntax_error: impl FnOnce(String) -> E) -> Result<String, E> {
    let parts = parse(template).map_err(syntax_error)?;
    let mut out = String::with_capacity(template.len());
    for part in parts {
        match part {
            Part::Literal(text) => out.push_str(text),
            Part::Variable(name) => out.push_str(&lookup(name)?),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_splits_literals_and_variables() {
        assert_eq!(parse("").unwrap(), vec![]);
        assert_eq!(parse("plain").unwrap(), vec![Part::Literal("plain")]);
        assert_eq!(parse("a-{{ name }}-b").unwrap(), vec![Part::Literal("a-"), Part::Variable("name"), Part::Literal("-b")]);
        assert_eq!(parse("{{one}}{{ two }}").unwrap(), vec![Part::Variable("one"), Part::Variable("two")]);
    }

    #[test]
    fn unmatched_braces_are_an_error() {
        assert!(parse("{{ matched }} {{ unmatched").is_err());
    }

    #[test]
    fn lone_closing_braces_are_literal() {
        assert_eq!(parse("a }} b").unwrap(), vec![Part::Literal("a }} b")]);
    }

    #[test]
    fn expand_substitutes_values() {
        let out: Result<String, String> = expand("prefix-{{ name }}", |n| Ok(n.to_uppercase()), |e| e);
        assert_eq!(out.unwrap(), "prefix-NAME");
    }
}
