//! The source layout keeps its promises (docs/architecture.md): dependencies between modules
//! point one way (no import cycle among the modules of any crate), the connection task and
//! the primitives under it name no role, `unsafe` stays in the primitives, and no source file
//! grows past 800 lines.
//!
//! Module references are read from the source text: every `crate::…` and `super::…` path,
//! including those inside `use crate::{…}` groups, resolved to the deepest module that exists.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A crate's modules (as paths of names) and, for each, the modules its code refers to.
struct Crate {
    files: BTreeMap<Vec<String>, PathBuf>,
    refs: BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `src/a/b.rs` and `src/a/b/mod.rs` are module `a::b`; `lib.rs` and `main.rs` the root.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The code of a file without its comments (so prose naming a module is not a reference).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The paths (as name lists) a file refers to through `crate::` or `super::`, made absolute.
fn references(module: &[String], text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let start_ok = i == 0 || !is_ident(bytes[i - 1]) && bytes[i - 1] != ':';
        let rest: String = bytes[i..bytes.len().min(i + 7)].iter().collect();
        let (base, skip) = if start_ok && rest.starts_with("crate::") {
            (Vec::new(), 7)
        } else if start_ok && rest.starts_with("super::") {
            let mut base = module.to_vec();
            let mut j = i;
            // `super::super::…`
            while bytes[j..].iter().take(7).collect::<String>() == "super::" {
                base.pop();
                j += 7;
            }
            let path = read_path(&bytes, j);
            for p in path {
                out.push(base.iter().cloned().chain(p).collect());
            }
            i = j + 1;
            continue;
        } else {
            i += 1;
            continue;
        };
        for p in read_path(&bytes, i + skip) {
            out.push(base.iter().cloned().chain(p).collect());
        }
        i += skip;
    }
    out
}

/// The path(s) starting at `at`: `a::b::C`, or a group `{a::b, c}` (one level deep is enough
/// for the module a path names).
fn read_path(s: &[char], at: usize) -> Vec<Vec<String>> {
    if s.get(at) == Some(&'{') {
        let mut depth = 0;
        let mut item = String::new();
        let mut items = Vec::new();
        for &c in &s[at..] {
            match c {
                '{' => {
                    depth += 1;
                    if depth > 1 {
                        item.push(c);
                    }
                }
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        items.push(std::mem::take(&mut item));
                        break;
                    }
                    item.push(c);
                }
                ',' if depth == 1 => items.push(std::mem::take(&mut item)),
                c => item.push(c),
            }
        }
        return items
            .iter()
            .map(|i| i.trim())
            .filter(|i| !i.is_empty())
            .map(|i| {
                let chars: Vec<char> = i.chars().collect();
                read_path(&chars, 0).into_iter().next().unwrap_or_default()
            })
            .collect();
    }
    let mut segs = Vec::new();
    let mut cur = String::new();
    let mut i = at;
    while i < s.len() {
        let c = s[i];
        if is_ident(c) {
            cur.push(c);
            i += 1;
        } else if c == ':' && s.get(i + 1) == Some(&':') && !cur.is_empty() {
            segs.push(std::mem::take(&mut cur));
            i += 2;
            if s.get(i) == Some(&'{') {
                // `a::{b, c}`: the module is `a` (and possibly its children).
                let sub = read_path(s, i);
                return sub
                    .into_iter()
                    .map(|p| segs.iter().cloned().chain(p).collect())
                    .collect();
            }
        } else {
            break;
        }
    }
    if !cur.is_empty() {
        segs.push(cur);
    }
    vec![segs]
}

fn load(src: &Path) -> Crate {
    let mut paths = Vec::new();
    rust_files(src, &mut paths);
    let mut files = BTreeMap::new();
    let mut texts = BTreeMap::new();
    for p in paths {
        let m = module_of(src, &p);
        texts.insert(m.clone(), std::fs::read_to_string(&p).unwrap());
        files.insert(m, p);
    }
    let mut refs = BTreeMap::new();
    for (m, text) in &texts {
        let mut set = BTreeSet::new();
        for r in references(m, &code(text)) {
            // The deepest existing module the path names.
            let module = (0..=r.len())
                .rev()
                .map(|n| r[..n].to_vec())
                .find(|p| files.contains_key(p))
                .unwrap_or_default();
            set.insert(module);
        }
        refs.insert(m.clone(), set);
    }
    Crate { files, refs }
}

/// For each module, the edges between its children: child `a` depends on child `b` when code
/// in `a` (or below it) refers to `b` (or below it). References between a module and its own
/// ancestors or descendants are not edges between siblings.
fn sibling_edges(c: &Crate) -> BTreeMap<Vec<String>, BTreeSet<(String, String)>> {
    let mut edges: BTreeMap<Vec<String>, BTreeSet<(String, String)>> = BTreeMap::new();
    for (from, tos) in &c.refs {
        for to in tos {
            let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
            if common == from.len() || common == to.len() {
                continue;
            }
            edges
                .entry(from[..common].to_vec())
                .or_default()
                .insert((from[common].clone(), to[common].clone()));
        }
    }
    edges
}

