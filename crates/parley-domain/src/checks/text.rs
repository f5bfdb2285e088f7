//! Templating, E.164 numbers and segment counting over any text.

use std::borrow::Cow;

use crate::{
    phone::{PhoneError, PhoneNumber},
    segments::{self, Encoding},
    template::{self, Part},
};

/// Any text as a `{{…}}` template. The parts must tile the template exactly, and both
/// renderers must agree with the parts for a lookup that knows some names, blanks some
/// and answers others with braces (which must come out verbatim, not expanded again).
pub fn template(data: &[u8]) {
    let t = String::from_utf8_lossy(data);
    let t = t.as_ref();
    let mut parts = Vec::new();
    let none: Result<(), ()> = template::for_each_part(t, |p| {
        parts.push(p);
        Ok(())
    });
    assert_eq!(none, Ok(()));
    check_tiling(t, &parts);

    let mut expected = String::new();
    let (mut names, mut missing, mut first_unfilled) = (Vec::new(), Vec::new(), None);
    for part in &parts {
        match *part {
            Part::Text(s) => expected.push_str(s),
            Part::Var(name) => {
                let value = lookup(name);
                expected.push_str(value.as_deref().unwrap_or_default());
                if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                    first_unfilled.get_or_insert(name);
                }
                for (list, add) in [(&mut names, true), (&mut missing, value.is_none())] {
                    if add && !list.contains(&name) {
                        list.push(name);
                    }
                }
            }
        }
    }
    let (lenient, unknown) = template::render_lenient(t, lookup);
    assert_eq!(lenient, expected, "render_lenient");
    assert_eq!(unknown, missing, "render_lenient's unknown names");
    assert_eq!(template::variables(t), names, "variables()");
    match (template::render(t, lookup), first_unfilled) {
        (Ok(out), None) => assert_eq!(out, expected, "render"),
        (Err(e), Some(name)) => assert_eq!(e.0, name, "render's missing variable"),
        (got, unfilled) => panic!("render gave {got:?}; first unfilled: {unfilled:?}"),
    }
}

/// A lookup that, by the name's bytes, knows nothing, a blank, a value, or braces.
fn lookup(name: &str) -> Option<Cow<'static, str>> {
    match name.bytes().map(usize::from).sum::<usize>() % 4 {
        0 => None,
        1 => Some(Cow::Borrowed(" ")),
        2 => Some(Cow::Owned(format!("<{name}>"))),
        _ => Some(Cow::Owned(format!("{{{{{name}}}}}"))),
    }
}

