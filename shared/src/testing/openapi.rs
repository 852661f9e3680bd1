//! The OpenAPI documents committed under `socket-node/web/console/api/`, from which the console's
//! build generates its TypeScript types (openapi-typescript). Each function's tests check that
//! the committed file is its current document, so the two cannot drift; with
//! `PARLEY_UPDATE_OPENAPI=1` the check rewrites the file instead.

use std::path::PathBuf;

use utoipa::openapi::OpenApi;

/// Where the documents are committed.
pub fn committed_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../socket-node/web/console/api"))
}

/// Fails unless `socket-node/web/console/api/<name>.openapi.json` is `document` as
/// [`crate::openapi::to_pretty_json`] writes it, saying how to refresh it (`package` is the
/// crate to test). With `PARLEY_UPDATE_OPENAPI=1` it writes the file and passes. Either way the
/// document's operation ids must be unique: the generated client names operations by them.
pub fn assert_committed(document: &OpenApi, name: &str, package: &str) {
    assert_unique_operation_ids(document);
    let path = committed_dir().join(format!("{name}.openapi.json"));
    let shown = format!("socket-node/web/console/api/{name}.openapi.json");
    let current = crate::openapi::to_pretty_json(document);
    if std::env::var("PARLEY_UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(committed_dir()).unwrap_or_else(|e| panic!("cannot create the folder of {shown}: {e}"));
        std::fs::write(&path, &current).unwrap_or_else(|e| panic!("cannot write {shown}: {e}"));
        return;
    }
    let refresh = format!("run `PARLEY_UPDATE_OPENAPI=1 cargo test -p {package} openapi` to refresh it, and commit it");
    let committed = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => panic!("{shown} cannot be read ({e}): {refresh}"),
    };
    if committed == current {
        return;
    }
    let line = committed.lines().zip(current.lines()).position(|(a, b)| a != b);
    let line = line.unwrap_or_else(|| committed.lines().count().min(current.lines().count()));
    panic!(
        "{shown} is not the {package} function's current OpenAPI document (they differ from line {}: \
         committed {:?}, current {:?}): {refresh}",
        line + 1,
        committed.lines().nth(line).unwrap_or("<end of file>"),
        current.lines().nth(line).unwrap_or("<end of file>"),
    );
}

fn assert_unique_operation_ids(document: &OpenApi) {
    let mut seen = std::collections::BTreeMap::<String, Vec<String>>::new();
    for (path, item) in &document.paths.paths {
        let operations = [
            ("GET", &item.get),
            ("PUT", &item.put),
            ("POST", &item.post),
            ("DELETE", &item.delete),
            ("PATCH", &item.patch),
        ];
        for (method, operation) in operations {
            if let Some(id) = operation.as_ref().and_then(|o| o.operation_id.clone()) {
                seen.entry(id).or_default().push(format!("{method} {path}"));
            }
        }
    }
    let shared: Vec<_> = seen.into_iter().filter(|(_, routes)| routes.len() > 1).collect();
    assert!(shared.is_empty(), "operation ids used more than once (set operation_id in #[utoipa::path]): {shared:?}");
}
