//! The languages the bot speaks are the catalogue files in `locales/`: adding `locales/de.ftl`
//! adds German, with no other change. This script writes `languages.rs` into `OUT_DIR`: the
//! `Language` enum (one variant a file, named by the file's primary language subtag) and the
//! text of each file, compiled into the binary. `src/domain/language.rs` includes it.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=locales");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    let mut codes: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.expect("a directory entry").path();
            let stem = path.file_stem()?.to_str()?.to_string();
            (path.extension()? == "ftl").then_some(stem)
        })
        .collect();
    codes.sort();
    for code in &codes {
        let subtag = (2..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase());
        assert!(
            subtag,
            "locales/{code}.ftl: a catalogue is named by its language's primary subtag in \
             lowercase (two or three letters), such as nl.ftl"
        );
    }
    assert!(
        codes.iter().any(|c| c == "en"),
        "locales/en.ftl is missing: English is the default language and the reference catalogue"
    );
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("languages.rs");
    std::fs::write(&out, generate(&dir, &codes)).expect("write languages.rs");
}

/// The enum and its catalogues, as Rust source.
fn generate(dir: &Path, codes: &[String]) -> String {
    let variant = |code: &str| {
        let mut chars = code.chars();
        let first = chars.next().expect("a code").to_ascii_uppercase();
        format!("{first}{}", chars.as_str())
    };
    let mut src = String::from(
        "setting_enum!(\n    /// A language the message catalogue has a file for (`locales/<word>.ftl`), by the\n    \
         /// word settings write (`bot.language = \"nl\"`).\n    Language {\n",
    );
    for code in codes {
        src.push_str(&format!(
            "        /// `locales/{code}.ftl`.\n        {} => \"{code}\",\n",
            variant(code)
        ));
    }
    src.push_str("    }\n);\n\nimpl Language {\n    /// The text of its catalogue file.\n    pub fn catalogue(self) -> &'static str {\n        match self {\n");
    for code in codes {
        let path = dir.join(format!("{code}.ftl"));
        src.push_str(&format!(
            "            Language::{} => include_str!({:?}),\n",
            variant(code),
            path.display().to_string()
        ));
    }
    src.push_str("        }\n    }\n}\n");
    src
}
