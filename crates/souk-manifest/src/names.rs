//! Spin's naming rules for component ids, variable names and store labels.

/// Checks a delimiter-separated id the way Spin does: non-empty words that
/// start with an ASCII letter, contain only ASCII letters and digits, and are
/// each all lowercase or all UPPERCASE.
fn delimited_id(id: &str, delim: char, wrong: char) -> Result<(), String> {
    if id.is_empty() {
        return Err("must not be empty".into());
    }
    if id.contains(wrong) {
        return Err(format!("words must be separated with '{delim}', not '{wrong}'"));
    }
    for word in id.split(delim) {
        let mut chars = word.chars();
        let Some(first) = chars.next() else {
            return Err(format!("'{delim}'-separated words must not be empty"));
        };
        if !first.is_ascii_alphabetic() {
            return Err(format!("'{delim}'-separated words must start with an ASCII letter; got {first:?}"));
        }
        let upper = first.is_ascii_uppercase();
        for c in chars {
            if !c.is_ascii_alphanumeric() {
                return Err(format!("'{delim}'-separated words may only contain ASCII letters and digits; got {c:?}"));
            }
            if c.is_ascii_alphabetic() && c.is_ascii_uppercase() != upper {
                return Err(format!("'{delim}'-separated words must be all lowercase or all UPPERCASE; got {word:?}"));
            }
        }
    }
    Ok(())
}

/// A component id: kebab-case words (`cart`, `cart-api2`).
pub(crate) fn check_component_id(id: &str) -> Result<(), String> {
    delimited_id(id, '-', '_')
}

/// A key-value store or SQLite database label: kebab-case or snake_case.
pub(crate) fn check_store_label(label: &str) -> Result<(), String> {
    if delimited_id(label, '-', '_').is_ok() || delimited_id(label, '_', '-').is_ok() {
        Ok(())
    } else {
        Err("labels must be kebab-case or snake_case words starting with a letter".into())
    }
}

/// An application or component variable name: lowercase ASCII letters,
/// digits and single underscores, starting with a letter and not ending with
/// an underscore.
pub(crate) fn check_variable_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')) {
        return Err(format!("invalid character {c:?}; variable names may contain only lowercase letters, digits and underscores"));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("must start with a lowercase ASCII letter".into());
    }
    if name.ends_with('_') {
        return Err("must end with a lowercase ASCII letter or digit".into());
    }
    if name.contains("__") {
        return Err("must not contain consecutive underscores".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_ids_follow_kebab_rule() {
        for good in ["a", "cart", "cart-api", "api2", "a-b-c", "HTTP-handler"] {
            check_component_id(good).expect(good);
        }
        for bad in ["", "cart_api", "-cart", "cart-", "a--b", "2cart", "cart.api", "Cart", "a-2b"] {
            check_component_id(bad).expect_err(bad);
        }
    }

    #[test]
    fn wrong_separator_in_component_id_is_explained() {
        let e = check_component_id("bad_id").unwrap_err();
        assert!(e.contains("'-'"), "{e}");
    }

    #[test]
    fn variable_names_follow_spin_rule() {
        for good in ["a", "abc", "a1b2c3", "a_1", "a_1_b_3", "api_key"] {
            check_variable_name(good).expect(good);
        }
        for bad in ["", "aX", "1bc", "_x", "x.y", "x_", "a__b", "x-y", "bad+name"] {
            check_variable_name(bad).expect_err(bad);
        }
    }

    #[test]
    fn store_labels_are_kebab_or_snake() {
        for good in ["default", "my-store", "my_store", "cache2"] {
            check_store_label(good).expect(good);
        }
        for bad in ["", "my store", "my-store_x", "1st", "a/b"] {
            check_store_label(bad).expect_err(bad);
        }
    }
}
