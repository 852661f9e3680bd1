//! Cookie mode (`X-Parley-Refresh: cookie`), as the console's browser sees it: the refresh token
//! only in an `HttpOnly; Secure; SameSite=Strict` cookie scoped to the auth routes, rotated by
//! refresh, its reuse revoking the family, cleared by logout and by every refused refresh; and
//! JSON mode untouched beside it.

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::support::{
    TestApp, anonymous, assert_error, bearer, expect_status, from_ip, instant, random_ip, sign_up, sign_up_body,
    spawn_app, spawn_app_with,
};

const THIRTY_DAYS: i64 = 30 * 24 * 3600;

/// A `Set-Cookie` header, split into its value and its attributes as written.
#[derive(Debug)]
struct SetCookie {
    name: String,
    value: String,
    attributes: Vec<String>,
}

impl SetCookie {
    fn max_age(&self) -> i64 {
        let attribute = self.attributes.iter().find_map(|a| a.strip_prefix("Max-Age="));
        attribute.unwrap_or_else(|| panic!("no Max-Age: {self:?}")).parse().expect("Max-Age is a number")
    }

    /// The attributes with `Max-Age`'s value left out, to compare with what is promised.
    fn attributes_but_max_age(&self) -> Vec<&str> {
        self.attributes.iter().map(|a| if a.starts_with("Max-Age=") { "Max-Age" } else { a.as_str() }).collect()
    }
}

/// The one `Set-Cookie` of a response (fails on none or several).
fn set_cookie(response: &Response) -> SetCookie {
    let headers: Vec<&str> =
        response.headers().get_all("set-cookie").iter().map(|v| v.to_str().expect("ASCII")).collect();
    assert_eq!(headers.len(), 1, "expected one Set-Cookie, got {headers:?}");
    let mut parts = headers[0].split("; ");
    let (name, value) = parts.next().unwrap().split_once('=').expect("name=value");
    SetCookie { name: name.to_owned(), value: value.to_owned(), attributes: parts.map(str::to_owned).collect() }
}

fn no_set_cookie(response: &Response) {
    let headers: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
    assert!(headers.is_empty(), "JSON mode sets no cookie: {headers:?}");
}

/// A POST in cookie mode, with the `parley_refresh` cookie when given, and no body.
async fn cookie_post(app: &TestApp, path: &str, cookie: Option<&str>) -> Response {
    let ip = random_ip();
    let mut request = app.request(Method::POST, path, from_ip(&ip)).header("x-parley-refresh", "cookie");
    if let Some(cookie) = cookie {
        request = request.header("cookie", format!("theme=dark; parley_refresh={cookie}"));
    }
    request.send().await.expect("POST")
}

/// Logs in in cookie mode; answers the body and the cookie.
async fn cookie_login(app: &TestApp, email: &str, password: &str) -> (Value, SetCookie) {
    let ip = random_ip();
    let response = app
        .request(Method::POST, "/auth/login", from_ip(&ip))
        .header("x-parley-refresh", "cookie")
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("POST /auth/login");
    let cookie = set_cookie(&response);
    (expect_status(response, 200).await, cookie)
}

/// Checks the cookie's attributes against what cookie mode promises, and its lifetime against
/// `refreshExpiresAt`.
fn assert_refresh_cookie(cookie: &SetCookie, tokens: &Value) {
    assert_eq!(cookie.name, "parley_refresh");
    assert!(cookie.value.starts_with("prt_"), "{cookie:?}");
    assert_eq!(
        cookie.attributes_but_max_age(),
        ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api/tenant/auth", "Max-Age"],
        "{cookie:?}"
    );
    let until_expiry = (instant(&tokens["refreshExpiresAt"]) - time::OffsetDateTime::now_utc()).whole_seconds();
    assert!((cookie.max_age() - until_expiry).abs() <= 5, "Max-Age {} for {until_expiry} s", cookie.max_age());
    assert!((cookie.max_age() - THIRTY_DAYS).abs() <= 5, "Max-Age {}", cookie.max_age());
    assert!(tokens.get("refreshToken").is_none(), "the refresh token is in the body too: {tokens}");
    assert_eq!(tokens["tokenType"], "Bearer");
}

fn assert_cleared(response: &Response) {
    let cookie = set_cookie(response);
    assert_eq!((cookie.name.as_str(), cookie.value.as_str(), cookie.max_age()), ("parley_refresh", "", 0));
    assert!(cookie.attributes.contains(&"Path=/api/tenant/auth".to_owned()), "{cookie:?}");
}

#[tokio::test]
async fn cookie_mode_login_and_sign_up_set_the_refresh_cookie_and_leave_the_token_out_of_the_body() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let (tokens, cookie) = cookie_login(&app, &admin.email, &admin.password).await;
    assert_refresh_cookie(&cookie, &tokens);
    let me = expect_status(app.get("/me", bearer(tokens["accessToken"].as_str().unwrap())).await, 200).await;
    assert_eq!(me["user"]["id"], admin.user_id);

    let ip = random_ip();
    let response = app
        .request(Method::POST, "/tenants", from_ip(&ip))
        .header("x-parley-refresh", "cookie")
        .json(&sign_up_body())
        .send()
        .await
        .unwrap();
    let cookie = set_cookie(&response);
    let signed_up = expect_status(response, 201).await;
    assert_refresh_cookie(&cookie, &signed_up["tokens"]);
    assert!(!signed_up.to_string().contains(&cookie.value), "the refresh token is in the body: {signed_up}");
    // The cookie is a working refresh token.
    let response = cookie_post(&app, "/auth/refresh", Some(&cookie.value)).await;
    assert_refresh_cookie(&set_cookie(&response), &expect_status(response, 200).await);
}

