//! The adversarial suite's machinery: every operation of a committed OpenAPI document
//! ([`operations`]) attacked the same way, so a new route is covered the day it is documented.
//!
//! An [`Adversary`] holds one app, a [`Watch`] on its state, and ids that exist in two tenants
//! (made by the test through the API). It sends:
//! - [`Adversary::hostile_tokens`]: no token and each [`hostile_tokens`] variant of tenant A's
//!   admin token, on every operation that needs a bearer token, with path ids of tenant A and a
//!   valid body, so the token is the only thing wrong: 401 `missing_token`, `token_expired`
//!   (only for the expired one) or `invalid_token`;
//! - [`Adversary::cross_tenant_ids`]: on every operation with a path parameter, tenant B's id
//!   (and ids that are not ids: `$ne`, `a.b`, an operator as JSON, an unknown UUID) with tenant
//!   A's admin token (every permission): the 404 `*_not_found` code the operation documents,
//!   exactly as for an unknown id, never 200 or 403, which would reveal that the id exists;
//! - [`Adversary::injections`]: each of [`injections`] in every string field of every request
//!   body (nested objects and array items included; string arrays also get the operators in
//!   place of the array) and in every query parameter: a 4xx with our error shape and a code the
//!   operation documents (or one of [`COMMON_CODES`]), never a 5xx; or a 2xx that stored the
//!   value as the plain, literal string (found in the stored documents), or stored nothing.
//!
//! After every request (or every operation, for the refusals of the first two), the
//! [`StateSnapshot`] must be unchanged: a refused request writes nothing to MongoDB, Redis or
//! Kafka. The failure messages name the operation, the case and every change.
//!
//! Bodies are made from the schema: required properties always, optional ones when they have an
//! `example` or are free text (a string with a `maxLength` and no format or pattern); emails and
//! passwords are fresh, free text is `Adversarial <random>`, arrays are empty (or their
//! example). A path parameter is filled from the [`Ids`] table, keyed by the path segment before
//! it (`users/{id}`); an operation the table cannot fill fails the test saying what to add.

use std::collections::BTreeMap;

use reqwest::{Method, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    Api, Caller, HostileToken, bearer, from_ip, hostile_tokens, random_ip, random_string,
    snapshot::{StateSnapshot, Watch, lines},
    strong_password, unique_email,
};

/// Codes any operation may answer besides its own, with their status (docs/protocol.md,
/// "Errors" and the auth section): malformed or mis-shaped bodies, limits, a missing or bad
/// token, a missing permission, a backing service down.
pub const COMMON_CODES: &[(u16, &str)] = &[
    (400, "malformed_json"),
    (401, "missing_token"),
    (401, "invalid_token"),
    (401, "token_expired"),
    (403, "permission_denied"),
    (404, "route_not_found"),
    (413, "body_too_large"),
    (415, "unsupported_media_type"),
    (422, "invalid_body"),
    (429, "rate_limited"),
    (503, "service_unavailable"),
];

/// What an attacker puts where a string belongs.
#[derive(Debug, Clone)]
pub struct Injection {
    pub what: &'static str,
    pub value: Value,
}

/// Query operators, strings that mean something to MongoDB (an operator name, a dotted path), a
/// NUL byte, and a string far longer than any field allows (but well within the body limit).
pub fn injections() -> Vec<Injection> {
    let injection = |what, value| Injection { what, value };
    vec![
        injection("{$ne: null}", json!({ "$ne": null })),
        injection("{$gt: \"\"}", json!({ "$gt": "" })),
        injection("{$where: \"1\"}", json!({ "$where": "1" })),
        injection("{$regex: \".*\"}", json!({ "$regex": ".*" })),
        injection("\"$ne\"", json!("$ne")),
        injection("\"$set\"", json!("$set")),
        injection("\"a.b\"", json!("a.b")),
        injection("a NUL byte", json!("nul\u{0}byte")),
        injection("100,000 characters", json!("x".repeat(100_000))),
    ]
}

