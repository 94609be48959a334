//! Lexer, section parser, keyword registry and post-parse checks on
//! arbitrary configuration text: whatever the input, no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rproxy::config::{LoadOptions, load_sources};

fuzz_target!(|data: &[u8]| {
    let opts = LoadOptions {
        env: [("HOME".to_string(), "/root".to_string())].into(),
        check_system: false,
        ..LoadOptions::default()
    };
    let loaded = load_sources(&[("fuzz.cfg".to_string(), data.to_vec())], opts);
    for d in loaded.diags.iter() {
        let _ = d.render(1);
    }
    let _ = rproxy::config::modernize::rewrite(&String::from_utf8_lossy(data));
});
