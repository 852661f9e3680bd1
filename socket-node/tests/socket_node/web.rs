//! The built web apps as a browser fetches them: the widget's loader and its hashed chunks from
//! a tenant's page, with the headers that let a browser cache, decompress and import them; the
//! console's page at every path of the single-page app; nothing but the files found at start-up.

use std::{io::Read as _, path::PathBuf};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::support::*;

const LOADER: &str = "/widget.js";
const UI: &str = "/widget/ui-3F7KQ2ZP.js";

/// A built directory as esbuild lays it out, with small fake files, removed when dropped.
struct BuiltDir {
    path: PathBuf,
}

impl BuiltDir {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("parley-web-{}", random_string(10)));
        let files: [(&str, Vec<u8>); 8] = [
            ("widget.js", "(()=>{window.__parleyLoader=true;})();\n".repeat(40).into_bytes()),
            ("widget/ui-3F7KQ2ZP.js", "export function mount(){return 'parley ui';}\n".repeat(60).into_bytes()),
            ("widget/ui-3F7KQ2ZP.js.map", br#"{"version":3,"sources":["ui.ts"],"mappings":"AAAA"}"#.repeat(20)),
            ("widget/fonts/inter-AB12CD34.woff2", vec![0x77, 0x4f, 0x46, 0x32, 0, 1, 0, 0, 0, 0]),
            ("widget/launcher.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><circle r='4'/></svg>".repeat(8)),
            ("secret.txt", b"not a web file".to_vec()),
            (
                "console/index.html",
                b"<!doctype html><title>Parley</title><script src=/console/app-Q1W2E3R4.js></script>".to_vec(),
            ),
            ("console/app-Q1W2E3R4.js", "console.log('console');\n".repeat(30).into_bytes()),
        ];
        for (name, body) in files {
            let file = path.join(name);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, body).unwrap();
        }
        Self { path }
    }

    fn read(&self, served_at: &str) -> Vec<u8> {
        std::fs::read(self.path.join(served_at.trim_start_matches('/'))).unwrap()
    }

    fn env(&self) -> String {
        self.path.display().to_string()
    }
}

impl Drop for BuiltDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// `GET path` as a browser on the tenant's page sends it, with `extra` headers.
async fn fetch(node: &TestNode, path: &str, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut request = node.api.request(reqwest::Method::GET, path, anonymous()).header("origin", ORIGIN);
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    request.send().await.expect("the socket-node answers")
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response.headers().get(name).map(|v| v.to_str().unwrap()).unwrap_or_default()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).expect("a gzip body");
    out
}

