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

/// Grapheme_Cluster_Break classes of Unicode 10 (Extend and SpacingMark merged as `Mark`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gb {
    Cr,
    Lf,
    Control,
    Mark,
    Zwj,
    Prepend,
    Ri,
    L,
    V,
    T,
    Lv,
    Lvt,
    EBase,
    EBaseGaz,
    EModifier,
    GlueAfterZwj,
    Other,
}

/// Iterates the UTF-16 length of each grapheme cluster.
struct Graphemes<'a>(std::iter::Peekable<std::str::Chars<'a>>);

impl Iterator for Graphemes<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let first = self.0.next()?;
        let mut cluster = Cluster::new(class(first));
        let mut units = first.len_utf16() as u32;
        while let Some(&c) = self.0.peek() {
            let next = class(c);
            if cluster.breaks_before(next) {
                break;
            }
            cluster.push(next);
            units += c.len_utf16() as u32;
            self.0.next();
        }
        Some(units)
    }
}

/// What grapheme-splitter's `shouldBreak(start, mid, next)` looks at, kept as running
/// summaries so a long run of combining marks stays linear instead of quadratic.
struct Cluster {
    start: Gb,
    mid_len: usize,
    prev: Gb,          // last class in the cluster
    prev2: Option<Gb>, // the one before it
    mid_all_mark: bool,
    any_mark: bool,      // start included
    mid_ri_lead: usize,  // leading run of RIs in mid
    mid_ri_later: bool,  // an RI in mid after a non-RI
    mid_lead_done: bool, // a non-RI has been seen in mid
}

impl Cluster {
    fn new(start: Gb) -> Self {
        Cluster {
            start,
            mid_len: 0,
            prev: start,
            prev2: None,
            mid_all_mark: true,
            any_mark: start == Gb::Mark,
            mid_ri_lead: 0,
            mid_ri_later: false,
            mid_lead_done: false,
        }
    }

    fn push(&mut self, next: Gb) {
        self.mid_len += 1;
        self.prev2 = Some(self.prev);
        self.prev = next;
        self.mid_all_mark &= next == Gb::Mark;
        self.any_mark |= next == Gb::Mark;
        match (next == Gb::Ri, self.mid_lead_done) {
            (true, false) => self.mid_ri_lead += 1,
            (true, true) => self.mid_ri_later = true,
            (false, _) => self.mid_lead_done = true,
        }
    }

    /// grapheme-splitter's rules, in its order. CR LF (GB3) is absent on purpose: the
    /// calculator splits "\r\n" back into two characters, which keeps CRLF text GSM-7.
    fn breaks_before(&self, next: Gb) -> bool {
        use Gb::*;
        let (start, prev) = (self.start, self.prev);
        let emoji_base = |g: Option<Gb>| matches!(g, Some(EBase | EBaseGaz));
        // GB10 look-ahead terminator: Marks not preceded by an emoji base, then a modifier.
        if next == EModifier
            && self.mid_len > 0
            && self.mid_all_mark
            && !matches!(start, Mark | EBase | EBaseGaz)
        {
            return true;
        }
        // GB12/13 look-ahead terminators (regional indicator pairs).
        if next == Ri && self.mid_len == 0 && !matches!(start, Ri | Prepend) {
            return true;
        }
        let mid_has_ri = self.mid_ri_lead > 0 || self.mid_ri_later;
        if next != Ri && self.mid_ri_lead > 0 && !self.mid_ri_later && !matches!(prev, Prepend | Ri)
        {
            return true;
        }
        match (prev, next) {
            (Control | Cr | Lf, _) | (_, Control | Cr | Lf) => return true, // GB4, GB5
            (L, L | V | Lv | Lvt) | (Lv | V, V | T) | (Lvt | T, T) => return false, // GB6-8
            (_, Mark | Zwj) | (Prepend, _) => return false,                 // GB9, GB9a, GB9b
            _ => {}
        }
        // GB10 as grapheme-splitter implements it: at most one Mark between base and modifier.
        if next == EModifier
            && ((!self.any_mark && emoji_base(Some(prev)))
                || (prev == Mark && emoji_base(self.prev2)))
        {
            return false;
        }
        if prev == Zwj && matches!(next, GlueAfterZwj | EBaseGaz) {
            return false; // GB11
        }
        if mid_has_ri {
            return true;
        }
        !(prev == Ri && next == Ri) // GB12/13, else GB999
    }
}

