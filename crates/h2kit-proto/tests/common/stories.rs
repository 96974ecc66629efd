//! Loading the hpack-test-case stories from `../shared/hpack-test-case` (beside the checkout).
//! Shared by the tests and the benchmark (`#[path]`-included).
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

use serde_json::Value;

pub struct Case {
    /// SETTINGS_HEADER_TABLE_SIZE sent and acknowledged just before this case.
    pub table_size: Option<usize>,
    pub wire: Vec<u8>,
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
}

pub struct Story {
    pub path: PathBuf,
    pub cases: Vec<Case>,
}

/// `shared/hpack-test-case`, found beside the repository (`H2KIT_SHARED` overrides `shared/`).
pub fn root() -> PathBuf {
    let shared = std::env::var_os("H2KIT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let root = shared.join("hpack-test-case");
    assert!(
        root.join("raw-data").is_dir(),
        "hpack-test-case not found at {} (set H2KIT_SHARED to the shared/ folder)",
        root.display()
    );
    root
}

/// Every encoder's directory (all but `raw-data`), sorted.
pub fn encoder_dirs() -> Vec<String> {
    let mut dirs: Vec<String> = std::fs::read_dir(root())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "raw-data")
        .collect();
    dirs.sort();
    dirs
}

pub fn load_dir(dir: &str) -> Vec<Story> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths.into_iter().map(|p| load(&p)).collect()
}

pub fn load(path: &Path) -> Story {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            table_size: c["header_table_size"].as_u64().map(|n| n as usize),
            wire: c["wire"]
                .as_str()
                .map(|w| hex::decode(w).unwrap())
                .unwrap_or_default(),
            headers: c["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    let (k, v) = h.as_object().unwrap().iter().next().unwrap();
                    (
                        k.as_bytes().to_vec(),
                        v.as_str().unwrap().as_bytes().to_vec(),
                    )
                })
                .collect(),
        })
        .collect();
    Story {
        path: path.to_path_buf(),
        cases,
    }
}