/// One operation of an OpenAPI document, as the generator uses it.
#[derive(Debug, Clone)]
pub struct Operation {
    /// `operationId`.
    pub id: String,
    pub method: Method,
    /// The path template, `/users/{id}`.
    pub path: String,
    pub path_params: Vec<String>,
    pub query: Vec<QueryParam>,
    /// Whether it needs `Authorization: Bearer` (its security requirement is `bearer`, with no
    /// empty alternative).
    pub bearer: bool,
    /// The JSON body's schema (components resolved), and whether a body is required.
    pub body: Option<(Value, bool)>,
    /// Status → the codes its description names.
    pub responses: BTreeMap<u16, Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct QueryParam {
    pub name: String,
    /// A date, an enum or a named type: no injected value is valid, so a 2xx would be a bug.
    pub constrained: bool,
}

/// A step into a body: a property or an array's items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Field(String),
    Item,
}

/// Where a string sits in a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringField {
    pub path: Vec<Step>,
    /// `format: password`: stored hashed, so a 2xx cannot be read back.
    pub secret: bool,
    /// An array of strings (the path ends before `Item`): it gets the operators in its place.
    pub array: bool,
}

impl StringField {
    pub fn shown(&self) -> String {
        let mut shown = String::new();
        for step in &self.path {
            match step {
                Step::Field(name) if shown.is_empty() => shown.push_str(name),
                Step::Field(name) => shown.push_str(&format!(".{name}")),
                Step::Item => shown.push_str("[]"),
            }
        }
        shown
    }
}

impl Operation {
    /// `PATCH /users/{id}`.
    pub fn shown(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// Every string of the body (see [`StringField`]).
    pub fn string_fields(&self) -> Vec<StringField> {
        let mut fields = Vec::new();
        if let Some((schema, _)) = &self.body {
            collect_strings(schema, &mut Vec::new(), &mut fields);
        }
        fields
    }

    /// A body with the required properties only (`None` for a body-less operation).
    pub fn minimal_body(&self) -> Option<Value> {
        self.body.as_ref().map(|(schema, _)| sample(schema, false).unwrap_or_else(|| self.cannot_fill(schema)))
    }

    /// A body with the required properties and the optional ones that can be made up.
    pub fn sample_body(&self) -> Option<Value> {
        self.body.as_ref().map(|(schema, _)| sample(schema, true).unwrap_or_else(|| self.cannot_fill(schema)))
    }

    fn cannot_fill(&self, schema: &Value) -> Value {
        panic!(
            "cannot make a valid body for {} ({}) from its schema {schema}: give the property an `example` in \
             its #[derive(ToSchema)] (a valid value), or teach shared::testing::adversarial::sample its format",
            self.shown(),
            self.id
        )
    }

    /// Every code the operation's responses name.
    pub fn documented_codes(&self) -> impl Iterator<Item = (u16, &str)> {
        self.responses.iter().flat_map(|(status, codes)| codes.iter().map(|c| (*status, c.as_str())))
    }

    /// Whether `(status, code)` is documented for this operation (or common to all).
    pub fn documents(&self, status: u16, code: &str) -> bool {
        self.documented_codes().any(|(s, c)| (s, c) == (status, code)) || COMMON_CODES.contains(&(status, code))
    }

    /// The 404 code this operation answers for an id that is not the caller's.
    pub fn not_found_code(&self) -> String {
        let codes: Vec<&String> =
            self.responses.get(&404).into_iter().flatten().filter(|c| c.ends_with("_not_found")).collect();
        match codes.as_slice() {
            [code] => (*code).clone(),
            _ => panic!(
                "{} ({}) takes {:?} but documents {} `*_not_found` codes for 404 ({:?}): document exactly the one \
                 it answers for an id of another tenant (`(status = 404, description = \"..._not_found\")`)",
                self.shown(),
                self.id,
                self.path_params,
                codes.len(),
                self.responses.get(&404)
            ),
        }
    }

    /// The path with each parameter given by `id(param, segment before it)`.
    pub fn fill(&self, mut id: impl FnMut(&str, &str) -> String) -> String {
        let mut out = String::new();
        let mut previous = "";
        for segment in self.path.split('/').skip(1) {
            out.push('/');
            match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(param) => out.push_str(&id(param, previous)),
                None => out.push_str(segment),
            }
            previous = segment;
        }
        out
    }
}

/// The operations of `socket-node/web/console/api/<name>.openapi.json`, in document order.
pub fn operations(name: &str) -> Vec<Operation> {
    let path = super::openapi::committed_dir().join(format!("{name}.openapi.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let document: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    let mut operations = Vec::new();
    for (template, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            let Ok(method) = method.to_ascii_uppercase().parse::<Method>() else { continue };
            if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
                continue;
            }
            operations.push(operation_of(&document, template, method, operation));
        }
    }
    operations
}

