//! Media in chat: upload the bytes (a picture, audio, video or any file),
//! send a message showing them, fetch them back.

use piazza_api::{MediaUploaded, MessageContent, MessageSent, SendMessage};
use reqwest::Method;
use reqwest::header::CONTENT_TYPE;

use crate::{Client, ClientError, decode, encode_segment};

/// A media's bytes as the server answered them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaBytes {
    /// The `Content-Type` the server sent (`image/png`, …).
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl Client {
    /// `POST /api/v1/media`: uploads an image (`image/png`, `image/jpeg`,
    /// `image/webp` or `image/gif`, its bytes starting as that type's do).
    /// The `bool` is true when this account had uploaded the same bytes
    /// before (200: the first media is answered again).
    pub async fn upload_media(
        &self,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(MediaUploaded, bool), ClientError> {
        let answer = self
            .call_repeatable(
                self.request(Method::POST, "/api/v1/media")
                    .header(CONTENT_TYPE, content_type)
                    .body(bytes),
            )
            .await?;
        let replayed = answer.status == reqwest::StatusCode::OK;
        Ok((decode(&answer)?, replayed))
    }

    /// `GET /api/v1/media/{id}`: the bytes, for their uploader or a member
    /// of a conversation showing them.
    pub async fn media(&self, media_id: &str) -> Result<MediaBytes, ClientError> {
        let path = format!("/api/v1/media/{}", encode_segment(media_id));
        self.fetch_image(&path).await
    }

    /// `POST /api/v1/media?name=…`: uploads any bytes (what they are is
    /// read from them), with the file's name shown with a `file` message.
    pub async fn upload_file(
        &self,
        bytes: Vec<u8>,
        name: Option<&str>,
    ) -> Result<(MediaUploaded, bool), ClientError> {
        let mut request = self.request(Method::POST, "/api/v1/media");
        if let Some(name) = name {
            request = request.query(&[("name", name)]);
        }
        let answer = self.call_repeatable(request.body(bytes)).await?;
        let replayed = answer.status == reqwest::StatusCode::OK;
        Ok((decode(&answer)?, replayed))
    }

    /// [`Client::upload_file`] with a body that streams (a large file read
    /// as it goes), of `length` bytes.
    pub async fn upload_stream(
        &self,
        body: reqwest::Body,
        length: u64,
        name: Option<&str>,
    ) -> Result<(MediaUploaded, bool), ClientError> {
        let mut request = self
            .request(Method::POST, "/api/v1/media")
            .header(reqwest::header::CONTENT_LENGTH, length);
        if let Some(name) = name {
            request = request.query(&[("name", name)]);
        }
        let answer = self.call(request.body(body)).await?;
        let replayed = answer.status == reqwest::StatusCode::OK;
        Ok((decode(&answer)?, replayed))
    }

    /// `GET /api/v1/media/{id}` as a response whose body the caller
    /// streams (`bytes_stream`), for media too large to hold.
    pub async fn media_response(&self, media_id: &str) -> Result<reqwest::Response, ClientError> {
        let path = format!("/api/v1/media/{}", encode_segment(media_id));
        self.streamed(self.request(Method::GET, &path)).await
    }

    /// Sends `request` and answers its response for the caller to stream
    /// the body of; a refusal is read whole, as a problem.
    pub(crate) async fn streamed(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ClientError> {
        let response = request
            .send()
            .await
            .map_err(|error| ClientError::transport(&error))?;
        let status = response.status();
        if !status.is_success() {
            let body = response
                .bytes()
                .await
                .map_err(|error| ClientError::transport(&error))?;
            return Err(ClientError::from_answer(status.as_u16(), &body));
        }
        Ok(response)
    }

    /// `GET /api/v1/media/{id}/preview`: a picture at most 1280 pixels on
    /// its long side.
    pub async fn media_preview(&self, media_id: &str) -> Result<MediaBytes, ClientError> {
        let path = format!("/api/v1/media/{}/preview", encode_segment(media_id));
        self.fetch_image(&path).await
    }

    /// `GET /api/v1/media/{id}/thumbnail`: a JPEG or PNG at most 320
    /// pixels on its long side, for whoever may fetch the media.
    pub async fn media_thumbnail(&self, media_id: &str) -> Result<MediaBytes, ClientError> {
        let path = format!("/api/v1/media/{}/thumbnail", encode_segment(media_id));
        self.fetch_image(&path).await
    }

    async fn fetch_image(&self, path: &str) -> Result<MediaBytes, ClientError> {
        let response = self
            .request(Method::GET, path)
            .send()
            .await
            .map_err(|error| ClientError::transport(&error))?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| ClientError::transport(&error))?;
        if !status.is_success() {
            return Err(ClientError::from_answer(status.as_u16(), &bytes));
        }
        Ok(MediaBytes {
            content_type,
            bytes: bytes.to_vec(),
        })
    }

    /// `POST /api/v1/conversations/{id}/messages` with a `media_id`: a
    /// `kind: "image"` message with an optional caption. Idempotent by
    /// `client_msg_id` as [`Client::send_message`] (the `bool`: replayed).
    pub async fn send_image(
        &self,
        conversation_id: &str,
        client_msg_id: &str,
        media_id: &str,
        caption: &str,
    ) -> Result<(MessageSent, bool), ClientError> {
        let body = SendMessage {
            client_msg_id: client_msg_id.to_owned(),
            message: MessageContent {
                media_id: Some(media_id.to_owned()),
                ..MessageContent::text(caption)
            },
        };
        self.post_message(conversation_id, &body).await
    }

    /// A media message of `kind` (`image`, `file`, `voice` or `video`;
    /// `None`: what the media is decides), with a voice note's or video's
    /// length if the sender knows it.
    pub async fn send_media(
        &self,
        conversation_id: &str,
        client_msg_id: &str,
        media_id: &str,
        kind: Option<&str>,
        duration_ms: Option<u64>,
    ) -> Result<(MessageSent, bool), ClientError> {
        let body = SendMessage {
            client_msg_id: client_msg_id.to_owned(),
            message: MessageContent {
                media_id: Some(media_id.to_owned()),
                kind: kind.map(str::to_owned),
                duration_ms,
                ..MessageContent::default()
            },
        };
        self.post_message(conversation_id, &body).await
    }
}
