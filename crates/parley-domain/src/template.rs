//! `{{variable}}` templating of batch messages (`global.agent_message` filled per row).
//!
//! A variable that is absent or blank makes the whole message unrenderable: sending
//! "Hi , your order" is worse than not sending, so the batch skips the row and says which
//! variable was missing. Text outside `{{…}}` is copied as is; a `{{` without a closing
//! `}}` is literal text.

/// The first variable a template needs and `lookup` could not give.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template variable {0:?} is missing")]
pub struct MissingVariable(pub String);

/// Fills every `{{ name }}` (surrounding spaces ignored) from `lookup`.
pub fn render<'a, F>(template: &str, lookup: F) -> Result<String, MissingVariable>
where
    F: Fn(&str) -> Option<std::borrow::Cow<'a, str>>,
{
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open + 2..].find("}}") else {
            break;
        };
        out.push_str(&rest[..open]);
        let name = rest[open + 2..open + 2 + close].trim();
        match lookup(name) {
            Some(v) if !v.trim().is_empty() => out.push_str(&v),
            _ => return Err(MissingVariable(name.to_owned())),
        }
        rest = &rest[open + 2 + close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The variable names a template uses, in order of first use.
pub fn variables(template: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open + 2..].find("}}") else {
            break;
        };
        let name = rest[open + 2..open + 2 + close].trim().to_owned();
        if !names.contains(&name) {
            names.push(name);
        }
        rest = &rest[open + 2 + close + 2..];
    }
    names
}

#[cfg(test)]
mod tests {
    use std::{borrow::Cow, collections::HashMap};

    use proptest::prelude::*;

    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn with<'a>(m: &'a HashMap<String, String>) -> impl Fn(&str) -> Option<Cow<'a, str>> {
        move |k| m.get(k).map(|v| Cow::Borrowed(v.as_str()))
    }

    #[test]
    fn fills_and_reports_missing() {
        let m = vars(&[("first_name", "Ana"), ("city", "Lyon"), ("blank", " ")]);
        assert_eq!(
            render("Hi {{first_name}}, from {{ city }}!", with(&m)).unwrap(),
            "Hi Ana, from Lyon!"
        );
        assert_eq!(
            render("Hi {{nope}}", with(&m)),
            Err(MissingVariable("nope".into()))
        );
        assert_eq!(
            render("Hi {{blank}}", with(&m)),
            Err(MissingVariable("blank".into()))
        );
        assert_eq!(render("a {{ b", with(&m)).unwrap(), "a {{ b");
        assert_eq!(variables("{{a}} {{ b }} {{a}}"), vec!["a", "b"]);
    }

    proptest! {
        /// Text without `{{` comes out unchanged, whatever the variables.
        #[test]
        fn plain_text_is_untouched(s in "[^{]*") {
            let m = HashMap::new();
            prop_assert_eq!(render(&s, with(&m)).unwrap(), s);
        }

        /// Every variable a template names is looked up, and a value is inserted verbatim
        /// even when it contains braces itself (no second pass).
        #[test]
        fn values_are_inserted_once(pre in "[a-z ]{0,8}", v in "[{}a-z]{1,8}", post in "[a-z ]{0,8}") {
            let m = vars(&[("x", &v)]);
            let out = render(&format!("{pre}{{{{x}}}}{post}"), with(&m)).unwrap();
            prop_assert_eq!(out, format!("{pre}{v}{post}"));
        }
    }
}
