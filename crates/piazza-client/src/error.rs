//! The one error type of the client, and how server answers and transport
//! failures are turned into it.

use piazza_api::Problem;

/// Why a call failed. The three cases ask for different reactions: an
/// `Api` error is the server's considered answer (show it, or match on its
/// code), a `Transport` error means the server may not have seen the
/// request at all (retry, or check that it runs), and a `Decode` error means
/// client and server disagree about the contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a non-2xx status. When the body was not a
    /// problem document, `problem` is synthesized with the code
    /// [`UNEXPECTED_BODY`] and an excerpt of the body as its detail.
    #[error("{} ({})", problem.detail, problem.code)]
    Api { status: u16, problem: Problem },
    /// The request or the connection failed before an answer arrived.
    #[error("transport: {0}")]
    Transport(String),
    /// A 2xx answer or a WebSocket message did not have the expected shape.
    #[error("decode: {0}")]
    Decode(String),
}

/// The `code` of a problem the client made up because the server's error
/// answer was not `application/problem+json`.
pub const UNEXPECTED_BODY: &str = "unexpected_body";

impl ClientError {
    /// The problem's machine-readable code, for `Api` errors.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { problem, .. } => Some(&problem.code),
            ClientError::Transport(_) | ClientError::Decode(_) => None,
        }
    }

    /// The HTTP status, for `Api` errors.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            ClientError::Transport(_) | ClientError::Decode(_) => None,
        }
    }

    /// Builds the error for a non-2xx answer. Any body that parses as a
    /// problem is taken at its word, whatever its content type claims, so a
    /// server that mislabels its problems still yields useful errors.
    pub(crate) fn from_answer(status: u16, body: &[u8]) -> ClientError {
        let problem = serde_json::from_slice::<Problem>(body)
            .unwrap_or_else(|_| unexpected_body_problem(status, body));
        ClientError::Api { status, problem }
    }

    pub(crate) fn transport(error: &(dyn std::error::Error + 'static)) -> ClientError {
        ClientError::Transport(describe_chain(error))
    }
}

/// How much of a non-problem body is quoted in the synthesized detail: enough
/// to recognise a proxy's error page, not enough to flood a terminal.
const BODY_EXCERPT_CHARS_MAX: usize = 200;

fn unexpected_body_problem(status: u16, body: &[u8]) -> Problem {
    let title = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|status| status.canonical_reason())
        .unwrap_or("Unexpected status")
        .to_owned();
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let detail = if text.is_empty() {
        format!("HTTP {status} with an empty body")
    } else {
        let excerpt: String = text.chars().take(BODY_EXCERPT_CHARS_MAX).collect();
        let ellipsis = if excerpt.len() < text.len() {
            "…"
        } else {
            ""
        };
        format!("HTTP {status}: {excerpt}{ellipsis}")
    };
    Problem {
        type_: "about:blank".to_owned(),
        title,
        status,
        detail,
        code: UNEXPECTED_BODY.to_owned(),
    }
}

/// reqwest and tungstenite put the useful part ("connection refused") in
/// the error's sources, so the whole chain is spelled out.
fn describe_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Some wrappers repeat their source's message in their own.
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_body_is_kept_as_the_server_sent_it() {
        let body = br#"{"type":"about:blank","title":"Conflict","status":409,
            "detail":"the username alice is taken","code":"username_taken"}"#;
        let error = ClientError::from_answer(409, body);
        assert_eq!(error.status(), Some(409));
        assert_eq!(error.code(), Some("username_taken"));
        assert_eq!(
            error.to_string(),
            "the username alice is taken (username_taken)"
        );
    }

    #[test]
    fn a_body_that_is_not_a_problem_becomes_an_unexpected_body_problem() {
        let error = ClientError::from_answer(502, b"<html>Bad Gateway</html>");
        let ClientError::Api { status, problem } = error else {
            panic!("expected an Api error");
        };
        assert_eq!(status, 502);
        assert_eq!(problem.code, UNEXPECTED_BODY);
        assert_eq!(problem.status, 502);
        assert_eq!(problem.title, "Bad Gateway");
        assert_eq!(problem.detail, "HTTP 502: <html>Bad Gateway</html>");
    }

    #[test]
    fn an_empty_or_long_body_gives_a_short_detail() {
        let empty = ClientError::from_answer(500, b"");
        assert_eq!(
            empty.to_string(),
            "HTTP 500 with an empty body (unexpected_body)"
        );

        let long = "x".repeat(BODY_EXCERPT_CHARS_MAX * 3);
        let ClientError::Api { problem, .. } = ClientError::from_answer(500, long.as_bytes())
        else {
            panic!("expected an Api error");
        };
        assert!(problem.detail.ends_with('…'));
        assert!(problem.detail.len() < BODY_EXCERPT_CHARS_MAX + 20);
    }

    #[test]
    fn transport_and_decode_errors_have_no_code_or_status() {
        for error in [
            ClientError::Transport("refused".into()),
            ClientError::Decode("bad".into()),
        ] {
            assert_eq!(error.code(), None);
            assert_eq!(error.status(), None);
        }
    }

    #[test]
    fn the_error_chain_is_spelled_out_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("error sending request")]
        struct Outer(#[source] std::io::Error);
        let error = Outer(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connection refused",
        ));
        assert_eq!(
            ClientError::transport(&error).to_string(),
            "transport: error sending request: connection refused"
        );
    }
}