fn class(c: char) -> Gb {
    let cp = c as u32;
    // Tables are sorted, disjoint ranges.
    let in_table = |table: &[(u32, u32)]| {
        let i = table.partition_point(|&(_, hi)| hi < cp);
        table.get(i).is_some_and(|&(lo, _)| lo <= cp)
    };
    match cp {
        0x0D => Gb::Cr,
        0x0A => Gb::Lf,
        0x200D => Gb::Zwj,
        0x1F1E6..=0x1F1FF => Gb::Ri,
        0x1F3FB..=0x1F3FF => Gb::EModifier,
        0x1F466..=0x1F469 => Gb::EBaseGaz,
        0x1100..=0x115F | 0xA960..=0xA97C => Gb::L,
        0x1160..=0x11A7 | 0xD7B0..=0xD7C6 => Gb::V,
        0x11A8..=0x11FF | 0xD7CB..=0xD7FB => Gb::T,
        // Precomposed Hangul: every 28th syllable has no final consonant.
        0xAC00..=0xD7A3 => match (cp - 0xAC00) % 28 {
            0 => Gb::Lv,
            _ => Gb::Lvt,
        },
        _ if in_table(MARK) => Gb::Mark,
        _ if in_table(CONTROL) => Gb::Control,
        _ if in_table(PREPEND) => Gb::Prepend,
        _ if in_table(E_BASE) => Gb::EBase,
        _ if in_table(GLUE_AFTER_ZWJ) => Gb::GlueAfterZwj,
        _ => Gb::Other,
    }
}

