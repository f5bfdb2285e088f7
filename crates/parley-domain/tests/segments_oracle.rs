//! Replays Twilio's segment calculator (`sms-segments-calculator@1.3.0`) over a corpus of
//! hard cases. The expected answers are generated, never edited by hand:
//! `scripts/oracles/segments.sh` rebuilds `expected.jsonl` from `corpus.jsonl`.

use parley_domain::segments::{count, Encoding};
use serde::Deserialize;

#[derive(Deserialize)]
struct Expected {
    text: String,
    enc: Encoding,
    segs: u32,
}

fn data(name: &str) -> String {
    let path = format!("{}/tests/data/segments/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// JSON Lines; splitting on '\n' only, as the generator did (U+2028 is data, not a break).
fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n').filter(|l| !l.is_empty())
}

#[test]
fn matches_twilio_segment_calculator() {
    let corpus: Vec<String> = lines(&data("corpus.jsonl"))
        .map(|l| serde_json::from_str(l).expect("corpus line is a JSON string"))
        .collect();
    let expected: Vec<Expected> = lines(&data("expected.jsonl"))
        .map(|l| serde_json::from_str(l).expect("expected line is {text, enc, segs}"))
        .collect();
    assert_eq!(
        corpus.len(),
        expected.len(),
        "regenerate expected.jsonl from corpus.jsonl"
    );
    assert!(
        corpus.len() >= 150,
        "corpus unexpectedly small: {}",
        corpus.len()
    );

    let mut mismatches = Vec::new();
    for (line, (text, want)) in corpus.iter().zip(&expected).enumerate() {
        assert_eq!(
            text,
            &want.text,
            "line {}: corpus and expected out of step",
            line + 1
        );
        let got = count(text);
        if (got.encoding, got.segments) != (want.enc, want.segs) {
            let shown: String = text.chars().take(60).collect();
            mismatches.push(format!(
                "line {}: {shown:?} ({} chars): calculator {} x{}, ours {} x{} ({} units)",
                line + 1,
                text.chars().count(),
                want.enc.as_str(),
                want.segs,
                got.encoding.as_str(),
                got.segments,
                got.units,
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} cases differ from the calculator:\n{}",
        mismatches.len(),
        corpus.len(),
        mismatches.join("\n")
    );
}