fn operation_of(document: &Value, template: &str, method: Method, operation: &Value) -> Operation {
    let parameters = operation["parameters"].as_array().cloned().unwrap_or_default();
    let of = |place: &'static str| parameters.iter().filter(move |p| p["in"] == place);
    let path_params = of("path").map(|p| p["name"].as_str().expect("a name").to_owned()).collect();
    let query = of("query")
        .map(|p| {
            let schema = &p["schema"];
            let constrained = schema.get("$ref").is_some()
                || schema.get("format").is_some()
                || schema.get("enum").is_some()
                || schema.get("pattern").is_some();
            QueryParam { name: p["name"].as_str().expect("a name").to_owned(), constrained }
        })
        .collect();
    let security = operation["security"].as_array().cloned().unwrap_or_default();
    let bearer = !security.is_empty()
        && security.iter().all(|s| s.get("bearer").is_some())
        && !security.iter().any(|s| s.as_object().is_some_and(|o| o.is_empty()));
    let body = operation["requestBody"]["content"]["application/json"]["schema"].as_object().map(|schema| {
        let required = operation["requestBody"]["required"].as_bool().unwrap_or(false);
        (resolve(document, &Value::Object(schema.clone()), 0), required)
    });
    let responses = operation["responses"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(status, response)| {
            let status = status.parse::<u16>().ok()?;
            Some((status, codes_in(response["description"].as_str().unwrap_or_default())))
        })
        .collect();
    Operation {
        id: operation["operationId"].as_str().unwrap_or("<no operationId>").to_owned(),
        method,
        path: template.to_owned(),
        path_params,
        query,
        bearer,
        body,
        responses,
    }
}

/// The snake_case codes (at least one underscore) a response description names.
fn codes_in(description: &str) -> Vec<String> {
    description
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
        .filter(|w| w.contains('_') && !w.starts_with('_') && !w.ends_with('_'))
        .map(str::to_owned)
        .collect()
}

/// The schema with every `$ref` into `components/schemas` replaced by what it names.
fn resolve(document: &Value, schema: &Value, depth: usize) -> Value {
    assert!(depth < 32, "a $ref cycle in the OpenAPI document");
    match schema {
        Value::Object(map) => {
            if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
                let name =
                    reference.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("a $ref {reference}"));
                let target = &document["components"]["schemas"][name];
                assert!(!target.is_null(), "the OpenAPI document has no schema {name}");
                let mut resolved = resolve(document, target, depth + 1);
                // Siblings of a $ref (a description, an example) win.
                if let Value::Object(resolved_map) = &mut resolved {
                    for (k, v) in map.iter().filter(|(k, _)| *k != "$ref") {
                        resolved_map.insert(k.clone(), v.clone());
                    }
                }
                return resolved;
            }
            Value::Object(map.iter().map(|(k, v)| (k.clone(), resolve(document, v, depth))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| resolve(document, v, depth)).collect()),
        other => other.clone(),
    }
}

/// The schema without its `null` alternative (`oneOf: [{type: null}, X]` is X).
fn non_null(schema: &Value) -> &Value {
    if let Some(variants) = schema["oneOf"].as_array() {
        let real: Vec<&Value> = variants.iter().filter(|v| v["type"] != "null").collect();
        if let [only] = real.as_slice() {
            return only;
        }
    }
    schema
}

fn is_type(schema: &Value, name: &str) -> bool {
    match &schema["type"] {
        Value::String(t) => t == name,
        Value::Array(types) => types.iter().any(|t| t == name),
        _ => name == "object" && schema.get("properties").is_some(),
    }
}

fn collect_strings(schema: &Value, path: &mut Vec<Step>, into: &mut Vec<StringField>) {
    let schema = non_null(schema);
    if is_type(schema, "string") {
        let secret = schema["format"] == "password";
        into.push(StringField { path: path.clone(), secret, array: false });
    } else if is_type(schema, "array") {
        let items = non_null(&schema["items"]);
        if is_type(items, "string") {
            into.push(StringField { path: path.clone(), secret: false, array: true });
        }
        path.push(Step::Item);
        collect_strings(items, path, into);
        path.pop();
    } else if is_type(schema, "object") {
        for (name, property) in schema["properties"].as_object().into_iter().flatten() {
            path.push(Step::Field(name.clone()));
            collect_strings(property, path, into);
            path.pop();
        }
    }
}

