//! The built web files the node serves: the visitor widget and the agent console, read once at
//! start-up from `PARLEY_WEB_DIR` into memory.
//!
//! The TypeScript in `socket-node/web` is bundled by esbuild (`npm run build` there, which
//! `scripts/dev` runs) into `web/dist`, one folder per app with its files named by content hash
//! (`widget/ui-3F7KQ2ZP.js`). An app is entered either by a script at the top (`widget.js`, the
//! loader a tenant's page includes) or by its page (`console/index.html`, which answers every
//! path under `/console/` that is not a file, so the single-page app's own links work when
//! opened directly). [`APPS`] lists what is served; only the names found at load are ever
//! answered, so a request cannot reach any other file.
//!
//! Each file is kept with its `Content-Type` (by extension), its `Cache-Control` (a year and
//! `immutable` for a hashed name; `no-cache` for a page, so a deploy is seen at the next visit;
//! five minutes for the rest, so a new loader reaches browsers soon after a deploy), an `ETag`
//! (SHA-256 of the content) and, when it is smaller, a gzip copy made at load.
//!
//! Failure modes: a missing directory or entry file does not stop the node; it logs one warning
//! naming the directory, and the entry answers 503 (e.g. `widget_not_built`) until a restart
//! after a build. A file that cannot be read is left out, with a warning naming it.

use std::{
    collections::HashMap,
    fs,
    io::Write as _,
    path::{Path, PathBuf},
};

use axum::body::Bytes;
use flate2::{Compression, write::GzEncoder};
use sha2::{Digest as _, Sha256};

/// One web app under the built directory.
#[derive(Debug, Clone, Copy)]
pub struct WebApp {
    /// Its folder under the directory, served at `/<folder>/<file>`.
    pub folder: &'static str,
    pub entry: Entry,
    /// The error code its entry answers (503) when the app was not built.
    pub not_built: &'static str,
}

/// How a browser enters an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// A script at the top of the directory, served at `/<name>`.
    Script(&'static str),
    /// `<folder>/index.html`, served at `/<folder>` and at every path under it that is no file.
    Page,
}

/// What the node serves from `PARLEY_WEB_DIR`.
pub const APPS: &[WebApp] = &[
    WebApp { folder: "widget", entry: Entry::Script("widget.js"), not_built: "widget_not_built" },
    WebApp { folder: "console", entry: Entry::Page, not_built: "console_not_built" },
];

/// A page's name in its folder.
pub const PAGE: &str = "index.html";

/// `Cache-Control` of a file whose name carries its content's hash: it never changes.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of any other file (the loaders): browsers pick up a new one within minutes.
pub const SHORT: &str = "public, max-age=300";
/// `Cache-Control` of a page: asked again (by its `ETag`) at every visit.
pub const PAGE_CACHE: &str = "no-cache";

/// A file, ready to answer.
#[derive(Debug)]
pub struct Asset {
    pub body: Bytes,
    /// The gzip copy, when it is smaller than the file.
    pub gzip: Option<Bytes>,
    pub content_type: &'static str,
    pub cache_control: &'static str,
    /// The strong validator of `body` (quoted); the gzip copy's is [`Asset::gzip_etag`].
    pub etag: String,
}

impl Asset {
    fn new(name: &str, body: Vec<u8>) -> Self {
        let content_type = content_type(name);
        let digest = Sha256::digest(&body);
        let etag = format!("\"{}\"", digest[..16].iter().map(|b| format!("{b:02x}")).collect::<String>());
        let gzip = compressible(content_type).then(|| gzip(&body)).flatten().filter(|gz| gz.len() < body.len());
        let cache_control = if is_hashed(name) {
            IMMUTABLE
        } else if name.rsplit('/').next() == Some(PAGE) {
            PAGE_CACHE
        } else {
            SHORT
        };
        Self { body: body.into(), gzip: gzip.map(Bytes::from), content_type, cache_control, etag }
    }

    /// The gzip copy's validator: a different representation, so a different tag.
    pub fn gzip_etag(&self) -> String {
        format!("{}-gzip\"", self.etag.trim_end_matches('"'))
    }
}

/// Every file served, by the path it is served at (`/widget.js`, `/widget/ui-3F7KQ2ZP.js`).
#[derive(Debug, Default)]
pub struct WebAssets {
    files: HashMap<String, Asset>,
}

