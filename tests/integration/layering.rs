//! The layering of the crate, written once: which top-level module may use which, checked
//! against every `crate::…` and `super::…` path in `src/` (use lines and inline paths alike,
//! comments excluded), and no two files that use each other, directly or around a circle.
//!
//! A module file may name its own submodules freely (a parent composes its children), so an
//! edge from a file to one of its descendants is not counted as an import when looking for
//! circles; every other edge is.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each layer and the layers it may use. Read it bottom-up: the domain core uses nothing;
/// `cli` sits on top. `lib.rs` and `main.rs` only declare and start.
const ALLOWED: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("error", &["domain"]),
    ("config", &["domain", "error"]),
    ("store", &["domain", "error"]),
    ("index", &["store", "domain", "error"]),
    ("formats", &["domain", "error"]),
    ("pki", &["config", "domain", "error"]),
    // PIV smart cards (feature `smartcard`): APDUs, the PIV client and the card emulator.
    ("smartcard", &[]),
    (
        "service",
        &[
            "index", "store", "formats", "pki", "config", "domain", "error",
        ],
    ),
    ("http", &["service", "pki", "config", "domain", "error"]),
    ("api", &["http", "service", "config", "domain", "error"]),
    ("web", &["http", "service", "config", "domain", "error"]),
    (
        "server",
        &[
            "api", "web", "http", "service", "pki", "config", "domain", "error",
        ],
    ),
    (
        "demo",
        &[
            "server", "service", "store", "pki", "config", "domain", "error",
        ],
    ),
    (
        "cli",
        &[
            "demo",
            "server",
            "service",
            "index",
            "store",
            "formats",
            "pki",
            "smartcard",
            "config",
            "domain",
            "error",
        ],
    ),
];

/// A source file and its module path (`src/service/portal/mod.rs` → `service::portal`).
#[derive(Debug, Clone)]
struct SourceFile {
    path: PathBuf,
    module: Vec<String>,
    text: String,
}

fn collect(dir: &Path, src: &Path, out: &mut Vec<SourceFile>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, src, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            let rel = p.strip_prefix(src).unwrap();
            let mut module: Vec<String> = rel
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                module.last().map(String::as_str),
                Some("mod") | Some("lib") | Some("main")
            ) {
                module.pop();
            }
            out.push(SourceFile {
                text: std::fs::read_to_string(&p).unwrap(),
                path: rel.to_path_buf(),
                module,
            });
        }
    }
}

/// The text without comments (line comments, doc comments, block comments) and without the
/// contents of string literals, so that prose and messages never count as imports.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'"' {
            // Skip a string literal (escapes included); raw strings have no `crate::` in them
            // in this code base, and their quotes pair up the same way.
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            // A one-character char literal such as '"'.
            i += 3;
        } else {
            let ch = text[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path a file names through `crate::` or `super::`, as absolute module paths; a brace
/// group (`crate::a::{b, c::d}`) gives one path per member.
fn paths_of(file: &SourceFile) -> Vec<Vec<String>> {
    let code = code_only(&file.text);
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < code.len() {
        let rest = &code[i..];
        let prev_ok = i == 0 || !is_ident(bytes[i - 1] as char) && bytes[i - 1] != b':';
        let start: Option<(Vec<String>, usize)> = if prev_ok && rest.starts_with("crate::") {
            Some((Vec::new(), "crate::".len()))
        } else if prev_ok && rest.starts_with("super::") {
            // `super` of a file is its parent module (of `mod.rs`, the grandparent).
            let mut base = file.module.clone();
            let mut n = 0;
            let mut r = rest;
            while r.starts_with("super::") {
                base.pop();
                n += "super::".len();
                r = &r["super::".len()..];
            }
            Some((base, n))
        } else {
            None
        };
        let Some((base, skip)) = start else {
            i += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let (mut list, used) = segments(&code[i + skip..]);
        for p in list.iter_mut() {
            let mut full = base.clone();
            full.append(p);
            found.push(full);
        }
        i += skip + used.max(1);
    }
    found
}

/// Parses `a::b::{c, d::e}` (or `a::b`) at the start of `s`: the paths and the bytes used.
fn segments(s: &str) -> (Vec<Vec<String>>, usize) {
    let mut path = Vec::new();
    let mut i = 0;
    loop {
        let ident: String = s[i..].chars().take_while(|c| is_ident(*c)).collect();
        if ident.is_empty() {
            break;
        }
        i += ident.len();
        path.push(ident);
        if s[i..].starts_with("::{") {
            i += 3;
            let mut depth = 1;
            let begin = i;
            while i < s.len() && depth > 0 {
                match s.as_bytes()[i] {
                    b'{' => depth += 1,
                    b'}' => depth -= 1,
                    _ => {}
                }
                i += 1;
            }
            let inner = &s[begin..i.saturating_sub(1)];
            let mut out = Vec::new();
            for member in split_top(inner) {
                let member = member.trim();
                if member.is_empty() || member == "self" {
                    out.push(path.clone());
                    continue;
                }
                let (subs, _) = segments(member);
                for sub in subs {
                    let mut p = path.clone();
                    p.extend(sub);
                    out.push(p);
                }
            }
            return (out, i);
        }
        if s[i..].starts_with("::") {
            i += 2;
        } else {
            break;
        }
    }
    (vec![path], i)
}

/// Splits a brace group's members at the commas of its own level.
fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn sources() -> Vec<SourceFile> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&src, &src, &mut files);
    assert!(files.len() > 50, "src/ not found or nearly empty");
    files
}

/// The file a path lands in: the longest module prefix that is a file of the crate.
fn resolve<'a>(
    modules: &'a BTreeMap<Vec<String>, usize>,
    path: &[String],
) -> Option<(&'a Vec<String>, usize)> {
    (1..=path.len())
        .rev()
        .find_map(|n| modules.get_key_value(&path[..n]).map(|(k, v)| (k, *v)))
}

