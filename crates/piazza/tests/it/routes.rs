//! The routes agree with the OpenAPI document, and their layers sit where
//! they should: each area registers its handlers once (`routes()` in its
//! file, with utoipa-axum), the document and the router both built from it.

use reqwest::Method;

use crate::helpers::*;

/// A handler is routed from its `#[utoipa::path]`, and `routes!` puts
/// every handler it is given on every path among them: two handlers of
/// different paths in one `routes!` would answer methods the document
/// does not give. So each documented path answers exactly its documented
/// methods, and 405 to the others.
#[tokio::test]
async fn each_path_answers_the_methods_the_document_gives_it() {
    // Every method of every path, anonymously from one address: more than
    // an address's burst, which is not what this test is about.
    let app = spawn_app_with(|config| {
        config.limits.anonymous_requests_per_address_burst = 100_000;
    })
    .await;
    let anonymous = app.anonymous();
    let document =
        serde_json::to_value(piazza_server::openapi::document()).expect("the document encodes");
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
        let concrete = concrete.join("/");
        for method in &methods {
            let answer = anonymous
                .raw(method.clone(), &concrete, None, None)
                .await
                .expect("the server answers");
            if item.get(method.as_str().to_lowercase()).is_some() {
                // A public page of a channel or a shop answers an unknown
                // one 404, in its own words, not the router's.
                let own_404 = (path.starts_with("/c/") || path.starts_with("/s/"))
                    && answer.status == 404
                    && String::from_utf8_lossy(&answer.body).contains("_not_found\"");
                assert!(
                    answer.status != 405 && (answer.status != 404 || own_404),
                    "{method} {path}: documented, answered {}",
                    answer.status
                );
            } else {
                assert_eq!(answer.status, 405, "{method} {path}");
            }
        }
    }
    app.shut_down().await;
}

/// Every body is capped at 64 KiB but an image's, which has its own cap,
/// layered on that one route (`routes::media::routes`).
#[tokio::test]
async fn an_image_is_the_one_body_past_64_kib() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let mut image = b"\x89PNG\r\n\x1a\n".to_vec();
    image.resize(100 * 1024, 0);
    let uploaded = ann
        .client
        .raw(
            Method::POST,
            "/api/v1/media",
            Some(image),
            Some("image/png"),
        )
        .await
        .expect("the server answers");
    assert_eq!(uploaded.status, 201, "an image of 100 KiB is kept");
    let profile = format!(r#"{{"display_name":"{}"}}"#, "a".repeat(100 * 1024));
    let refused = ann
        .client
        .raw(
            Method::PATCH,
            "/api/v1/me",
            Some(profile.into_bytes()),
            Some("application/json"),
        )
        .await
        .expect("the server answers");
    assert_eq!(refused.status, 413, "a JSON body of 100 KiB is refused");
    app.shut_down().await;
}
