//! The batch file property the fuzzer checks, on every `cargo test`: for any bytes, the
//! upload's row count is the number of rows the chunked reader yields, for any chunk size,
//! and resuming at any reported offset yields the same rows (`checks::batch_csv`); a JSON
//! array comes back row for row (`checks::batch_json`).

use parley_domain::checks;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// Bytes built from the pieces that matter to CSV and JSON framing, so random files hit
/// quotes, line ends, BOMs and blank records far more often than uniform bytes would.
fn file() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(&b","[..]),
        Just(&b"\n"[..]),
        Just(&b"\r\n"[..]),
        Just(&b"\r"[..]),
        Just(&b"\""[..]),
        Just(&b" "[..]),
        Just(&b"\xEF\xBB\xBF"[..]),
        Just(&b"\xFF"[..]),
        Just(&b"+1555"[..]),
        Just(&b"phone_number"[..]),
        Just(&b"[{\"a\":"[..]),
        Just(&b"},{"[..]),
        Just(&b"}]"[..]),
        Just(&b"1.5e3"[..]),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|p| p.concat())
}

/// A JSON array of objects, as an uploader would write it (sometimes behind a BOM).
fn json_file() -> impl Strategy<Value = Vec<u8>> {
    let value = prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from), // NaN and infinities become null
        "\\PC{0,4}".prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
        Just(json!({"nested": [1, "two"]})),
    ];
    let object = prop::collection::btree_map("[a-z\"\\\\é]{0,3}", value, 0..4);
    (
        prop::collection::vec(object, 0..6),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(objects, bom, pretty)| {
            let array = Value::from_iter(
                objects
                    .into_iter()
                    .map(|o| Value::Object(o.into_iter().collect::<Map<_, _>>())),
            );
            let text = if pretty {
                serde_json::to_string_pretty(&array)
            } else {
                serde_json::to_string(&array)
            };
            let bom = if bom { "\u{feff}" } else { "" };
            format!("{bom}{}", text.unwrap()).into_bytes()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn csv_count_matches_rows_read(data in file()) {
        checks::batch_csv(&data);
    }

    #[test]
    fn json_arrays_read_back_row_for_row(data in prop_oneof![file(), json_file()]) {
        checks::batch_json(&data);
    }
}
