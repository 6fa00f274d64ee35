//! The module layering of `src/` (docs/architecture.md), checked on the source text: no daemons,
//! no build of anything but this file.
//!
//! Every `crate::<module>` path in `src/**/*.rs` (grouped `use crate::{a, b}` imports included,
//! comments excluded) is an arrow from the top-level module of the file to `<module>`. Another
//! top-level module is reached by `crate::` only (`super::` stays inside a module), so that is
//! what is read. The test asserts that
//! - the modules at the bottom of the house import only what [`ALLOWED`] lists for them
//!   (`config` imports no stage, `smtp` nothing above it), and
//! - the arrows among top-level modules form no cycle, except those listed in
//!   [`ALLOWED_CYCLES`] with a reason.
//!
//! A failure prints each offending arrow with the file and line that makes it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Modules whose imports are restricted, with every top-level module each may use.
/// The order follows docs/architecture.md, bottom up.
const ALLOWED: &[(&str, &[&str], &str)] = &[
    ("crypto", &[], "primitives: below everything"),
    ("metrics", &[], "counters: below everything"),
    ("doctype", &[], "document kinds shared by config and intake: imports nothing"),
    ("config", &["doctype"], "parsed once into typed values; imports no stage"),
    ("net", &["config", "metrics", "crypto", "store"], "TLS, HTTP listener (and the throttle, whose counts live in the store): no service"),
    ("smtp", &["config", "net", "metrics", "crypto"], "the door defines its own types; nothing above it"),
    (
        "mailbox",
        &["config", "net", "metrics", "crypto", "intake", "store", "notify", "inbound", "live", "pipeline"],
        "glue beside inbound: an IMAP door that hands mail to inbound's shared intake; no SMTP types, no service",
    ),
    (
        "station",
        &["seal", "crypto", "net", "intake"],
        "the release station (CLI and kiosk) runs at the library: the sealed-job format, the shared HTTP pieces and intake's file-name cleaning, no server stage",
    ),
    (
        "web",
        &["config", "net", "metrics", "crypto", "store", "intake", "inbound", "live", "smtp"],
        "the patrons' upload form: hands uploads to inbound (the door mail takes), reads traces from the store; no other service, no screening or conversion of its own",
    ),
];

/// Cycles among top-level modules that are tolerated for now, each with its reason. Every
/// module of such a cycle must be listed in it (sorted).
const ALLOWED_CYCLES: &[(&[&str], &str)] = &[];

/// One `crate::` reference: from a file (and line) of one top-level module to another.
#[derive(Debug, Clone)]
struct Arrow {
    from: String,
    to: String,
    file: PathBuf,
    line: usize,
}

#[test]
fn restricted_modules_import_only_what_their_layer_allows() {
    let arrows = arrows();
    let mut bad = Vec::new();
    for (module, allowed, why) in ALLOWED {
        for a in arrows.iter().filter(|a| a.from == *module && !allowed.contains(&a.to.as_str())) {
            bad.push(format!("{} -> {}   ({}:{}; {module} may use only {allowed:?}: {why})", a.from, a.to, a.file.display(), a.line));
        }
    }
    assert!(bad.is_empty(), "arrows that run against the layering:\n  {}", bad.join("\n  "));
}

#[test]
fn there_is_no_import_cycle_among_top_level_modules() {
    let arrows = arrows();
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for a in &arrows {
        graph.entry(&a.from).or_default().insert(&a.to);
        graph.entry(&a.to).or_default();
    }
    let mut bad = Vec::new();
    for component in strongly_connected(&graph).into_iter().filter(|c| c.len() > 1) {
        if ALLOWED_CYCLES.iter().any(|(members, _)| members.iter().copied().eq(component.iter().copied())) {
            continue;
        }
        // One line per pair of modules: where it is made first, and how many places make it.
        let mut pairs: BTreeMap<(&str, &str), (&Arrow, usize)> = BTreeMap::new();
        for a in arrows.iter().filter(|a| component.contains(a.from.as_str()) && component.contains(a.to.as_str())) {
            pairs.entry((&a.from, &a.to)).or_insert((a, 0)).1 += 1;
        }
        let inside: Vec<String> = pairs
            .iter()
            .map(|((from, to), (a, n))| format!("    {from} -> {to}   ({}:{}, {n} place(s))", a.file.display(), a.line))
            .collect();
        bad.push(format!("cycle among {component:?}:\n{}", inside.join("\n")));
    }
    assert!(bad.is_empty(), "import cycles among top-level modules:\n{}", bad.join("\n"));
}

/// The scanner itself: grouped imports, comments, strings that look like comments, macros.
#[test]
fn references_are_found_in_every_form() {
    let text = "use crate::a::X;\nuse crate::{b::Y, c, self};\n// crate::comment\nlet s = \"smtp://h\"; crate::d::f();\n\
                /* crate::block */ let c = '\"'; crate::e::g(); r#\"x\"# ; my_crate::no();\n$crate::h!();\n";
    let found: Vec<(String, usize)> = references(text);
    let names: Vec<&str> = found.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(names, ["a", "b", "c", "d", "e", "h"], "{found:?}");
    assert_eq!(found[3].1, 4);
}