#[tokio::test]
async fn a_cookie_refresh_rotates_the_cookie_and_replaying_an_old_one_revokes_the_family() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let (_, first) = cookie_login(&app, &admin.email, &admin.password).await;

    let response = cookie_post(&app, "/auth/refresh", Some(&first.value)).await;
    let second = set_cookie(&response);
    let tokens = expect_status(response, 200).await;
    assert_refresh_cookie(&second, &tokens);
    assert_ne!(second.value, first.value, "the cookie is rotated");
    expect_status(app.get("/me", bearer(tokens["accessToken"].as_str().unwrap())).await, 200).await;

    // `{}` is a body cookie mode accepts as well as none.
    let ip = random_ip();
    let response = app
        .request(Method::POST, "/auth/refresh", from_ip(&ip))
        .header("x-parley-refresh", "cookie")
        .header("cookie", format!("parley_refresh={}", second.value))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let third = set_cookie(&response);
    assert_refresh_cookie(&third, &expect_status(response, 200).await);

    // The first cookie again: someone else holds it. The family is revoked, the cookie cleared.
    let response = cookie_post(&app, "/auth/refresh", Some(&first.value)).await;
    assert_cleared(&response);
    let body = assert_error(response, 401, "refresh_token_reused").await;
    assert!(!body.to_string().contains(&first.value), "the error body holds the token: {body}");
    // The newest cookie died with its family.
    let response = cookie_post(&app, "/auth/refresh", Some(&third.value)).await;
    assert_cleared(&response);
    assert_error(response, 401, "invalid_refresh_token").await;
}

#[tokio::test]
async fn a_cookie_logout_clears_the_cookie_and_its_token_stops_working() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let (_, cookie) = cookie_login(&app, &admin.email, &admin.password).await;
    let response = cookie_post(&app, "/auth/logout", Some(&cookie.value)).await;
    assert_cleared(&response);
    expect_status(response, 204).await;
    let response = cookie_post(&app, "/auth/refresh", Some(&cookie.value)).await;
    assert_cleared(&response);
    assert_error(response, 401, "invalid_refresh_token").await;
    // A logout without the cookie (already gone) still answers 204 and clears it.
    let response = cookie_post(&app, "/auth/logout", None).await;
    assert_cleared(&response);
    expect_status(response, 204).await;
}

#[tokio::test]
async fn cookie_mode_takes_the_token_only_from_the_cookie() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let response = cookie_post(&app, "/auth/refresh", None).await;
    assert_cleared(&response);
    assert_error(response, 401, "invalid_refresh_token").await;

    // A token in the body of a cookie-mode refresh is refused, and stays unused.
    let ip = random_ip();
    let response = app
        .request(Method::POST, "/auth/refresh", from_ip(&ip))
        .header("x-parley-refresh", "cookie")
        .json(&json!({ "refreshToken": admin.refresh }))
        .send()
        .await
        .unwrap();
    let body = assert_error(response, 422, "invalid_body").await;
    assert!(!body.to_string().contains(&admin.refresh), "{body}");
    let response = app.post("/auth/refresh", anonymous(), json!({ "refreshToken": admin.refresh })).await;
    expect_status(response, 200).await;
}

#[tokio::test]
async fn json_mode_is_unchanged_and_ignores_the_cookie() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let (_, cookie) = cookie_login(&app, &admin.email, &admin.password).await;

    let ip = random_ip();
    let response =
        app.post("/auth/login", from_ip(&ip), json!({ "email": admin.email, "password": admin.password })).await;
    no_set_cookie(&response);
    let tokens = expect_status(response, 200).await;
    let refresh_token = tokens["refreshToken"].as_str().expect("refreshToken in JSON mode").to_owned();

    // The cookie without the header counts for nothing: JSON mode wants its body.
    let response = app
        .request(Method::POST, "/auth/refresh", from_ip(&ip))
        .header("cookie", format!("parley_refresh={}", cookie.value))
        .json(&json!({ "refreshToken": refresh_token }))
        .send()
        .await
        .unwrap();
    no_set_cookie(&response);
    let rotated = expect_status(response, 200).await;
    assert!(rotated["refreshToken"].as_str().is_some_and(|t| t != refresh_token), "{rotated}");
    let response = app
        .request(Method::POST, "/auth/refresh", from_ip(&ip))
        .header("cookie", format!("parley_refresh={}", cookie.value))
        .send()
        .await
        .unwrap();
    assert_error(response, 415, "unsupported_media_type").await;
    // The cookie's own session was left alone by all that.
    let response = cookie_post(&app, "/auth/refresh", Some(&cookie.value)).await;
    expect_status(response, 200).await;

    // An unknown mode is refused rather than answered in JSON.
    let response = app
        .request(Method::POST, "/auth/login", from_ip(&ip))
        .header("x-parley-refresh", "body")
        .json(&json!({ "email": admin.email, "password": admin.password }))
        .send()
        .await
        .unwrap();
    no_set_cookie(&response);
    assert_error(response, 400, "invalid_refresh_mode").await;
}

#[tokio::test]
async fn the_cookie_path_and_secure_flag_follow_the_configuration() {
    let app = spawn_app_with(&[("PARLEY_AUTH_COOKIE_PATH", "/auth"), ("PARLEY_AUTH_COOKIE_SECURE", "false")]).await;
    let admin = sign_up(&app).await;
    let (_, cookie) = cookie_login(&app, &admin.email, &admin.password).await;
    assert_eq!(cookie.attributes_but_max_age(), ["HttpOnly", "SameSite=Strict", "Path=/auth", "Max-Age"]);
}
