//! Query strings: `?q=blue%20mug&page=2` as decoded pairs.

pub fn parse(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn decodes_percent_and_plus() {
        assert_eq!(super::parse("q=blue%20mug&x=a+b&e="), vec![("q".into(), "blue mug".into()), ("x".into(), "a b".into()), ("e".into(), "".into())]);
    }
}
