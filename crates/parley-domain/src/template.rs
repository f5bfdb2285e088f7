//! `{{variable}}` templating, shared by batch messages and pathways.
//!
//! One scanner ([`for_each_part`]) defines the syntax; two policies sit on top of it:
//!
//! - [`render`] (batch messages): a variable that is absent or blank makes the whole message
//!   unrenderable. Sending "Hi , your order" is worse than not sending, so the batch skips
//!   the row and says which variable was missing.
//! - [`render_lenient`] (pathways): the conversation is already under way and must answer,
//!   so an unknown variable renders as the empty string and is reported to the caller. A
//!   user must never see a raw `{{name}}`.
//!
//! Text outside `{{…}}` is copied as is; a `{{` without a closing `}}` is literal text.
//! Values are inserted verbatim, once: a value containing braces is not expanded again.

/// The first variable a template needs and `lookup` could not give.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template variable {0:?} is missing")]
pub struct MissingVariable(pub String);

/// A piece of a template: literal text, or the (trimmed) name inside a `{{…}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part<'t> {
    Text(&'t str),
    Var(&'t str),
}

/// Walks a template left to right, handing each literal run and each variable to `f`.
/// Stops early with the first error `f` returns.
pub fn for_each_part<'t, E>(
    template: &'t str,
    mut f: impl FnMut(Part<'t>) -> Result<(), E>,
) -> Result<(), E> {
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open + 2..].find("}}") else {
            break;
        };
        if open > 0 {
            f(Part::Text(&rest[..open]))?;
        }
        f(Part::Var(rest[open + 2..open + 2 + close].trim()))?;
        rest = &rest[open + 2 + close + 2..];
    }
    if !rest.is_empty() {
        f(Part::Text(rest))?;
    }
    Ok(())
}

/// Fills every `{{ name }}` (surrounding spaces ignored) from `lookup`; a missing or blank
/// value is an error.
pub fn render<'a, F>(template: &str, lookup: F) -> Result<String, MissingVariable>
where
    F: Fn(&str) -> Option<std::borrow::Cow<'a, str>>,
{
    let mut out = String::with_capacity(template.len() + 32);
    for_each_part(template, |part| match part {
        Part::Text(t) => {
            out.push_str(t);
            Ok(())
        }
        Part::Var(name) => match lookup(name) {
            Some(v) if !v.trim().is_empty() => {
                out.push_str(&v);
                Ok(())
            }
            _ => Err(MissingVariable(name.to_owned())),
        },
    })?;
    Ok(out)
}

/// Fills every `{{ name }}` from `lookup`; a variable `lookup` does not know renders as
/// nothing and its name is returned (once each, in order of first use) so the caller can
/// report it.
pub fn render_lenient<'a, F>(template: &str, lookup: F) -> (String, Vec<String>)
where
    F: Fn(&str) -> Option<std::borrow::Cow<'a, str>>,
{
    let mut out = String::with_capacity(template.len() + 32);
    let mut missing: Vec<String> = Vec::new();
    let filled: Result<(), std::convert::Infallible> = for_each_part(template, |part| {
        match part {
            Part::Text(t) => out.push_str(t),
            Part::Var(name) => match lookup(name) {
                Some(v) => out.push_str(&v),
                None => {
                    if !missing.iter().any(|m| m == name) {
                        missing.push(name.to_owned());
                    }
                }
            },
        }
        Ok(())
    });
    match filled {
        Ok(()) => (out, missing),
        Err(never) => match never {},
    }
}

/// The variable names a template uses, in order of first use.
pub fn variables(template: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let scanned: Result<(), std::convert::Infallible> = for_each_part(template, |part| {
        if let Part::Var(name) = part {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
        Ok(())
    });
    match scanned {
        Ok(()) => names,
        Err(never) => match never {},
    }
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

    #[test]
    fn lenient_blanks_unknown_and_reports_each_once() {
        let m = vars(&[("first_name", "Ana")]);
        let (out, missing) = render_lenient("Hi {{first_name}}{{x}}, {{ y }}{{x}}!", with(&m));
        assert_eq!(out, "Hi Ana, !");
        assert_eq!(missing, vec!["x", "y"]);
        assert_eq!(render_lenient("a {{ b", with(&m)).0, "a {{ b");
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