/// A valid value for `schema`, if one can be made up (see the module documentation).
fn sample(schema: &Value, optional_too: bool) -> Option<Value> {
    let schema = non_null(schema);
    if let Some(example) = schema.get("example") {
        return Some(example.clone());
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return Some(first.clone());
    }
    if is_type(schema, "string") {
        return match schema["format"].as_str() {
            Some("email") => Some(json!(unique_email("adversary"))),
            Some("password") => Some(json!(strong_password())),
            Some(_) => None,
            None if schema.get("pattern").is_some() => None,
            None => {
                let max = schema["maxLength"].as_u64().unwrap_or(100) as usize;
                let mut text = format!("Adversarial {}", random_string(8));
                text.truncate(max.max(1));
                Some(json!(text))
            }
        };
    }
    if is_type(schema, "integer") || is_type(schema, "number") {
        return Some(schema.get("minimum").cloned().unwrap_or(json!(0)));
    }
    if is_type(schema, "boolean") {
        return Some(json!(false));
    }
    if is_type(schema, "array") {
        return Some(json!([]));
    }
    if is_type(schema, "object") {
        let required: Vec<&str> =
            schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let mut body = serde_json::Map::new();
        for (name, property) in schema["properties"].as_object().into_iter().flatten() {
            if required.contains(&name.as_str()) {
                body.insert(name.clone(), sample(property, optional_too)?);
            } else if optional_too
                && is_free_text_or_example(property)
                && let Some(value) = sample(property, false)
            {
                body.insert(name.clone(), value);
            }
        }
        return Some(Value::Object(body));
    }
    None
}

fn is_free_text_or_example(schema: &Value) -> bool {
    let schema = non_null(schema);
    schema.get("example").is_some()
        || (is_type(schema, "string")
            && schema.get("maxLength").is_some()
            && schema.get("format").is_none()
            && schema.get("pattern").is_none())
}

/// `body` with `value` at `path` (objects made on the way; an array becomes `[value]`).
pub fn with_value(body: &Value, path: &[Step], value: Value) -> Value {
    match path.split_first() {
        None => value,
        Some((Step::Field(name), rest)) => {
            let mut object = body.as_object().cloned().unwrap_or_default();
            let inner = object.get(name).cloned().unwrap_or(Value::Null);
            object.insert(name.clone(), with_value(&inner, rest, value));
            Value::Object(object)
        }
        Some((Step::Item, rest)) => {
            let inner = body.as_array().and_then(|a| a.first()).cloned().unwrap_or(Value::Null);
            json!([with_value(&inner, rest, value)])
        }
    }
}

/// Whether `literal` is a string somewhere in `value`.
fn holds_string(value: &Value, literal: &str) -> bool {
    match value {
        Value::String(s) => s == literal,
        Value::Array(items) => items.iter().any(|v| holds_string(v, literal)),
        Value::Object(map) => map.values().any(|v| holds_string(v, literal)),
        _ => false,
    }
}

/// Ids that exist in the two tenants, by the path segment before the parameter and its name:
/// `users/{id}` → (tenant A's, tenant B's).
#[derive(Debug, Clone, Default)]
pub struct Ids {
    ids: BTreeMap<String, (String, String)>,
    /// Where the table is written, for the message that says how to extend it.
    pub written_in: &'static str,
}

impl Ids {
    pub fn new(written_in: &'static str) -> Self {
        Self { ids: BTreeMap::new(), written_in }
    }

    /// `key` is `<segment>/{<param>}`, e.g. `users/{id}`.
    pub fn with(mut self, key: &str, own: impl Into<String>, other: impl Into<String>) -> Self {
        self.ids.insert(key.to_owned(), (own.into(), other.into()));
        self
    }

    fn pair(&self, operation: &Operation, param: &str, segment: &str) -> &(String, String) {
        let key = format!("{segment}/{{{param}}}");
        self.ids.get(&key).unwrap_or_else(|| {
            panic!(
                "no id for `{{{param}}}` in {} ({}): make one in each tenant through the API and add \
                 `.with(\"{key}\", own, other)` to the Ids table in {}",
                operation.shown(),
                operation.id,
                self.written_in
            )
        })
    }