/// Every arrow between two different top-level modules of the library crate.
fn arrows() -> Vec<Arrow> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = top_level_modules(&src.join("lib.rs"));
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut arrows = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).expect("under src/");
        let Some(from) = module_of(relative) else { continue };
        let text = std::fs::read_to_string(&file).expect("readable source file");
        for (to, line) in references(&text) {
            if to != from && modules.contains(&to) {
                arrows.push(Arrow { from: from.clone(), to, file: relative.to_owned(), line });
            }
        }
    }
    assert!(!arrows.is_empty(), "no crate:: references found under {}", src.display());
    arrows
}

/// `pub mod x;` / `mod x;` lines of lib.rs.
fn top_level_modules(lib: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(lib).expect("src/lib.rs");
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod ").or_else(|| l.trim().strip_prefix("mod ")))
        .filter_map(|rest| rest.strip_suffix(';'))
        .map(str::to_owned)
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `smtp/session.rs` and `smtp.rs` belong to `smtp`; lib.rs and main.rs (its own crate) to none.
fn module_of(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    match first {
        "lib.rs" | "main.rs" => None,
        name => Some(name.strip_suffix(".rs").unwrap_or(name).to_owned()),
    }
}

/// The top-level modules named by `crate::` paths in `text`, with their line numbers.
fn references(text: &str) -> Vec<(String, usize)> {
    let code = without_comments(text);
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    let (mut i, mut line) = (0, 1);
    while i < bytes.len() {
        let boundary = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] == b':');
        if bytes[i] == b'\n' {
            line += 1;
        } else if boundary && bytes[i..].starts_with(b"crate::") {
            i += "crate::".len();
            found.extend(path_heads(&code[i..]).into_iter().map(|m| (m, line)));
            continue;
        }
        i += 1;
    }
    found
}

/// The first segment after `crate::`: an identifier, or each item's head in a `{…}` group.
fn path_heads(rest: &str) -> Vec<String> {
    let ident = |s: &str| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
    let Some(group) = rest.strip_prefix('{') else {
        return vec![ident(rest)].into_iter().filter(|m| !m.is_empty()).collect();
    };
    let mut heads = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (k, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                heads.push(ident(group[start..k].trim_start()));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                heads.push(ident(group[start..k].trim_start()));
                start = k + 1;
            }
            _ => {}
        }
    }
    heads.into_iter().filter(|m| !m.is_empty() && m != "self").collect()
}

/// `text` with line and block comments blanked (newlines kept, so line numbers stay right);
/// string and character literals are skipped over so `"smtp://"` starts no comment.
fn without_comments(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut nesting = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    nesting += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    nesting -= 1;
                    i += 2;
                    if nesting == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
            }
        } else if c == '"' || (c == 'r' && matches!(next, Some('"' | '#')) && !prev_is_ident(&chars, i)) {
            let end = literal_end(&chars, i);
            out.extend(&chars[i..end]);
            i = end;
        } else if c == '\'' && next == Some('"') && chars.get(i + 2) == Some(&'\'') {
            out.push_str("'\"'");
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev_is_ident(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// One past the end of the string literal starting at `start` (`"…"`, `r"…"`, `r#"…"#`).
fn literal_end(chars: &[char], start: usize) -> usize {
    let mut i = start;
    if chars[i] == 'r' {
        i += 1;
        let hashes = chars[i..].iter().take_while(|c| **c == '#').count();
        if chars.get(i + hashes) != Some(&'"') {
            return start + 1;
        }
        i += hashes + 1;
        while i < chars.len() {
            if chars[i] == '"' && chars[i + 1..].iter().take(hashes).filter(|c| **c == '#').count() == hashes {
                return i + 1 + hashes;
            }
            i += 1;
        }
        return chars.len();
    }
    i += 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

/// Tarjan's strongly connected components; each as a sorted set.
fn strongly_connected<'a>(graph: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Vec<BTreeSet<&'a str>> {
    struct State<'a> {
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<BTreeSet<&'a str>>,
    }
    fn visit<'a>(v: &'a str, graph: &BTreeMap<&'a str, BTreeSet<&'a str>>, s: &mut State<'a>) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for &w in &graph[v] {
            if !s.index.contains_key(w) {
                visit(w, graph, s);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.insert(w);
                if w == v {
                    break;
                }
            }
            s.out.push(component);
        }
    }
    let mut s = State { index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), on_stack: BTreeSet::new(), out: Vec::new() };
    for &v in graph.keys() {
        if !s.index.contains_key(v) {
            visit(v, graph, &mut s);
        }
    }
    s.out
}
