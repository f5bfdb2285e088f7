//! Version selectors: how callers name the graph to run or show (spec 8.2).

/// Which graph of a pathway to run or show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSelector {
    /// A version number.
    Number(i64),
    /// What is published to production; until something is, the draft (a pathway that was
    /// never published runs its saved graph, as on Bland). The default.
    Production,
    /// What is published to staging.
    Staging,
    /// The working copy.
    Draft,
    /// The highest-numbered version.
    Latest,
}

impl VersionSelector {
    /// Reads a selector: `production`, `staging`, `draft`, `latest` (any case), or a version
    /// number, also written `v3` or `3.0`. `0` is Bland's "live pathway": production. A blank
    /// selector is production.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "" | "production" | "live" => return Some(Self::Production),
            "staging" => return Some(Self::Staging),
            "draft" => return Some(Self::Draft),
            "latest" => return Some(Self::Latest),
            _ => {}
        }
        let digits = s.strip_prefix('v').unwrap_or(&s);
        let digits = digits.strip_suffix(".0").unwrap_or(digits);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        match digits.parse::<i64>().ok()? {
            0 => Some(Self::Production),
            n => Some(Self::Number(n)),
        }
    }
}

/// A version named in a path: by its id, or by a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionRef {
    Id(String),
    Selector(VersionSelector),
}

impl VersionRef {
    /// A selector when `s` reads as one, else a version id.
    pub fn parse(s: &str) -> Self {
        VersionSelector::parse(s).map_or_else(|| Self::Id(s.trim().to_owned()), Self::Selector)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_read_names_and_numbers() {
        use VersionSelector::*;
        for (s, want) in [
            ("", Some(Production)),
            ("production", Some(Production)),
            (" Staging ", Some(Staging)),
            ("draft", Some(Draft)),
            ("LATEST", Some(Latest)),
            ("0", Some(Production)),
            ("3", Some(Number(3))),
            ("v3", Some(Number(3))),
            ("3.0", Some(Number(3))),
            ("3.5", None),
            ("-1", None),
            ("prod", None),
            ("v", None),
        ] {
            assert_eq!(VersionSelector::parse(s), want, "{s:?}");
        }
        assert_eq!(VersionRef::parse("6f1c"), VersionRef::Id("6f1c".to_owned()));
    }
}