/// A cycle in a graph, if there is one.
fn find_cycle(edges: &BTreeSet<(String, String)>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        edges: &BTreeSet<(String, String)>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == n) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(n.to_string());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        stack.push(n.to_string());
        for (_, to) in edges.iter().filter(|(f, _)| f == n) {
            if let Some(c) = visit(to, edges, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for (from, _) in edges {
        if let Some(c) = visit(from, edges, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

fn crate_src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name)
        .join("src")
}

const CRATES: [&str; 3] = ["h2kit-proto", "h2kit", "h2kit-cli"];

#[test]
fn no_import_cycle_between_modules() {
    let mut cycles = Vec::new();
    for name in CRATES {
        let c = load(&crate_src(name));
        for (parent, edges) in sibling_edges(&c) {
            if let Some(cycle) = find_cycle(&edges) {
                let at = if parent.is_empty() {
                    "crate".to_string()
                } else {
                    parent.join("::")
                };
                cycles.push(format!("{name}: in {at}: {}", cycle.join(" -> ")));
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_cycle_finder_finds_cycles() {
    // The checker itself: a known cycle and a known chain, through `use` groups and `super`.
    let m = |s: &str| s.split("::").map(String::from).collect::<Vec<_>>();
    let r = references(&m("a::b"), "use crate::{c::D, e};\nlet x = super::f::g();");
    assert!(r.contains(&m("c::D")) && r.contains(&m("e")) && r.contains(&m("a::f::g")));
    let edges: BTreeSet<(String, String)> = [("a", "b"), ("b", "c"), ("c", "a")]
        .iter()
        .map(|(x, y)| (x.to_string(), y.to_string()))
        .collect();
    assert!(find_cycle(&edges).is_some());
    let chain: BTreeSet<(String, String)> = [("a", "b"), ("b", "c"), ("a", "c")]
        .iter()
        .map(|(x, y)| (x.to_string(), y.to_string()))
        .collect();
    assert_eq!(find_cycle(&chain), None);
}

/// The layers of the runtime: what each top-level module may use of the others.
#[test]
fn runtime_dependencies_point_one_way() {
    let c = load(&crate_src("h2kit"));
    let allowed: &[(&str, &[&str])] = &[
        ("sync", &[]),
        ("error", &[]),
        ("metrics", &["error"]),
        ("span", &["metrics"]),
        ("tls", &[]),
        ("stats", &["metrics"]),
        ("conn", &["sync", "stats", "error", "metrics"]),
        ("tunnel", &["conn", "error"]),
        (
            "server",
            &[
                "conn", "sync", "stats", "error", "tls", "metrics", "span", "tunnel",
            ],
        ),
        (
            "client",
            &[
                "conn", "sync", "stats", "error", "tls", "metrics", "span", "tunnel",
            ],
        ),
    ];
    let mut wrong = Vec::new();
    for (from, tos) in &c.refs {
        let Some(top) = from.first() else { continue };
        let Some((_, ok)) = allowed.iter().find(|(m, _)| m == top) else {
            continue;
        };
        for to in tos {
            let Some(target) = to.first() else { continue };
            if target != top && !ok.contains(&target.as_str()) {
                wrong.push(format!("{} uses {}", from.join("::"), to.join("::")));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn unsafe_code_only_in_the_primitives() {
    let mut found = Vec::new();
    for name in CRATES {
        let c = load(&crate_src(name));
        for (m, path) in &c.files {
            let text = code(&std::fs::read_to_string(path).unwrap());
            let primitives = name == "h2kit" && m.first().is_some_and(|s| s == "sync");
            if text.contains("unsafe ") && !primitives {
                found.push(path.display().to_string());
            }
        }
    }
    assert!(found.is_empty(), "unsafe outside h2kit's sync/: {found:?}");
}

#[test]
fn no_source_file_over_800_lines() {
    let mut long = Vec::new();
    for name in CRATES.iter().chain(&["h2kit-test-support"]) {
        let mut files = Vec::new();
        let src = crate_src(name);
        rust_files(&src, &mut files);
        rust_files(&src.join("../tests"), &mut files);
        for f in files {
            // Generated: the RFC 7541 Huffman table.
            if f.ends_with("huffman_codes.rs") {
                continue;
            }
            let n = std::fs::read_to_string(&f).unwrap().lines().count();
            if n > 800 {
                long.push(format!("{} ({n} lines)", f.display()));
            }
        }
    }
    assert!(long.is_empty(), "files over 800 lines: {long:?}");
}
