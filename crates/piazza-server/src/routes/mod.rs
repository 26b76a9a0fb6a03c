pub mod accounts;
pub mod contacts;
pub mod conversations;
pub mod login_requests;
pub mod media;
pub mod merchants;
pub mod paging;
pub mod profiles;
pub mod red_packets;
pub mod sync;
pub mod transfers;
pub mod wallet;

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::Router;
    use axum::body::Body;
    use axum::http::{Method, Request, StatusCode, header};
    use axum::response::Response;
    use piazza_domain::Store;
    use piazza_domain::store::NoticeSink;
    use piazza_store::{SqliteStore, StoreOptions};
    use tempfile::TempDir;
    use tower::ServiceExt;

    use crate::config::{Config, PasswordHashing};
    use crate::hub::Hub;
    use crate::{App, openapi, router};

    /// The server's routes over a new store (kept while the directory is).
    fn server() -> (Router, TempDir) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut config = Config::new(([127, 0, 0, 1], 0).into(), dir.path().to_owned());
        config.password_hashing = PasswordHashing {
            memory_kib: 1024,
            iterations: 1,
        };
        let hub = Hub::new(&config.limits);
        let sink = Arc::clone(&hub) as Arc<dyn NoticeSink>;
        let store = SqliteStore::open(dir.path(), StoreOptions::default(), sink).expect("a store");
        let app = App::new(Arc::new(store) as Arc<dyn Store>, hub, &config);
        (router(app), dir)
    }

    async fn send(
        server: &Router,
        method: Method,
        uri: &str,
        headers: &[(header::HeaderName, &str)],
        body: impl Into<Body>,
    ) -> Response {
        let mut request = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            request = request.header(name, *value);
        }
        let request = request.body(body.into()).expect("a request");
        server.clone().oneshot(request).await.expect("an answer")
    }

    /// A handler is routed from its `#[utoipa::path]`, and `routes!` puts
    /// every handler it is given on every path among them: two handlers of
    /// different paths in one `routes!` would answer methods the document
    /// does not give. So the server answers exactly the documented methods
    /// of each documented path, and 405 to the others.
    #[tokio::test]
    async fn each_path_answers_the_methods_the_document_gives_it() {
        let (server, _dir) = server();
        let document = serde_json::to_value(openapi::document()).expect("the document");
        let methods = [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ];
        for (path, item) in document["paths"].as_object().expect("paths") {
            // Every parameter is an id, a segment no static one spells.
            let concrete: Vec<&str> = path
                .split('/')
                .map(|segment| {
                    if segment.starts_with('{') {
                        "x1"
                    } else {
                        segment
                    }
                })
                .collect();
            let uri = concrete.join("/");
            for method in &methods {
                let status = send(&server, method.clone(), &uri, &[], Body::empty())
                    .await
                    .status();
                if item.get(method.as_str().to_lowercase()).is_some() {
                    assert!(
                        status != StatusCode::METHOD_NOT_ALLOWED && status != StatusCode::NOT_FOUND,
                        "{method} {path}: documented, answered {status}"
                    );
                } else {
                    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
                }
            }
        }
    }

    /// Every body is capped at 64 KiB but an image's, which has its own
    /// cap, layered on that one route in `media::routes`.
    #[tokio::test]
    async fn an_image_is_the_one_body_past_64_kib() {
        let (server, _dir) = server();
        let json = [(header::CONTENT_TYPE, "application/json")];
        let credentials = r#"{"username":"ann","password":"password1"}"#;
        let created = send(
            &server,
            Method::POST,
            "/api/v1/accounts",
            &json,
            credentials,
        )
        .await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let session = r#"{"username":"ann","password":"password1","device_name":"d"}"#;
        let session = send(&server, Method::POST, "/api/v1/sessions", &json, session).await;
        assert_eq!(session.status(), StatusCode::CREATED);
        let body = axum::body::to_bytes(session.into_body(), usize::MAX)
            .await
            .expect("a body");
        let session: piazza_api::SessionCreated = serde_json::from_slice(&body).expect("JSON");
        let bearer = format!("Bearer {}", session.token);

        let mut image = b"\x89PNG\r\n\x1a\n".to_vec();
        image.resize(100 * 1024, 0);
        let png = [
            (header::AUTHORIZATION, bearer.as_str()),
            (header::CONTENT_TYPE, "image/png"),
        ];
        let uploaded = send(&server, Method::POST, "/api/v1/media", &png, image).await;
        assert_eq!(uploaded.status(), StatusCode::CREATED);

        let text = format!(r#"{{"display_name":"{}"}}"#, "a".repeat(100 * 1024));
        let json = [
            (header::AUTHORIZATION, bearer.as_str()),
            (header::CONTENT_TYPE, "application/json"),
        ];
        let refused = send(&server, Method::PATCH, "/api/v1/me", &json, text).await;
        assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}
