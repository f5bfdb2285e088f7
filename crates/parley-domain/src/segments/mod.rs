//! SMS encoding detection and segment counting.
//!
//! The reference is Twilio's segment calculator (npm `sms-segments-calculator@1.3.0`);
//! `tests/segments_oracle.rs` replays its answers (regenerate with `scripts/oracles/segments.sh`).
//! Its model, which we follow exactly:
//!
//! * GSM-7 iff every character is in the calculator's GSM 03.38 table; the extension
//!   characters (`^{}\[~]|€` and form feed) cost two septets (escape + code). Anything else
//!   (tab, `ç`, `` ` ``, smart quotes, NBSP, Greek capitals that look Latin such as `Α`,
//!   emoji) forces UCS-2 for the whole message. CR LF stays GSM-7.
//! * A segment is 140 octets (1120 bits). As soon as a second one is needed every segment
//!   also carries a 6-octet User Data Header, leaving 1072 bits: 153 septets or 67 UTF-16 units.
//! * Characters are packed whole, in order. A two-septet extension character never straddles
//!   two parts (that part then holds only 152 septets) and, in UCS-2, a whole grapheme cluster
//!   (emoji + skin tone, ZWJ family, flag, letter + combining marks) moves to the next part
//!   rather than being cut, so surrogate pairs are never split either.
//!
//! The calculator finds grapheme clusters with `grapheme-splitter@1.0.4` (Unicode 10 rules),
//! so the break rules and tables below are a port of that, quirks included: newer ZWJ emoji
//! (e.g. 🧑‍🤝‍🧑) fall apart at the ZWJ there and hence here. Differences only ever show when a
//! cluster straddles a part boundary. Deliberately left out: marks of historic scripts
//! outside the BMP, and the Extend/SpacingMark distinction (it only matters before a skin
//! tone modifier).

mod graphemes;

use graphemes::Graphemes;

use serde::{Deserialize, Serialize};

/// The character set a message is sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Encoding {
    #[serde(rename = "GSM-7")]
    Gsm7,
    #[serde(rename = "UCS-2")]
    Ucs2,
}

impl Encoding {
    /// Canonical name, as Twilio and the calculator spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Gsm7 => "GSM-7",
            Encoding::Ucs2 => "UCS-2",
        }
    }

    /// Inverse of [`Encoding::as_str`]; exact match only, like the serde names.
    pub fn parse(s: &str) -> Option<Encoding> {
        match s {
            "GSM-7" => Some(Encoding::Gsm7),
            "UCS-2" => Some(Encoding::Ucs2),
            _ => None,
        }
    }
}

/// How a message body will be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentCount {
    pub encoding: Encoding,
    /// Number of SMS parts (billing units). Empty text is one (empty) GSM-7 segment.
    pub segments: u32,
    /// Septets for GSM-7 (extension characters count 2), UTF-16 code units for UCS-2.
    pub units: u32,
}

const SEGMENT_BITS: u32 = 140 * 8;
const UDH_BITS: u32 = 6 * 8;

/// Encoding and segment count of `text`.
pub fn count(text: &str) -> SegmentCount {
    if text.chars().all(|c| gsm_septets(c).is_some()) {
        let septets = text.chars().filter_map(gsm_septets);
        SegmentCount {
            encoding: Encoding::Gsm7,
            units: septets.clone().sum(),
            segments: pack(septets.map(|s| s * 7)),
        }
    } else {
        SegmentCount {
            encoding: Encoding::Ucs2,
            units: text.encode_utf16().count() as u32,
            segments: pack(Graphemes(text.chars().peekable()).map(|units| units * 16)),
        }
    }
}