/// The status line of a request sent as raw bytes (so no client tidies the path first).
async fn raw_status(node: &TestNode, path: &str) -> String {
    let address = node.api.url("").trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(WAIT, stream.read_to_string(&mut answer)).await.expect("an answer in time").unwrap();
    answer.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_loader_and_its_chunks_are_served_cacheable_importable_and_gzipped_when_accepted() {
    let built = BuiltDir::new();
    let cluster = cluster_with(&[("PARLEY_WEB_DIR", &built.env())]).await;
    let node = cluster.node(0);

    // The loader: short-lived (a new release reaches browsers within minutes).
    let loader = fetch(node, LOADER, &[]).await;
    assert_eq!(loader.status(), 200);
    assert_eq!(header(&loader, "content-type"), "text/javascript; charset=utf-8");
    assert_eq!(header(&loader, "cache-control"), "public, max-age=300");
    assert_eq!(header(&loader, "access-control-allow-origin"), "*");
    assert_eq!(header(&loader, "x-content-type-options"), "nosniff");
    assert_eq!(header(&loader, "vary"), "Accept-Encoding");
    assert_eq!(header(&loader, "content-encoding"), "");
    let plain_etag = header(&loader, "etag").to_owned();
    assert!(plain_etag.starts_with('"') && plain_etag.len() > 10, "{plain_etag}");
    assert_eq!(loader.bytes().await.unwrap(), built.read(LOADER));

    // The hashed UI chunk: cached for a year, gzipped for a browser that says it can read it.
    let ui = fetch(node, UI, &[("accept-encoding", "gzip, deflate, br")]).await;
    assert_eq!(ui.status(), 200);
    assert_eq!(header(&ui, "content-type"), "text/javascript; charset=utf-8");
    assert_eq!(header(&ui, "cache-control"), "public, max-age=31536000, immutable");
    assert_eq!(header(&ui, "access-control-allow-origin"), "*", "a dynamic import() is a CORS request");
    assert_eq!(header(&ui, "content-encoding"), "gzip");
    assert_eq!(header(&ui, "vary"), "Accept-Encoding");
    let gzip_etag = header(&ui, "etag").to_owned();
    let compressed = ui.bytes().await.unwrap();
    assert!(compressed.len() < built.read(UI).len(), "smaller on the wire");
    assert_eq!(gunzip(&compressed), built.read(UI), "it decodes to the file");

    // Revalidation: the same file answers 304 with no body, in either encoding.
    let again = fetch(node, UI, &[("accept-encoding", "gzip"), ("if-none-match", &gzip_etag)]).await;
    assert_eq!(again.status(), 304);
    assert_eq!(header(&again, "etag"), gzip_etag);
    assert!(again.bytes().await.unwrap().is_empty());
    let again = fetch(node, LOADER, &[("if-none-match", &plain_etag)]).await;
    assert_eq!(again.status(), 304);
    let changed = fetch(node, LOADER, &[("if-none-match", "\"an-older-release\"")]).await;
    assert_eq!(changed.status(), 200, "another version's tag gets the file");

    // Other kinds, each with its type; already-compressed fonts are sent as they are.
    let map = fetch(node, "/widget/ui-3F7KQ2ZP.js.map", &[]).await;
    assert_eq!((map.status().as_u16(), header(&map, "content-type")), (200, "application/json"));
    assert_eq!(header(&map, "cache-control"), "public, max-age=31536000, immutable");
    let font = fetch(node, "/widget/fonts/inter-AB12CD34.woff2", &[("accept-encoding", "gzip")]).await;
    assert_eq!((font.status().as_u16(), header(&font, "content-type")), (200, "font/woff2"));
    assert_eq!(header(&font, "content-encoding"), "");
    assert_eq!(font.bytes().await.unwrap(), built.read("/widget/fonts/inter-AB12CD34.woff2"));
    let svg = fetch(node, "/widget/launcher.svg", &[]).await;
    assert_eq!(header(&svg, "content-type"), "image/svg+xml");
    assert_eq!(header(&svg, "cache-control"), "public, max-age=300", "no hash in the name: short-lived");
}

#[tokio::test]
async fn only_the_files_found_at_start_up_are_served() {
    let built = BuiltDir::new();
    let cluster = cluster_with(&[("PARLEY_WEB_DIR", &built.env())]).await;
    let node = cluster.node(1);

    let unknown = fetch(node, "/widget/ui-NOPE1234.js", &[]).await;
    assert_eq!(header(&unknown, "cache-control"), "no-store", "a later build is seen at once");
    assert_error(unknown, 404, "asset_not_found").await;
    // A file at the top of the directory that is no app's entry is not served.
    assert_error(fetch(node, "/secret.txt", &[]).await, 404, "route_not_found").await;
    for path in ["/widget/../secret.txt", "/widget/%2e%2e/secret.txt", "/widget/..%2fsecret.txt"] {
        assert_eq!(raw_status(node, path).await, "HTTP/1.1 404 Not Found", "{path}");
    }
    // Files written after start-up wait for a restart.
    std::fs::write(built.path.join("widget/late-ZZ99ZZ99.js"), "late").unwrap();
    assert_error(fetch(node, "/widget/late-ZZ99ZZ99.js", &[]).await, 404, "asset_not_found").await;
    assert_eq!(fetch(node, LOADER, &[]).await.status(), 200);
}

#[tokio::test]
async fn the_console_page_answers_every_path_of_the_app_and_its_files_are_cached_by_name() {
    let built = BuiltDir::new();
    let cluster = cluster_with(&[("PARLEY_WEB_DIR", &built.env())]).await;
    let node = cluster.node(1);
    let page = built.read("/console/index.html");

    // The emails' links and a reload of any console address get the page, asked again each visit.
    for path in ["/console", "/console/", "/console/reset-password", "/console/chatrooms/0193abcd"] {
        let response = fetch(node, path, &[]).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(header(&response, "content-type"), "text/html; charset=utf-8", "{path}");
        assert_eq!(header(&response, "cache-control"), "no-cache", "{path}");
        assert_eq!(header(&response, "x-frame-options"), "DENY", "{path}: the console is never framed");
        assert_eq!(header(&response, "referrer-policy"), "no-referrer", "{path}");
        assert_eq!(response.bytes().await.unwrap().as_ref(), page.as_slice(), "{path}");
    }
    let script = fetch(node, "/console/app-Q1W2E3R4.js", &[]).await;
    assert_eq!(header(&script, "cache-control"), "public, max-age=31536000, immutable");
    assert_eq!(header(&script, "content-type"), "text/javascript; charset=utf-8");
    // A path beside the console's is not the console.
    assert_error(fetch(node, "/consoleX", &[]).await, 404, "route_not_found").await;
}

#[tokio::test]
async fn without_a_built_console_its_pages_answer_503_and_the_widget_still_serves() {
    let built = BuiltDir::new();
    std::fs::remove_dir_all(built.path.join("console")).unwrap();
    let cluster = cluster_with(&[("PARLEY_WEB_DIR", &built.env())]).await;
    let node = cluster.node(1);
    for path in ["/console", "/console/inbox"] {
        assert_error(fetch(node, path, &[]).await, 503, "console_not_built").await;
    }
    assert_eq!(fetch(node, LOADER, &[]).await.status(), 200);
}