// ranges merged. See the module docs for what was left out.
#[rustfmt::skip]
const MARK: &[(u32, u32)] = &[
    (0x0300, 0x036F), (0x0483, 0x0489), (0x0591, 0x05BD), (0x05BF, 0x05BF), (0x05C1, 0x05C2),
    (0x05C4, 0x05C5), (0x05C7, 0x05C7), (0x0610, 0x061A), (0x064B, 0x065F), (0x0670, 0x0670),
    (0x06D6, 0x06DC), (0x06DF, 0x06E4), (0x06E7, 0x06E8), (0x06EA, 0x06ED), (0x0711, 0x0711),
    (0x0730, 0x074A), (0x07A6, 0x07B0), (0x07EB, 0x07F3), (0x0816, 0x0819), (0x081B, 0x0823),
    (0x0825, 0x0827), (0x0829, 0x082D), (0x0859, 0x085B), (0x08D4, 0x08E1), (0x08E3, 0x0903),
    (0x093A, 0x093C), (0x093E, 0x094F), (0x0951, 0x0957), (0x0962, 0x0963), (0x0981, 0x0983),
    (0x09BC, 0x09BC), (0x09BE, 0x09C4), (0x09C7, 0x09C8), (0x09CB, 0x09CD), (0x09D7, 0x09D7),
    (0x09E2, 0x09E3), (0x0A01, 0x0A03), (0x0A3C, 0x0A3C), (0x0A3E, 0x0A42), (0x0A47, 0x0A48),
    (0x0A4B, 0x0A4D), (0x0A51, 0x0A51), (0x0A70, 0x0A71), (0x0A75, 0x0A75), (0x0A81, 0x0A83),
    (0x0ABC, 0x0ABC), (0x0ABE, 0x0AC5), (0x0AC7, 0x0AC9), (0x0ACB, 0x0ACD), (0x0AE2, 0x0AE3),
    (0x0AFA, 0x0AFF), (0x0B01, 0x0B03), (0x0B3C, 0x0B3C), (0x0B3E, 0x0B44), (0x0B47, 0x0B48),
    (0x0B4B, 0x0B4D), (0x0B56, 0x0B57), (0x0B62, 0x0B63), (0x0B82, 0x0B82), (0x0BBE, 0x0BC2),
    (0x0BC6, 0x0BC8), (0x0BCA, 0x0BCD), (0x0BD7, 0x0BD7), (0x0C00, 0x0C03), (0x0C3E, 0x0C44),
    (0x0C46, 0x0C48), (0x0C4A, 0x0C4D), (0x0C55, 0x0C56), (0x0C62, 0x0C63), (0x0C81, 0x0C83),
    (0x0CBC, 0x0CBC), (0x0CBE, 0x0CC4), (0x0CC6, 0x0CC8), (0x0CCA, 0x0CCD), (0x0CD5, 0x0CD6),
    (0x0CE2, 0x0CE3), (0x0D00, 0x0D03), (0x0D3B, 0x0D3C), (0x0D3E, 0x0D44), (0x0D46, 0x0D48),
    (0x0D4A, 0x0D4D), (0x0D57, 0x0D57), (0x0D62, 0x0D63), (0x0D82, 0x0D83), (0x0DCA, 0x0DCA),
    (0x0DCF, 0x0DD4), (0x0DD6, 0x0DD6), (0x0DD8, 0x0DDF), (0x0DF2, 0x0DF3), (0x0E31, 0x0E31),
    (0x0E33, 0x0E3A), (0x0E47, 0x0E4E), (0x0EB1, 0x0EB1), (0x0EB3, 0x0EB9), (0x0EBB, 0x0EBC),
    (0x0EC8, 0x0ECD), (0x0F18, 0x0F19), (0x0F35, 0x0F35), (0x0F37, 0x0F37), (0x0F39, 0x0F39),
    (0x0F3E, 0x0F3F), (0x0F71, 0x0F84), (0x0F86, 0x0F87), (0x0F8D, 0x0F97), (0x0F99, 0x0FBC),
    (0x0FC6, 0x0FC6), (0x102D, 0x1037), (0x1039, 0x103E), (0x1056, 0x1059), (0x105E, 0x1060),
    (0x1071, 0x1074), (0x1082, 0x1082), (0x1084, 0x1086), (0x108D, 0x108D), (0x109D, 0x109D),
    (0x135D, 0x135F), (0x1712, 0x1714), (0x1732, 0x1734), (0x1752, 0x1753), (0x1772, 0x1773),
    (0x17B4, 0x17D3), (0x17DD, 0x17DD), (0x180B, 0x180D), (0x1885, 0x1886), (0x18A9, 0x18A9),
    (0x1920, 0x192B), (0x1930, 0x193B), (0x1A17, 0x1A1B), (0x1A55, 0x1A5E), (0x1A60, 0x1A60),
    (0x1A62, 0x1A62), (0x1A65, 0x1A7C), (0x1A7F, 0x1A7F), (0x1AB0, 0x1ABE), (0x1B00, 0x1B04),
    (0x1B34, 0x1B44), (0x1B6B, 0x1B73), (0x1B80, 0x1B82), (0x1BA1, 0x1BAD), (0x1BE6, 0x1BF3),
    (0x1C24, 0x1C37), (0x1CD0, 0x1CD2), (0x1CD4, 0x1CE8), (0x1CED, 0x1CED), (0x1CF2, 0x1CF4),
    (0x1CF7, 0x1CF9), (0x1DC0, 0x1DF9), (0x1DFB, 0x1DFF), (0x200C, 0x200C), (0x20D0, 0x20F0),
    (0x2CEF, 0x2CF1), (0x2D7F, 0x2D7F), (0x2DE0, 0x2DFF), (0x302A, 0x302F), (0x3099, 0x309A),
    (0xA66F, 0xA672), (0xA674, 0xA67D), (0xA69E, 0xA69F), (0xA6F0, 0xA6F1), (0xA802, 0xA802),
    (0xA806, 0xA806), (0xA80B, 0xA80B), (0xA823, 0xA827), (0xA880, 0xA881), (0xA8B4, 0xA8C5),
    (0xA8E0, 0xA8F1), (0xA926, 0xA92D), (0xA947, 0xA953), (0xA980, 0xA983), (0xA9B3, 0xA9C0),
    (0xA9E5, 0xA9E5), (0xAA29, 0xAA36), (0xAA43, 0xAA43), (0xAA4C, 0xAA4D), (0xAA7C, 0xAA7C),
    (0xAAB0, 0xAAB0), (0xAAB2, 0xAAB4), (0xAAB7, 0xAAB8), (0xAABE, 0xAABF), (0xAAC1, 0xAAC1),
    (0xAAEB, 0xAAEF), (0xAAF5, 0xAAF6), (0xABE3, 0xABEA), (0xABEC, 0xABED), (0xFB1E, 0xFB1E),
    (0xFE00, 0xFE0F), (0xFE20, 0xFE2F), (0xFF9E, 0xFF9F), (0xE0020, 0xE007F), (0xE0100, 0xE01EF),
];
#[rustfmt::skip]
const CONTROL: &[(u32, u32)] = &[
    (0x0000, 0x0009), (0x000B, 0x000C), (0x000E, 0x001F), (0x007F, 0x009F), (0x00AD, 0x00AD),
    (0x061C, 0x061C), (0x180E, 0x180E), (0x200B, 0x200B), (0x200E, 0x200F), (0x2028, 0x202E),
    (0x2060, 0x206F), (0xFEFF, 0xFEFF), (0xFFF0, 0xFFFB), (0xE0000, 0xE001F), (0xE0080, 0xE00FF),
    (0xE01F0, 0xE0FFF),
];
#[rustfmt::skip]
const PREPEND: &[(u32, u32)] = &[
    (0x0600, 0x0605), (0x06DD, 0x06DD), (0x070F, 0x070F), (0x08E2, 0x08E2), (0x0D4E, 0x0D4E),
];
#[rustfmt::skip]
const E_BASE: &[(u32, u32)] = &[
    (0x261D, 0x261D), (0x26F9, 0x26F9), (0x270A, 0x270D), (0x1F385, 0x1F385), (0x1F3C2, 0x1F3C4),
    (0x1F3C7, 0x1F3C7), (0x1F3CA, 0x1F3CC), (0x1F442, 0x1F443), (0x1F446, 0x1F450),
    (0x1F46E, 0x1F46E), (0x1F470, 0x1F478), (0x1F47C, 0x1F47C), (0x1F481, 0x1F483),
    (0x1F485, 0x1F487), (0x1F4AA, 0x1F4AA), (0x1F574, 0x1F575), (0x1F57A, 0x1F57A),
    (0x1F590, 0x1F590), (0x1F595, 0x1F596), (0x1F645, 0x1F647), (0x1F64B, 0x1F64F),
    (0x1F6A3, 0x1F6A3), (0x1F6B4, 0x1F6B6), (0x1F6C0, 0x1F6C0), (0x1F6CC, 0x1F6CC),
    (0x1F918, 0x1F91C), (0x1F91E, 0x1F91F), (0x1F926, 0x1F926), (0x1F930, 0x1F939),
    (0x1F93D, 0x1F93E), (0x1F9D1, 0x1F9DD),
];
#[rustfmt::skip]
const GLUE_AFTER_ZWJ: &[(u32, u32)] = &[
    (0x2640, 0x2640), (0x2642, 0x2642), (0x2695, 0x2696), (0x2708, 0x2708), (0x2764, 0x2764),
    (0x1F308, 0x1F308), (0x1F33E, 0x1F33E), (0x1F373, 0x1F373), (0x1F393, 0x1F393),
    (0x1F3A4, 0x1F3A4), (0x1F3A8, 0x1F3A8), (0x1F3EB, 0x1F3EB), (0x1F3ED, 0x1F3ED),
    (0x1F48B, 0x1F48B), (0x1F4BB, 0x1F4BC), (0x1F527, 0x1F527), (0x1F52C, 0x1F52C),
    (0x1F5E8, 0x1F5E8), (0x1F680, 0x1F680), (0x1F692, 0x1F692),
];

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
