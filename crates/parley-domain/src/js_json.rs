//! JSON text exactly as JavaScript's `JSON.stringify` writes it.
//!
//! Bland's sample webhook receiver checks `X-Webhook-Signature` against
//! `JSON.stringify(req.body)`, i.e. the body parsed and written again by JavaScript. A body
//! verifies there only if that round trip gives back the same bytes, so Parley writes
//! bodies the way JavaScript would: compact; numbers as `Number.prototype.toString` prints
//! the double they parse to (`1`, never `1.0`; `1e+21`; integers beyond 2^53 rounded as
//! JavaScript rounds them); object keys that are array indices first in ascending numeric
//! order, then the others in their order (which is how JavaScript orders own properties);
//! strings escaped as `JSON.stringify` escapes them.

use serde_json::Value;

/// Serializes `v` as JavaScript's `JSON.stringify(JSON.parse(text))` would.
pub fn to_string(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v);
    out
}

fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(n)),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // JavaScript lists integer-index keys first, ascending, then string keys in
            // insertion order. A stable sort on "index or not, then its value" does that.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by_key(|(k, _)| match array_index(k) {
                Some(i) => (0, i),
                None => (1, 0),
            });
            out.push('{');
            for (i, (k, val)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_value(out, val);
            }
            out.push('}');
        }
    }
}

/// A key JavaScript treats as an array index: the canonical decimal form of an integer in
/// `0 ..= 2^32 - 2`.
fn array_index(k: &str) -> Option<u64> {
    if k.is_empty() || (k.len() > 1 && k.starts_with('0')) || !k.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    k.parse::<u64>().ok().filter(|i| *i <= 4_294_967_294)
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn number(n: &serde_json::Number) -> String {
    // JavaScript numbers are doubles: an integer beyond 2^53 is whatever double it parses to.
    if let Some(i) = n.as_i64() {
        if i.unsigned_abs() <= 1 << 53 {
            return i.to_string();
        }
    }
    if let Some(u) = n.as_u64() {
        if u <= 1 << 53 {
            return u.to_string();
        }
    }
    js_number(n.as_f64().unwrap_or(0.0))
}

/// `Number.prototype.toString()` of a finite double (ECMAScript's Number::toString).
pub fn js_number(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    if !x.is_finite() {
        // JSON.stringify writes non-finite numbers as null; serde_json never holds them.
        return "null".into();
    }
    let sign = if x < 0.0 { "-" } else { "" };
    // Rust's `{:e}` gives the shortest digits that round-trip: `d.ddde±N`.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i64;
    // n: the position of the decimal point relative to the digits (value = 0.digits × 10^n).
    let n = exp.parse::<i64>().unwrap_or(0) + 1;
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let e = if e >= 0 {
            format!("+{e}")
        } else {
            e.to_string()
        };
        if k == 1 {
            format!("{digits}e{e}")
        } else {
            format!("{}.{}e{e}", &digits[..1], &digits[1..])
        }
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    #[test]
    fn numbers_print_as_javascript_prints_them() {
        for (x, want) in [
            (1.0, "1"),
            (-2.5, "-2.5"),
            (0.1, "0.1"),
            (1e21, "1e+21"),
            (1.5e21, "1.5e+21"),
            (123456789012345680000.0, "123456789012345680000"),
            (1e-7, "1e-7"),
            (1.25e-7, "1.25e-7"),
            (0.000001, "0.000001"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
        ] {
            assert_eq!(js_number(x), want, "{x}");
        }
    }

    #[test]
    fn documents_are_compact_with_javascript_key_order() {
        let v: Value =
            serde_json::from_str(r#"{"b":1.0,"10":true,"a":[1,2.50,"x\u0001\n\"é"],"9":null}"#)
                .unwrap();
        assert_eq!(
            to_string(&v),
            r#"{"9":null,"10":true,"a":[1,2.5,"x\u0001\n\"é"],"b":1}"#
        );
        assert_eq!(to_string(&json!(9007199254740993u64)), "9007199254740992");
        assert_eq!(
            to_string(&json!({"01": 1, "4294967295": 2, "0": 3})),
            r#"{"0":3,"01":1,"4294967295":2}"#
        );
    }

    proptest! {
        #[test]
        fn numbers_round_trip_and_never_end_in_point_zero(x in any::<f64>().prop_filter("finite", |x| x.is_finite())) {
            let s = js_number(x);
            prop_assert_eq!(s.parse::<f64>().unwrap(), if x == 0.0 { 0.0 } else { x });
            prop_assert!(!s.ends_with(".0"));
            prop_assert!(!s.contains("e+") || x.abs() >= 1e21);
        }

        #[test]
        fn output_is_valid_json_with_the_same_value(s in "\\PC*", i in any::<i32>(), f in -1e6f64..1e6) {
            let v = json!({"s": s, "i": i, "f": f, "nested": [{"k": s}]});
            let text = to_string(&v);
            let back: Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(back["s"].as_str(), v["s"].as_str());
            prop_assert_eq!(back["i"].as_i64(), v["i"].as_i64());
            prop_assert_eq!(back["f"].as_f64(), v["f"].as_f64());
            prop_assert!(!text.contains(' ') || v["s"].as_str().unwrap().contains(' '));
        }
    }
}
