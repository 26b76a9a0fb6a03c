//! The documents in the repository agree with the code and with each
//! other: `docs/openapi.json` is the server's document as this build makes
//! it, `docs/api.md` lists every endpoint of it, and no relative link in a
//! Markdown file leads nowhere.

use std::path::{Path, PathBuf};

/// The environment variable that makes the OpenAPI test rewrite the file
/// instead of failing.
const UPDATE_ENV: &str = "PIAZZA_UPDATE_DOCS";

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository's root")
}

#[test]
fn docs_openapi_json_is_the_servers_document() {
    let path = repository().join("docs/openapi.json");
    let current = piazza_server::openapi::pretty_json();
    let kept = std::fs::read_to_string(&path).unwrap_or_default();
    if kept == current {
        return;
    }
    if std::env::var_os(UPDATE_ENV).is_some() {
        std::fs::write(&path, &current).expect("docs/openapi.json is writable");
        return;
    }
    let differs = kept
        .lines()
        .zip(current.lines())
        .position(|(kept, current)| kept != current)
        .map_or(kept.lines().count().min(current.lines().count()), |line| {
            line
        })
        + 1;
    panic!(
        "docs/openapi.json is stale (first difference at line {differs}): regenerate it with\n  \
         cargo run -p piazza -- admin openapi > docs/openapi.json\nor\n  \
         {UPDATE_ENV}=1 cargo test -p piazza --test it -- docs"
    );
}

/// `GET /api/v1/transfers/{id}` for each operation of the document.
fn operations(document: &serde_json::Value) -> Vec<String> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                found.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    found
}

#[test]
fn docs_api_md_lists_every_endpoint() {
    let document: serde_json::Value =
        serde_json::from_str(&piazza_server::openapi::pretty_json()).expect("JSON");
    let api = std::fs::read_to_string(repository().join("docs/api.md")).expect("docs/api.md");
    // Written as code: `GET /api/v1/sync?since=…` or `POST /api/v1/media`.
    let missing: Vec<String> = operations(&document)
        .into_iter()
        .filter(|operation| {
            !api.contains(&format!("`{operation}`")) && !api.contains(&format!("`{operation}?"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "docs/api.md does not list these endpoints (as `METHOD /path`): {missing:#?}"
    );
}

/// The link targets of a Markdown text that are paths in the repository:
/// inline links and images, reference definitions and `href`/`src`
/// attributes, outside code; not web addresses or in-page anchors. The
/// fragment is left off.
fn relative_links(markdown: &str) -> Vec<(usize, String)> {
    let mut links = Vec::new();
    let mut fenced = false;
    for (index, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let text = without_code_spans(line);
        let mut targets = Vec::new();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            targets.push(link_target(rest));
        }
        if let Some(definition) = reference_definition(&text) {
            targets.push(definition);
        }
        for attribute in ["href=\"", "src=\""] {
            let mut rest = text.as_str();
            while let Some(at) = rest.find(attribute) {
                rest = &rest[at + attribute.len()..];
                targets.push(rest.split('"').next().unwrap_or_default().to_owned());
            }
        }
        for target in targets {
            let path = target.split(['#', '?']).next().unwrap_or_default();
            let is_address = target
                .split('/')
                .next()
                .is_some_and(|head| head.contains(':'));
            if !path.is_empty() && !is_address {
                links.push((index + 1, path.replace("%20", " ")));
            }
        }
    }
    links
}

/// A line with its `code spans` blanked out.
fn without_code_spans(line: &str) -> String {
    let mut kept = String::new();
    for (index, part) in line.split('`').enumerate() {
        if index % 2 == 0 {
            kept.push_str(part);
        } else {
            kept.push(' ');
        }
    }
    kept
}

/// The destination at the start of `rest` (just after `](`): up to the
/// closing parenthesis or a title, `<…>` unwrapped.
fn link_target(rest: &str) -> String {
    if let Some(inner) = rest.strip_prefix('<') {
        return inner.split('>').next().unwrap_or_default().to_owned();
    }
    let mut depth = 0;
    let mut end = rest.len();
    for (at, character) in rest.char_indices() {
        match character {
            '(' => depth += 1,
            ')' if depth == 0 => {
                end = at;
                break;
            }
            ')' => depth -= 1,
            ' ' => {
                end = at;
                break;
            }
            _ => {}
        }
    }
    rest[..end].to_owned()
}

/// `[name]: target` at the start of a line.
fn reference_definition(line: &str) -> Option<String> {
    let rest = line.trim_start().strip_prefix('[')?;
    let (_, after) = rest.split_once("]:")?;
    after.split_whitespace().next().map(str::to_owned)
}

/// Every Markdown file of the repository, outside build output and
/// installed packages.
fn markdown_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display()));
    for entry in entries {
        let entry = entry.expect("a directory entry");
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        let kind = entry.file_type().expect("a file type");
        if kind.is_dir() {
            if !matches!(name.as_ref(), ".git" | "target" | "node_modules") {
                markdown_files(&path, found);
            }
        } else if name.ends_with(".md") {
            found.push(path);
        }
    }
}

#[test]
fn every_relative_link_in_the_markdown_files_resolves() {
    let root = repository();
    let mut files = Vec::new();
    markdown_files(&root, &mut files);
    assert!(
        files.iter().any(|file| file.ends_with("README.md")),
        "{files:?}"
    );
    let mut broken = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a readable Markdown file");
        let dir = file.parent().expect("a file's directory");
        for (line, target) in relative_links(&text) {
            let resolved = match target.strip_prefix('/') {
                Some(from_root) => root.join(from_root),
                None => dir.join(&target),
            };
            // Inside the repository: a file beside it is not in a clone.
            let inside = resolved
                .canonicalize()
                .is_ok_and(|resolved| resolved.starts_with(&root));
            if !inside {
                let shown = file.strip_prefix(&root).unwrap_or(file);
                broken.push(format!("{}:{line}: {target}", shown.display()));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "links that lead nowhere in a clone of the repository:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_link_reader_finds_what_a_reader_can_follow() {
    let markdown = "See [the map](ARCHITECTURE.md) and [the API](docs/api.md#wallet \"title\").\n\
                    An address: [site](https://example.org/x) and [here](#top).\n\
                    `[not a link](code.md)` and ![a picture](img/a%20b.png).\n\
                    ```sh\n[inside](fenced.md)\n```\n\
                    [ref]: ../up.md\n\
                    <a href=\"web/page.md\">x</a> [nested](a_(b).md)\n";
    let links: Vec<String> = relative_links(markdown)
        .into_iter()
        .map(|(_, link)| link)
        .collect();
    assert_eq!(
        links,
        [
            "ARCHITECTURE.md",
            "docs/api.md",
            "img/a b.png",
            "../up.md",
            "a_(b).md",
            "web/page.md"
        ]
    );
}