    pub fn own(&self, operation: &Operation) -> String {
        operation.fill(|param, segment| self.pair(operation, param, segment).0.clone())
    }

    pub fn other(&self, operation: &Operation) -> String {
        operation.fill(|param, segment| self.pair(operation, param, segment).1.clone())
    }
}

/// One app under attack (see the module documentation).
pub struct Adversary<'a> {
    api: &'a Api,
    watch: &'a Watch,
    /// Which document (`tenant`, `chatbots`, `analytics`), for messages.
    document: &'static str,
    /// Every operation of that document.
    operations: Vec<Operation>,
    ids: Ids,
    /// An access token of tenant A's admin: every permission.
    admin_token: String,
}

/// What came back, read once.
struct Answer {
    status: u16,
    text: String,
    body: Value,
}

async fn read(response: Response) -> Answer {
    let status = response.status().as_u16();
    let mut text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    // Messages show the start of a body: enough to see what came back.
    if let Some((cut, _)) = text.char_indices().nth(500) {
        text.truncate(cut);
        text.push_str("...");
    }
    Answer { status, text, body }
}

impl<'a> Adversary<'a> {
    /// An attack on the app `api` serves, whose committed OpenAPI document is `document`, with
    /// tenant A's and B's `ids` and an `admin_token` of tenant A.
    pub fn new(api: &'a Api, watch: &'a Watch, document: &'static str, ids: Ids, admin_token: String) -> Self {
        Self { api, watch, document, operations: operations(document), ids, admin_token }
    }

    async fn send(&self, operation: &Operation, path: &str, caller: Caller<'_>, body: Option<&Value>) -> Answer {
        let mut request = self.api.request(operation.method.clone(), path, caller);
        if let Some(body) = body {
            request = request.json(body);
        }
        read(request.send().await.unwrap_or_else(|e| panic!("{} {path}: {}", operation.method, e.without_url()))).await
    }

    fn caller<'t>(&'t self, operation: &Operation, ip: &'t str) -> Caller<'t> {
        if operation.bearer { bearer(&self.admin_token) } else { from_ip(ip) }
    }

    /// The operations that need a bearer token; fails if there are none (a misread document).
    pub fn authenticated(&self) -> Vec<&Operation> {
        let found: Vec<&Operation> = self.operations.iter().filter(|o| o.bearer).collect();
        assert!(!found.is_empty(), "the {} document has no operation that needs a bearer token", self.document);
        found
    }

    /// No token, and each hostile variant of the admin's token (`kid` = `secret` is the key the
    /// app signs with), on every authenticated operation: 401 and nothing changed.
    pub async fn hostile_tokens(&self, kid: &str, secret: &str) {
        let tokens = hostile_tokens(&self.admin_token, kid, secret);
        let mut before = self.watch.snapshot().await;
        for operation in self.authenticated() {
            let path = self.ids.own(operation);
            let body = operation.sample_body();
            let answer = self.send(operation, &path, Caller::default(), body.as_ref()).await;
            expect_refusal(&answer, 401, "missing_token", &format!("{} without a token", operation.shown()));
            for HostileToken { case, token, expired } in &tokens {
                let code = if *expired { "token_expired" } else { "invalid_token" };
                let answer = self.send(operation, &path, bearer(token), body.as_ref()).await;
                expect_refusal(&answer, 401, code, &format!("{} with a token {case}", operation.shown()));
            }
            let after = self.watch.snapshot().await;
            before.assert_unchanged(&after, &format!("{} with hostile tokens", operation.shown()));
            before = after;
        }
    }