fn dependencies(files: &[SourceFile]) -> Vec<BTreeSet<usize>> {
    let modules: BTreeMap<Vec<String>, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.module.clone(), i))
        .collect();
    files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            paths_of(f)
                .iter()
                .filter_map(|p| resolve(&modules, p))
                .filter(|(_, j)| *j != i)
                .map(|(_, j)| j)
                .collect()
        })
        .collect()
}

/// Layer violations of the given files: `(file, used layer)`.
fn violations(files: &[SourceFile]) -> Vec<String> {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut bad = Vec::new();
    for f in files {
        let Some(layer) = f.module.first() else {
            continue; // lib.rs, main.rs
        };
        if layer == "main" {
            continue;
        }
        let Some(may) = allowed.get(layer.as_str()) else {
            bad.push(format!(
                "{}: layer `{layer}` is not in the table",
                f.path.display()
            ));
            continue;
        };
        let used: BTreeSet<String> = paths_of(f)
            .into_iter()
            .filter_map(|p| p.first().cloned())
            .collect();
        for u in used {
            if &u != layer && !may.contains(&u.as_str()) {
                bad.push(format!("{}: `{layer}` may not use `{u}`", f.path.display()));
            }
        }
    }
    bad
}

/// The circles among files: each as the list of files around it.
fn circles(files: &[SourceFile]) -> Vec<Vec<String>> {
    let deps = dependencies(files);
    let is_descendant = |from: usize, to: usize| {
        let a = &files[from].module;
        let b = &files[to].module;
        b.len() > a.len() && b.starts_with(a)
    };
    // Tarjan's strongly connected components.
    struct State {
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(v: usize, edges: &[Vec<usize>], s: &mut State) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for &w in &edges[v] {
            match s.index[w] {
                None => {
                    visit(w, edges, s);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                _ => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                comp.push(w);
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                s.out.push(comp);
            }
        }
    }
    let edges: Vec<Vec<usize>> = deps
        .iter()
        .enumerate()
        .map(|(i, d)| {
            d.iter()
                .copied()
                .filter(|&j| !is_descendant(i, j))
                .collect()
        })
        .collect();
    let n = files.len();
    let mut s = State {
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(v, &edges, &mut s);
        }
    }
    s.out
        .into_iter()
        .map(|c| {
            c.into_iter()
                .map(|i| files[i].path.display().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn every_layer_uses_only_the_layers_below_it() {
    let bad = violations(&sources());
    assert!(bad.is_empty(), "layering broken:\n{}", bad.join("\n"));
}

#[test]
fn no_two_files_import_each_other() {
    let found = circles(&sources());
    assert!(found.is_empty(), "import circles:\n{found:#?}");
}

fn planted(path: &str, module: &[&str], text: &str) -> SourceFile {
    SourceFile {
        path: PathBuf::from(path),
        module: module.iter().map(|s| s.to_string()).collect(),
        text: text.to_string(),
    }
}

/// The checks themselves: a planted upward import and a planted circle are found, and what
/// only looks like an import (a comment, a message) is not.
#[test]
fn a_planted_bad_import_or_circle_is_caught() {
    let mut files = sources();
    assert!(violations(&files).is_empty());
    files.push(planted(
        "store/planted.rs",
        &["store", "planted"],
        "use crate::service::{App, portal::selection};\n",
    ));
    let bad = violations(&files);
    assert_eq!(bad, vec!["store/planted.rs: `store` may not use `service`"]);

    let mut files = sources();
    files.push(planted(
        "domain/planted_a.rs",
        &["domain", "planted_a"],
        "pub fn a() { super::planted_b::b() }\n",
    ));
    files.push(planted(
        "domain/planted_b.rs",
        &["domain", "planted_b"],
        "use crate::domain::planted_a::a;\npub fn b() {}\n",
    ));
    let found = circles(&files);
    assert_eq!(
        found.len(),
        1,
        "exactly the planted circle expected: {found:?}"
    );
    assert!(found[0].contains(&"domain/planted_a.rs".to_string()));

    let mut files = sources();
    files.push(planted(
        "domain/planted.rs",
        &["domain", "planted"],
        "//! See [`crate::service::App`].\nconst S: &str = \"crate::web::x\";\n",
    ));
    assert!(violations(&files).is_empty());
}