/// Septets `c` costs in GSM-7 (table as in the calculator), `None` if it is not GSM-7.
fn gsm_septets(c: char) -> Option<u32> {
    match c {
        '\u{0C}' | '[' | '\\' | ']' | '^' | '{' | '|' | '}' | '~' | '€' => Some(2),
        '\n' | '\r' | ' '..='Z' | '_' | 'a'..='z' => Some(1),
        '¡' | '£' | '¤' | '¥' | '§' | '¿' | 'Ä' | 'Å' | 'Æ' | 'Ç' | 'É' | 'Ñ' | 'Ö' | 'Ø' | 'Ü'
        | 'ß' | 'à' | 'ä' | 'å' | 'æ' | 'è' | 'é' | 'ì' | 'ñ' | 'ò' | 'ö' | 'ø' | 'ù' | 'ü' => {
            Some(1)
        }
        'Γ' | 'Δ' | 'Θ' | 'Λ' | 'Ξ' | 'Π' | 'Σ' | 'Φ' | 'Ψ' | 'Ω' => Some(1),
        _ => None,
    }
}

/// Number of segments for characters of the given sizes in bits, packed the way the
/// calculator does: fill segment 1 up to 1120 bits; when something no longer fits, segment 1
/// gains its header and whatever that pushes out moves to segment 2 ahead of the new
/// character. Later segments start with their header. A character larger than a segment still
/// goes in whole (it can only be a giant grapheme cluster), overfilling that segment.
fn pack(sizes: impl Iterator<Item = u32>) -> u32 {
    let mut first: Vec<u32> = Vec::new(); // sizes in segment 1 while it is the only one
    let mut first_bits = 0;
    let mut segments = 1;
    let mut current_bits = 0; // bits in the last segment once there are several
    for size in sizes {
        if segments == 1 {
            if first_bits + size <= SEGMENT_BITS {
                first.push(size);
                first_bits += size;
                continue;
            }
            segments = 2;
            first_bits += UDH_BITS;
            let mut moved = 0;
            while first_bits > SEGMENT_BITS {
                let last = first.pop().unwrap_or(0);
                first_bits -= last;
                moved += last;
            }
            current_bits = UDH_BITS + moved + size;
        } else if current_bits + size > SEGMENT_BITS {
            segments += 1;
            current_bits = UDH_BITS + size;
        } else {
            current_bits += size;
        }
    }
    segments
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn seg(text: &str) -> (Encoding, u32, u32) {
        let c = count(text);
        (c.encoding, c.segments, c.units)
    }

    #[test]
    fn gsm7_limits() {
        use Encoding::Gsm7;
        assert_eq!(seg(""), (Gsm7, 1, 0)); // the calculator: one empty GSM-7 segment
        assert_eq!(seg(&"a".repeat(160)), (Gsm7, 1, 160));
        assert_eq!(seg(&"a".repeat(161)), (Gsm7, 2, 161));
        assert_eq!(seg(&"a".repeat(306)), (Gsm7, 2, 306));
        assert_eq!(seg(&"a".repeat(307)), (Gsm7, 3, 307));
        assert_eq!(seg(&"€".repeat(80)), (Gsm7, 1, 160));
        assert_eq!(seg(&format!("{}\u{0C}", "a".repeat(159))), (Gsm7, 2, 161));
        // 306 septets would fit two parts, but the € cannot straddle septets 153/154.
        let a = "a".repeat(152);
        assert_eq!(seg(&format!("{a}€{a}")), (Gsm7, 3, 306));
        assert_eq!(seg("line1\r\nline2 Ç ΔΦΓΛΩΠΨΣΘΞ @£$¥"), (Gsm7, 1, 30));
    }

    #[test]
    fn ucs2_limits() {
        use Encoding::Ucs2;
        assert_eq!(seg(&"ж".repeat(70)), (Ucs2, 1, 70));
        assert_eq!(seg(&"ж".repeat(71)), (Ucs2, 2, 71));
        assert_eq!(seg(&"ж".repeat(134)), (Ucs2, 2, 134));
        assert_eq!(seg(&"ж".repeat(135)), (Ucs2, 3, 135));
        for not_gsm in ["ç", "\t", "\u{A0}", "’", "`", "Α", "e\u{301}", "\u{1B}"] {
            assert_eq!(count(not_gsm).encoding, Ucs2, "{not_gsm:?}");
        }
        // A surrogate pair at units 67/68 moves whole to the next part.
        let z = "ж".repeat(66);
        assert_eq!(seg(&format!("{z}😀{z}")), (Ucs2, 3, 134));
        assert_eq!(seg(&"😀".repeat(35)), (Ucs2, 1, 70));
        assert_eq!(seg(&"😀".repeat(67)), (Ucs2, 3, 134)); // 33 emoji per part

        // So does a whole ZWJ family (11 units) that would straddle the boundary.
        let fam = |before: usize, after: usize| {
            let z = |n| "ж".repeat(n);
            seg(&format!(
                "{}👨\u{200D}👩\u{200D}👧\u{200D}👦{}",
                z(before),
                z(after)
            ))
        };
        assert_eq!(fam(60, 63), (Ucs2, 3, 134));
        assert_eq!(fam(56, 67), (Ucs2, 2, 134));
    }

    #[test]
    fn grapheme_clusters() {
        let lens = |s: &str| Graphemes(s.chars().peekable()).collect::<Vec<_>>();
        assert_eq!(lens("a\r\nb"), [1, 1, 1, 1]);
        assert_eq!(lens("🇺🇸🇫🇷🇦"), [4, 4, 2]);
        assert_eq!(lens("👍🏽e\u{301}\u{302}"), [4, 3]);
        assert_eq!(lens("🏳\u{FE0F}\u{200D}🌈"), [6]);
        assert_eq!(lens("🧑\u{200D}🤝\u{200D}🧑"), [3, 3, 2]); // Unicode 10: 🤝 does not glue
        assert_eq!(lens("\u{1100}\u{1161}\u{11A8}한"), [3, 1]);
        assert_eq!(lens(&"\u{301}".repeat(5000)), [5000]);
    }

    #[test]
    fn encoding_names() {
        for e in [Encoding::Gsm7, Encoding::Ucs2] {
            assert_eq!(Encoding::parse(e.as_str()), Some(e));
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(json, format!("\"{}\"", e.as_str()));
            assert_eq!(serde_json::from_str::<Encoding>(&json).unwrap(), e);
        }
        assert_eq!(Encoding::parse("gsm7"), None);
    }

    const GSM: &[char] = &[
        'a', 'Z', '0', ' ', '@', 'Δ', 'é', '\n', '\r', '€', '{', '|', '\u{C}',
    ];
    const MIXED: &[&str] = &[
        "a", "€", "ж", "ç", "中", "😀", "🇺🇸", "👍🏽", "e\u{301}", "\r\n",
    ];

    fn text(alphabet: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(alphabet), 0..max).prop_map(|v| v.concat())
    }

    fn gsm_text(max: usize) -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(GSM), 0..max).prop_map(String::from_iter)
    }

    proptest! {
        #[test]
        fn basic_gsm_follows_the_formula(n in 0usize..2000) {
            let c = count(&"x".repeat(n));
            let expected = if n <= 160 { 1 } else { n.div_ceil(153) as u32 };
            prop_assert_eq!((c.encoding, c.segments, c.units), (Encoding::Gsm7, expected, n as u32));
        }

        #[test]
        fn gsm_parts_hold_152_or_153_septets(s in gsm_text(700)) {
            let c = count(&s);
            prop_assert_eq!(c.encoding, Encoding::Gsm7);
            prop_assert_eq!(c.segments == 1, c.units <= 160);
            if c.segments > 1 {
                prop_assert!(c.units <= 153 * c.segments && c.units > 152 * (c.segments - 1));
            }
        }

        #[test]
        fn single_segment_iff_it_fits(s in text(MIXED, 200)) {
            let c = count(&s);
            let limit = if c.encoding == Encoding::Gsm7 { 160 } else { 70 };
            prop_assert_eq!(c.segments == 1, c.units <= limit);
        }

        #[test]
        fn appending_never_reduces_segments(s in gsm_text(500), t in text(MIXED, 10)) {
            let (before, gsm_after, after) =
                (count(&s), count(&format!("{s}€a")), count(&format!("{s}{t}")));
            prop_assert!(gsm_after.segments >= before.segments);
            prop_assert!(after.segments >= before.segments);
        }

        #[test]
        fn ucs2_parts_hold_66_or_67_units(s in text(&["ж", "中", "😀", "a"], 400)) {
            let c = count(&s);
            if c.segments > 1 {
                prop_assert!(c.units <= 67 * c.segments && c.units > 66 * (c.segments - 1));
            }
        }
    }
}