    /// Tenant B's ids, and ids that are not ids, with tenant A's admin token, on every operation
    /// that takes one: the documented 404 and nothing changed. Answers how many operations take
    /// an id.
    pub async fn cross_tenant_ids(&self) -> usize {
        let not_ids = [
            "$ne".to_owned(),
            "a.b".to_owned(),
            "%7B%22%24ne%22%3Anull%7D".to_owned(),
            "%24gt".to_owned(),
            Uuid::now_v7().to_string(),
        ];
        let mut before = self.watch.snapshot().await;
        let operations: Vec<&Operation> = self.operations.iter().filter(|o| !o.path_params.is_empty()).collect();
        for operation in &operations {
            let code = operation.not_found_code();
            let body = operation.sample_body();
            let ip = random_ip();
            let mut paths = vec![("tenant B's id".to_owned(), self.ids.other(operation))];
            paths.extend(not_ids.iter().map(|id| (format!("the id {id}"), operation.fill(|_, _| id.clone()))));
            for (what, path) in paths {
                let answer = self.send(operation, &path, self.caller(operation, &ip), body.as_ref()).await;
                expect_refusal(&answer, 404, &code, &format!("{} with {what} ({path})", operation.shown()));
            }
            let after = self.watch.snapshot().await;
            before.assert_unchanged(&after, &format!("{} with another tenant's ids", operation.shown()));
            before = after;
        }
        operations.len()
    }

    /// Each injection in every string field of every body and in every query parameter (see
    /// the module documentation). Answers how many requests were sent.
    pub async fn injections(&self) -> usize {
        let mut sent = 0;
        let mut before = self.watch.snapshot().await;
        for operation in &self.operations {
            let path = self.ids.own(operation);
            for field in operation.string_fields() {
                for injection in injections() {
                    if field.array && !injection.value.is_object() {
                        continue;
                    }
                    let body = with_value(
                        &operation.minimal_body().unwrap_or(json!({})),
                        &field.path,
                        injection.value.clone(),
                    );
                    let ip = random_ip();
                    let answer = self.send(operation, &path, self.caller(operation, &ip), Some(&body)).await;
                    let what = format!("{} with {} in {}", operation.shown(), injection.what, field.shown());
                    let after = self.watch.snapshot().await;
                    self.judge(operation, &answer, &injection, !field.secret, &before, &after, &what);
                    before = after;
                    sent += 1;
                }
            }
            for param in &operation.query {
                for (query, injection, refused) in query_injections(&param.name) {
                    let ip = random_ip();
                    let what = format!("{} with {} in ?{}", operation.shown(), injection.what, param.name);
                    let request = self.api.request(operation.method.clone(), &path, self.caller(operation, &ip));
                    let response = request.query(&query).send().await;
                    let answer = read(response.unwrap_or_else(|e| panic!("{what}: {}", e.without_url()))).await;
                    // A constrained parameter refuses what it cannot be; every route refuses a
                    // parameter it does not take (the `name[$op]` form).
                    let unknown = query.iter().any(|(name, _)| *name != param.name);
                    if refused && (param.constrained || unknown) {
                        assert!(
                            (400..500).contains(&answer.status),
                            "{what}: expected a 4xx, got {} {}",
                            answer.status,
                            answer.text
                        );
                    }
                    let after = self.watch.snapshot().await;
                    self.judge(operation, &answer, &injection, false, &before, &after, &what);
                    before = after;
                    sent += 1;
                }
            }
        }
        sent
    }