impl WebAssets {
    /// Reads the built apps from `dir`. Never fails: what is missing is logged once and answered
    /// as not built.
    pub fn load(dir: &Path) -> Self {
        let mut files = HashMap::new();
        let mut missing = Vec::new();
        for app in APPS {
            let entry = match app.entry {
                Entry::Script(name) => dir.join(name),
                Entry::Page => dir.join(app.folder).join(PAGE),
            };
            match (app.entry, fs::read(&entry)) {
                (Entry::Script(name), Ok(body)) => {
                    files.insert(format!("/{name}"), Asset::new(name, body));
                }
                (Entry::Page, Ok(_)) => {} // read with the folder below
                (_, Err(err)) if err.kind() == std::io::ErrorKind::NotFound => missing.push(app),
                (_, Err(err)) => tracing::warn!(file = %entry.display(), error = %err, "a web file could not be read"),
            }
            for (relative, path) in walk(&dir.join(app.folder)) {
                match fs::read(&path) {
                    Ok(body) => {
                        files.insert(format!("/{}/{relative}", app.folder), Asset::new(&relative, body));
                    }
                    Err(err) => tracing::warn!(file = %path.display(), error = %err, "a web file could not be read"),
                }
            }
        }
        if !missing.is_empty() {
            let names: Vec<&str> = missing.iter().map(|app| app.folder).collect();
            let codes: Vec<&str> = missing.iter().map(|app| app.not_built).collect();
            tracing::warn!(
                dir = %dir.display(),
                "not built in {}: the {}; run scripts/dev, or `npm run build` in socket-node/web, then restart \
                 (until then they answer 503 {})",
                dir.display(), names.join(" and the "), codes.join(", "),
            );
        }
        Self { files }
    }

    /// The file served at `path`, if it was there at load.
    pub fn get(&self, path: &str) -> Option<&Asset> {
        self.files.get(path)
    }

    /// What answers `path` when it names no file: a page app's page for any path under its
    /// folder, else nothing. `Err` names the app whose entry it is when that was not built.
    pub fn fallback(&self, path: &str) -> Result<Option<&Asset>, &'static WebApp> {
        let Some(app) = Self::app_entered_at(path) else { return Ok(None) };
        let entry = match app.entry {
            Entry::Script(name) => format!("/{name}"),
            Entry::Page => format!("/{}/{PAGE}", app.folder),
        };
        self.files.get(&entry).map(Some).ok_or(app)
    }

    /// The app whose entry answers `path`: `/widget.js`, or `/console` and anything under it.
    fn app_entered_at(path: &str) -> Option<&'static WebApp> {
        let path = path.strip_prefix('/')?;
        APPS.iter().find(|app| match app.entry {
            Entry::Script(name) => path == name,
            Entry::Page => {
                path == app.folder || path.strip_prefix(app.folder).is_some_and(|rest| rest.starts_with('/'))
            }
        })
    }
}

/// The files under `dir`, recursively, as (`a/b.js` relative path, full path). Hidden files and
/// names that are not plain UTF-8 are skipped; a missing folder has none.
fn walk(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    let mut pending = vec![(String::new(), dir.to_path_buf())];
    while let Some((prefix, folder)) = pending.pop() {
        let Ok(entries) = fs::read_dir(&folder) else { continue };
        for entry in entries.flatten() {
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
            if name.starts_with('.') {
                continue;
            }
            let relative = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => pending.push((relative, entry.path())),
                Ok(_) => found.push((relative, entry.path())),
                Err(_) => {}
            }
        }
    }
    found
}

/// The `Content-Type` of a file, by its extension.
fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).as_deref() {
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("map" | "json") => "application/json",
        Some("html") => "text/html; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Whether gzip can shrink this kind of file (PNG and WOFF2 are compressed already).
fn compressible(content_type: &str) -> bool {
    content_type.starts_with("text/") || content_type == "application/json" || content_type == "image/svg+xml"
}

fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(body).ok()?;
    encoder.finish().ok()
}

/// Whether a file's name carries a content hash: before its extension (both of `.js.map`), a
/// `-` or `.` then at least 8 of `[A-Za-z0-9_]`, not all lower-case letters (so
/// `launcher-component.js` is not taken for `ui-3F7KQ2ZP.js`). Such a file never changes.
pub fn is_hashed(name: &str) -> bool {
    let name = name.rsplit('/').next().unwrap_or(name);
    let Some((mut stem, ext)) = name.rsplit_once('.') else { return false };
    if ext == "map"
        && let Some((inner, _)) = stem.rsplit_once('.')
    {
        stem = inner;
    }
    let Some(at) = stem.rfind(['-', '.']) else { return false };
    let hash = &stem[at + 1..];
    hash.len() >= 8
        && hash.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !hash.bytes().all(|b| b.is_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_are_told_from_plain_ones() {
        for hashed in ["ui-3F7KQ2ZP.js", "widget/chunk-AB12CD34.js", "ui-3F7KQ2ZP.js.map", "app.Ab_9xYzQ.css"] {
            assert!(is_hashed(hashed), "{hashed}");
        }
        for plain in ["widget.js", "ui-3F7KQ2Z.js", "launcher-component.js", "ui-3F7K-Q2ZP.js", "README"] {
            assert!(!is_hashed(plain), "{plain}");
        }
    }

    #[test]
    fn types_follow_the_extension() {
        assert_eq!(content_type("widget.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("ui-3F7KQ2ZP.js.map"), "application/json");
        assert_eq!(content_type("logo.SVG"), "image/svg+xml");
        assert_eq!(content_type("font.woff2"), "font/woff2");
        assert_eq!(content_type("blob"), "application/octet-stream");
    }
}
