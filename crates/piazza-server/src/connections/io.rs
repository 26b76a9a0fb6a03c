//! A connection's socket as the registry sees it, and hyper's own error
//! answers dressed as problem+json.
//!
//! [`TrackedIo`] wraps the socket: it holds the connection's place in the
//! [`Registry`] for as long as the socket lives (after an upgrade, inside
//! the WebSocket), and learns when an answer is written out, since hyper
//! drops a response body before it has flushed the body's last bytes.
//!
//! hyper answers a request head its parser refuses (a control byte in a
//! header value, a bad header name, bytes past ASCII in the target, a
//! `Content-Length` that is no number, too many headers) by itself, with
//! a bare head and no body; no handler runs. Such an answer is the only
//! thing hyper writes while nothing is in flight, and it has a fixed shape,
//! so `TrackedIo` recognises it and writes a problem+json in its place.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll, ready};

use axum::http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::registry::Registry;
use crate::error::ApiError;

/// One connection's link to its registry, shared by its socket and the
/// requests on it; the last one dropped gives its place back.
pub struct Connection {
    pub registry: Arc<Registry>,
    pub id: u64,
    /// Answers whose bodies hyper has dropped but perhaps not flushed.
    answered: AtomicU32,
}

impl Connection {
    pub fn new(registry: Arc<Registry>, id: u64) -> Connection {
        Connection {
            registry,
            id,
            answered: AtomicU32::new(0),
        }
    }

    /// One answer's body is done: written out at the next flush.
    pub fn answer_done(&self) {
        self.answered.fetch_add(1, Ordering::Relaxed);
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.registry.release(self.id);
    }
}

/// The socket of a registered connection.
pub struct TrackedIo<I> {
    io: I,
    connection: Arc<Connection>,
    /// Our problem+json in place of hyper's bare error answer, and how
    /// much of it is written.
    replacement: Option<(Vec<u8>, usize)>,
}

impl<I> TrackedIo<I> {
    pub fn new(io: I, connection: Arc<Connection>) -> TrackedIo<I> {
        TrackedIo {
            io,
            connection,
            replacement: None,
        }
    }
}

impl<I: AsyncWrite + Unpin> TrackedIo<I> {
    /// Writes what is left of the replacement answer.
    fn poll_replacement(&mut self, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.replacement {
            if *written == bytes.len() {
                self.replacement = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.io).poll_write(context, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }

    /// Takes `head` for hyper's own error answer if it is one, and queues
    /// the problem+json that replaces it.
    fn replaces(&mut self, head: &[u8]) -> bool {
        let Some(status) = hyper_error_status(head) else {
            return false;
        };
        if !self.connection.registry.is_idle(self.connection.id) {
            return false;
        }
        self.replacement = Some((problem_answer(status), 0));
        true
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for TrackedIo<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(context, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for TrackedIo<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_replacement(context))?;
        if this.replaces(buf) {
            // hyper's bytes count as written; ours go out at the flush.
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.io).poll_write(context, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_replacement(context))?;
        let length: usize = bufs.iter().map(|buf| buf.len()).sum();
        let first = bufs.iter().find(|buf| !buf.is_empty());
        if length <= ERROR_HEAD_BYTES_MAX && first.is_some_and(|buf| buf.starts_with(b"HTTP/1.1 4"))
        {
            let head: Vec<u8> = bufs.iter().flat_map(|buf| buf.iter().copied()).collect();
            if this.replaces(&head) {
                return Poll::Ready(Ok(length));
            }
        }
        Pin::new(&mut this.io).poll_write_vectored(context, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_replacement(context))?;
        ready!(Pin::new(&mut this.io).poll_flush(context))?;
        // hyper flushes only once its own buffer is empty: every answer
        // whose body it dropped before this is now with the kernel.
        let answered = this.connection.answered.swap(0, Ordering::Relaxed);
        if answered > 0 {
            let connection = &this.connection;
            connection
                .registry
                .requests_finished(connection.id, answered);
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_replacement(context))?;
        Pin::new(&mut this.io).poll_shutdown(context)
    }
}

/// hyper's error answers are a status line and at most three short headers.
const ERROR_HEAD_BYTES_MAX: usize = 256;

/// The status of hyper's own answer to a request it could not parse —
/// `HTTP/1.1 400|414|431 …`, then only `connection: close`,
/// `content-length: 0` and `date`, and no body — or `None` for anything
/// else (every answer of ours has a body or other headers).
fn hyper_error_status(bytes: &[u8]) -> Option<u16> {
    if bytes.len() > ERROR_HEAD_BYTES_MAX {
        return None;
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let head = text.strip_prefix("HTTP/1.1 ")?.strip_suffix("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.get(..3)?.parse().ok()?;
    if !matches!(status, 400 | 414 | 431) {
        return None;
    }
    let mut empty = false;
    for line in lines {
        let line = line.to_ascii_lowercase();
        match line.as_str() {
            "content-length: 0" => empty = true,
            "connection: close" => {}
            _ if line.starts_with("date: ") => {}
            _ => return None,
        }
    }
    empty.then_some(status)
}

/// The whole answer, head and problem+json body, for one of hyper's
/// error statuses.
fn problem_answer(status: u16) -> Vec<u8> {
    let error = match status {
        431 => ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request_head_too_large",
            "the request head has too many headers or too many bytes",
        ),
        414 => ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            "the request target is too long",
        ),
        _ => ApiError::invalid(
            "malformed_request",
            "the request line or a header is malformed: a control byte or a byte past ASCII \
             where none may be, a header name that is not a token, or a Content-Length that \
             is not a number",
        ),
    };
    let body = serde_json::to_vec(&error.to_problem()).unwrap_or_default();
    let reason = error.status.canonical_reason().unwrap_or("Error");
    let mut answer = format!(
        "HTTP/1.1 {} {reason}\r\ncontent-type: application/problem+json\r\n\
         x-content-type-options: nosniff\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        error.status.as_u16(),
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(&body);
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hyper_s_bare_error_heads_are_recognised() {
        let hyper = b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\ndate: Fri, 04 Dec 2026 20:40:35 GMT\r\n\r\n";
        assert_eq!(hyper_error_status(hyper), Some(400));
        let too_large = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(hyper_error_status(too_large), Some(431));
        for other in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 12\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n",
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{}",
            b"{\"status\":400}",
        ] {
            assert_eq!(hyper_error_status(other), None, "{}", String::from_utf8_lossy(other));
        }
    }

    #[test]
    fn the_replacement_is_a_whole_problem_answer() {
        let answer = String::from_utf8(problem_answer(400)).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let problem: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(problem["code"], "malformed_request");
        assert_eq!(problem["status"], 400);
    }
}