    /// A refusal with a documented code and nothing changed, or a 2xx that stored the literal.
    #[allow(clippy::too_many_arguments)]
    fn judge(
        &self,
        operation: &Operation,
        answer: &Answer,
        injection: &Injection,
        readable: bool,
        before: &StateSnapshot,
        after: &StateSnapshot,
        what: &str,
    ) {
        let changes = before.diff(after);
        match answer.status {
            400..=499 => {
                let code = answer.body["code"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{what}: {} without our error shape: {}", answer.status, answer.text));
                assert!(
                    answer.body["message"].as_str().is_some_and(|m| !m.is_empty()),
                    "{what}: an error without a message: {}",
                    answer.text
                );
                assert!(
                    operation.documents(answer.status, code),
                    "{what}: answered {} {code}, which {} ({}) does not document (its responses: {:?}; common: {:?})",
                    answer.status,
                    operation.shown(),
                    operation.id,
                    operation.responses,
                    COMMON_CODES
                );
                assert!(
                    changes.is_empty(),
                    "{what} was refused ({} {code}) but changed:\n{}",
                    answer.status,
                    lines(&changes)
                );
            }
            200..=299 => {
                let Value::String(literal) = &injection.value else {
                    panic!("{what}: an operator where a string belongs was accepted: {} {}", answer.status, answer.text)
                };
                if changes.is_empty() || !readable {
                    return;
                }
                let stored = changes
                    .iter()
                    .filter(|c| c.place().starts_with("mongo "))
                    .filter_map(|c| c.now())
                    .any(|doc| serde_json::from_str::<Value>(doc).is_ok_and(|doc| holds_string(&doc, literal)));
                assert!(
                    stored,
                    "{what}: answered {} and changed the stored state, but no stored document holds the literal \
                     string:\n{}",
                    answer.status,
                    lines(&changes)
                );
            }
            status => panic!("{what}: answered {status}: {}", answer.text),
        }
    }
}

/// Query parameters as `(name, value)` pairs.
type Query = Vec<(String, String)>;

/// The ways an injection goes into query parameter `name`, and whether a constrained parameter
/// must refuse it: strings as the value, and operators as JSON text, must be refused there;
/// operators as `name[$op]=...` (how qs-style parsers build objects) are a parameter the route
/// does not take, which every route refuses (`invalid_query`, `shared::http::QueryParams`).
fn query_injections(name: &str) -> Vec<(Query, Injection, bool)> {
    let mut cases = Vec::new();
    for injection in injections() {
        match &injection.value {
            // A URL is at most 64 KiB to the HTTP stack: the long string is cut to 8,000 characters.
            Value::String(s) if s.len() > 8_000 => {
                let cut = Injection { what: "8,000 characters", value: json!(s[..8_000]) };
                cases.push((vec![(name.to_owned(), s[..8_000].to_owned())], cut, true))
            }
            Value::String(s) => cases.push((vec![(name.to_owned(), s.clone())], injection.clone(), true)),
            Value::Object(map) => {
                let (op, arg) = map.iter().next().expect("an operator");
                let bracketed = vec![(format!("{name}[{op}]"), arg.as_str().unwrap_or("null").to_owned())];
                let shown = Injection { what: injection.what, value: json!(format!("{name}[{op}]")) };
                cases.push((bracketed, shown, true));
                let text = Injection { what: injection.what, value: json!(injection.value.to_string()) };
                cases.push((vec![(name.to_owned(), injection.value.to_string())], text, true));
            }
            _ => {}
        }
    }
    cases
}

/// A 4xx with our error shape and this status and code.
fn expect_refusal(answer: &Answer, status: u16, code: &str, what: &str) {
    assert_eq!(
        (answer.status, answer.body["code"].as_str()),
        (status, Some(code)),
        "{what}: expected {status} {code}, got {} {}",
        answer.status,
        answer.text
    );
    assert!(answer.body["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: no message: {}", answer.text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_from_descriptions() {
        assert_eq!(
            codes_in("invalid_refresh_token, refresh_token_reused (cookie mode: the cookie is cleared)"),
            ["invalid_refresh_token", "refresh_token_reused"]
        );
        assert_eq!(codes_in("permission_denied (analytics:view)"), ["permission_denied"]);
        assert!(codes_in("").is_empty());
    }

    #[test]
    fn a_value_goes_where_the_path_says() {
        let base = json!({ "name": "x", "roles": ["a", "b"] });
        let path = [Step::Field("roles".into()), Step::Item];
        assert_eq!(with_value(&base, &path, json!("$ne")), json!({ "name": "x", "roles": ["$ne"] }));
        let nested = [Step::Field("settings".into()), Step::Field("colour".into())];
        assert_eq!(with_value(&json!({}), &nested, json!(1)), json!({ "settings": { "colour": 1 } }));
    }

    #[test]
    fn every_committed_document_is_read_and_its_bodies_can_be_made() {
        for name in ["tenant", "chatbots", "analytics"] {
            let operations = operations(name);
            assert!(!operations.is_empty(), "{name}");
            for operation in &operations {
                operation.sample_body();
                operation.minimal_body();
            }
        }
        let tenant = operations("tenant");
        let update = tenant.iter().find(|o| o.id == "update_user").expect("update_user");
        assert!(update.bearer);
        assert_eq!(update.path_params, ["id"]);
        assert_eq!(update.not_found_code(), "user_not_found");
        let fields: Vec<String> = update.string_fields().iter().map(StringField::shown).collect();
        assert!(fields.contains(&"roleIds[]".to_owned()) && fields.contains(&"name".to_owned()), "{fields:?}");
        let login = tenant.iter().find(|o| o.id == "login").expect("login");
        assert!(!login.bearer);
    }
}
