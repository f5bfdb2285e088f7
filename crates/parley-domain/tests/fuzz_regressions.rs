//! Replays every fuzz seed (`fuzz/corpus/<target>/`) and every kept crash
//! (`fuzz/regressions/<target>/`) through the same checks the fuzz targets run, so a fixed
//! crash stays fixed without cargo-fuzz or a nightly compiler.

use std::{fs, panic, path::Path};

use parley_domain::checks;

#[test]
fn fuzz_inputs_replay() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut failed = Vec::new();
    for (target, check) in checks::ALL {
        let mut seeds = 0;
        for kind in ["corpus", "regressions"] {
            let Ok(dir) = fs::read_dir(root.join(kind).join(target)) else {
                continue;
            };
            for entry in dir {
                let path = entry.unwrap().path();
                if !path.is_file() || path.file_name().is_some_and(|n| n == "README.md") {
                    continue;
                }
                let data = fs::read(&path).unwrap();
                seeds += usize::from(kind == "corpus");
                if panic::catch_unwind(|| check(&data)).is_err() {
                    failed.push(path.display().to_string());
                }
            }
        }
        assert!(seeds > 0, "no seeds for {target} in fuzz/corpus/{target}");
    }
    assert!(
        failed.is_empty(),
        "these inputs fail their check: {failed:#?}"
    );
}
