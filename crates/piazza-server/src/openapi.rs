//! The OpenAPI document, generated from the handlers' annotations.

use std::sync::LazyLock;

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder, Type};
use utoipa::{Modify, OpenApi};

/// What the document says besides its paths, which come from the routes
/// themselves (`crate::api_routes`; each area registers its own).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Piazza API",
        version = "1",
        description = "The stable core contract of Piazza (api-v1). Errors are RFC 9457 problem+json with a stable `code`."
    ),
    components(schemas(
        piazza_api::EventView,
        piazza_api::ClientFrame,
        piazza_api::ServerFrame
    ))
)]
struct ApiDoc;

/// The OpenAPI document: the routes' entries with what they all share.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, paths) = crate::api_routes().split_for_parts();
    let mut document = ApiDoc::openapi().merge_from(paths);
    // After the merge: `CommonAnswers` edits every path's operations.
    BearerAuth.modify(&mut document);
    CommonAnswers.modify(&mut document);
    document
}

/// The document as `GET /api/v1/openapi.json` sends it, built once.
pub fn json() -> &'static str {
    static JSON: LazyLock<String> = LazyLock::new(|| {
        document()
            .to_json()
            .expect("the OpenAPI document always encodes")
    });
    &JSON
}

/// The document as `docs/openapi.json` keeps it: pretty JSON and a final
/// newline (`piazza admin openapi` prints it; a test compares the two).
pub fn pretty_json() -> String {
    let mut text = document()
        .to_pretty_json()
        .expect("the OpenAPI document always encodes");
    text.push('\n');
    text
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// What every error is sent as (see `error::ApiError`).
const PROBLEM_JSON: &str = "application/problem+json";

/// The answers any route can give besides its own, documented here once
/// rather than on every handler, so the document stays true when a route
/// is added: the auth, rate-limit, body and query layers answer them
/// before (or instead of) the handler. Every 4xx and 5xx body is a
/// problem+json `Problem`; handlers annotate it as `body = Problem`, which
/// utoipa files under `application/json`, so it is moved here too.
struct CommonAnswers;

impl Modify for CommonAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                add_common_answers(operation);
            }
        }
    }
}

fn add_common_answers(operation: &mut Operation) {
    for response in operation
        .responses
        .responses
        .iter_mut()
        .filter_map(|(status, response)| match response {
            RefOr::T(response) if status.starts_with('4') || status.starts_with('5') => {
                Some(response)
            }
            _ => None,
        })
    {
        if let Some(body) = response.content.shift_remove("application/json") {
            response.content.insert(PROBLEM_JSON.to_owned(), body);
        }
    }
    let secured = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    if secured {
        add(
            operation,
            "401",
            problem("unauthorized: no valid session token (absent, wrong or revoked)"),
        );
    }
    if operation.request_body.is_some() {
        add(
            operation,
            "400",
            problem("the body is not what the operation takes (malformed_json, invalid_body)"),
        );
        add(operation, "413", problem("body_too_large"));
        add(
            operation,
            "415",
            problem("unsupported_media_type: the body is sent without the documented Content-Type"),
        );
    }
    let has_query = operation
        .parameters
        .iter()
        .flatten()
        .any(|parameter| parameter.parameter_in == ParameterIn::Query);
    if has_query {
        add(
            operation,
            "400",
            problem("invalid_query: a query parameter is not of its documented type"),
        );
    }
    let retry_after = HeaderBuilder::new()
        .schema(utoipa::openapi::ObjectBuilder::new().schema_type(Type::Integer))
        .description(Some("whole seconds to wait before retrying"))
        .build();
    add(
        operation,
        "429",
        problem("rate_limited: too many requests from this account or address"),
    );
    // Every 429 carries Retry-After, whichever limit sent it.
    if let Some(RefOr::T(too_many)) = operation.responses.responses.get_mut("429") {
        too_many
            .headers
            .entry("Retry-After".to_owned())
            .or_insert(retry_after);
    }
    add(
        operation,
        "408",
        ResponseBuilder::new()
            .description("the request took longer than `limits.request_timeout_s`; no body")
            .build(),
    );
    // The operations routes (health, this document) say for
    // themselves whether they can fail; every other route reads the store.
    let operations_route = operation
        .tags
        .iter()
        .flatten()
        .any(|tag| tag == "operations");
    if !operations_route {
        add(
            operation,
            "503",
            problem("unavailable: the store cannot answer right now; retry with the same ids"),
        );
    }
}

/// Documents `status` unless the handler already does (its own
/// description names its own codes and stays).
fn add(operation: &mut Operation, status: &str, response: Response) {
    operation
        .responses
        .responses
        .entry(status.to_owned())
        .or_insert(RefOr::T(response));
}

fn problem(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use piazza_domain::money::AMOUNT_MINOR_MAX;
    use serde_json::Value;
    fn document() -> Value {
        serde_json::to_value(super::document()).expect("the document serializes")
    }

    fn operations(document: &Value) -> Vec<(String, &Value)> {
        let paths = document["paths"].as_object().expect("paths");
        paths
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .expect("a path item")
                    .iter()
                    .map(move |(method, operation)| (format!("{method} {path}"), operation))
            })
            .collect()
    }

    /// schemathesis checks answers against the document; these are the
    /// answers every route can give, whatever its handler says.
    #[test]
    fn every_operation_documents_the_common_answers_as_problems() {
        let document = document();
        for (name, operation) in operations(&document) {
            let responses = operation["responses"].as_object().expect("responses");
            let retry_after = &responses["429"]["headers"]["Retry-After"];
            assert!(retry_after.is_object(), "{name}: 429 with Retry-After");
            if operation["security"].is_array() {
                assert!(responses.contains_key("401"), "{name}: 401");
            }
            if operation["requestBody"].is_object() {
                for status in ["400", "413", "415"] {
                    assert!(responses.contains_key(status), "{name}: {status}");
                }
            }
            for (status, response) in responses {
                let Some(content) = response["content"].as_object() else {
                    continue;
                };
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        !content.contains_key("application/json"),
                        "{name}: {status} is problem+json, not application/json"
                    );
                }
            }
        }
    }

    /// The wire types cannot see the domain's cap on amounts, so they
    /// repeat it; this keeps the two equal.
    #[test]
    fn request_amounts_are_documented_with_the_domain_bounds() {
        let document = document();
        let schemas = &document["components"]["schemas"];
        for (schema, field) in [
            ("TopUp", "amount_minor"),
            ("Withdraw", "amount_minor"),
            ("SendTransfer", "amount_minor"),
            ("SendRedPacket", "total_minor"),
            ("Pay", "amount_minor"),
            ("RefundPayment", "amount_minor"),
            ("Collect", "amount_minor"),
        ] {
            let property = &schemas[schema]["properties"][field];
            assert_eq!(property["minimum"], 1, "{schema}.{field}");
            assert_eq!(property["maximum"], AMOUNT_MINOR_MAX, "{schema}.{field}");
        }
    }
}