/// The parts, in order, cover `t` exactly: text verbatim, each variable as `{{`, blanks,
/// its (trimmed) name, blanks, `}}`. Text before a variable holds no `{{`; trailing text
/// holds no complete `{{…}}`.
fn check_tiling(t: &str, parts: &[Part<'_>]) {
    let offset = |s: &str| s.as_ptr() as usize - t.as_ptr() as usize;
    let mut pos = 0;
    for (i, part) in parts.iter().enumerate() {
        match *part {
            Part::Text(s) => {
                assert_eq!(offset(s), pos, "text out of place");
                assert!(!s.is_empty(), "an empty text part");
                let last = i + 1 == parts.len();
                match s.find("{{") {
                    Some(open) if last => assert!(!s[open + 2..].contains("}}"), "missed {s:?}"),
                    Some(_) => panic!("text before a variable holds a {{{{: {s:?}"),
                    None => {}
                }
                pos += s.len();
            }
            Part::Var(name) => {
                let at = offset(name);
                let before = &t[pos..at];
                assert!(before.starts_with("{{"), "variable without {{{{");
                assert!(before[2..].trim().is_empty(), "{before:?} before {name:?}");
                assert_eq!(name, name.trim());
                assert!(!name.contains("}}"));
                pos = at + name.len();
                let close = t[pos..].find("}}").expect("variable without }}");
                assert!(t[pos..pos + close].trim().is_empty());
                pos += close + 2;
            }
        }
    }
    assert_eq!(pos, t.len(), "the parts do not reach the end");
}

/// What E.164 as Parley defines it accepts: `+`, a non-zero digit, 8 to 15 digits in all.
fn is_e164(s: &str) -> bool {
    s.strip_prefix('+').is_some_and(|d| {
        (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
    })
}

/// Any text as a phone number: `parse` accepts exactly E.164, keeps it verbatim, names
/// the first rule broken, and agrees with serde and with `parse_lenient`.
pub fn phone(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    let s = s.as_ref();
    let parsed = PhoneNumber::parse(s);
    assert_eq!(parsed.is_ok(), is_e164(s), "parse({s:?}) = {parsed:?}");
    let json = serde_json::to_string(s).expect("a string serializes");
    let from_json = serde_json::from_str::<PhoneNumber>(&json);
    assert_eq!(
        from_json.ok(),
        parsed.clone().ok(),
        "serde disagrees with parse"
    );
    match &parsed {
        Ok(p) => {
            assert_eq!(p.as_str(), s);
            assert_eq!(p.to_string(), s);
            assert_eq!(serde_json::to_string(p).ok(), Some(json));
            assert_eq!(PhoneNumber::parse_lenient(s).as_ref(), Ok(p));
        }
        Err(e) => assert_eq!(*e, first_broken_rule(s), "for {s:?}"),
    }
    let trimmed = s.trim();
    let with_plus = if trimmed.starts_with('+') {
        trimmed.to_owned()
    } else {
        format!("+{trimmed}")
    };
    match PhoneNumber::parse_lenient(s) {
        Ok(p) => {
            assert_eq!(p.as_str(), with_plus);
            assert!(is_e164(p.as_str()));
        }
        Err(_) => assert!(!is_e164(&with_plus), "parse_lenient refused {s:?}"),
    }
}

fn first_broken_rule(s: &str) -> PhoneError {
    let Some(d) = s.strip_prefix('+') else {
        return PhoneError::MissingPlus;
    };
    if d.is_empty() || !d.bytes().all(|b| b.is_ascii_digit()) {
        PhoneError::NotDigits
    } else if d.starts_with('0') {
        PhoneError::LeadingZero
    } else {
        PhoneError::BadLength
    }
}

const SEGMENT_SEPTETS: u32 = 160;
const PART_SEPTETS: u32 = 153;
const SEGMENT_UNITS: u32 = 70;

/// Any text through the segment counter. The encoding is GSM-7 exactly when every
/// character alone is; a GSM-7 count matches packing the characters' septets whole into
/// 153-septet parts (one 160-septet segment if it all fits); a UCS-2 count has the UTF-16
/// length and is one segment exactly when that fits 70 units.
pub fn segments(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let c = segments::count(&text);
    assert_eq!(Encoding::parse(c.encoding.as_str()), Some(c.encoding));
    assert!(c.segments >= 1, "no segment at all");
    let mut buf = [0u8; 4];
    let singles: Vec<_> = text
        .chars()
        .map(|ch| segments::count(ch.encode_utf8(&mut buf)))
        .collect();
    let all_gsm = singles.iter().all(|s| s.encoding == Encoding::Gsm7);
    assert_eq!(
        c.encoding == Encoding::Gsm7,
        all_gsm,
        "encoding of {text:?}"
    );
    match c.encoding {
        Encoding::Gsm7 => {
            let septets: Vec<u32> = singles.iter().map(|s| s.units).collect();
            assert!(
                septets.iter().all(|&s| s == 1 || s == 2),
                "a GSM-7 character"
            );
            assert_eq!(c.units, septets.iter().sum::<u32>(), "septets of {text:?}");
            let expected = if c.units <= SEGMENT_SEPTETS {
                1
            } else {
                pack(&septets, PART_SEPTETS)
            };
            assert_eq!(c.segments, expected, "GSM-7 segments of {text:?}");
        }
        Encoding::Ucs2 => {
            assert_eq!(
                c.units as usize,
                text.encode_utf16().count(),
                "UTF-16 units"
            );
            assert_eq!(c.segments == 1, c.units <= SEGMENT_UNITS, "{text:?}: {c:?}");
            // Each part but a first emptied by a giant grapheme cluster holds a character.
            assert!(c.segments as usize <= singles.len() + 1, "{text:?}: {c:?}");
        }
    }
}

/// Parts needed to pack `sizes` in order, whole, into parts of `capacity`.
fn pack(sizes: &[u32], capacity: u32) -> u32 {
    let (mut parts, mut used) = (1, 0);
    for &size in sizes {
        if used + size > capacity {
            parts += 1;
            used = 0;
        }
        used += size;
    }
    parts
}
