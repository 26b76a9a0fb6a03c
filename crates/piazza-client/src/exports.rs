//! Exports: everything an account holds, as one zip.

use piazza_api::exports::{ExportLink, ExportView};
use reqwest::Method;

use crate::{Client, ClientError, decode, encode_segment};

impl Client {
    /// `POST /api/v1/exports`: asks for an export (three a day).
    pub async fn start_export(&self) -> Result<ExportView, ClientError> {
        decode(
            &self
                .call(self.request(Method::POST, "/api/v1/exports"))
                .await?,
        )
    }

    /// `GET /api/v1/exports/{id}`.
    pub async fn export(&self, export_id: &str) -> Result<ExportView, ClientError> {
        let path = format!("/api/v1/exports/{}", encode_segment(export_id));
        decode(&self.call(self.request(Method::GET, &path)).await?)
    }

    /// `POST /api/v1/exports/{id}/link`: a link that downloads the export
    /// once, without a token, within a minute.
    pub async fn export_link(&self, export_id: &str) -> Result<ExportLink, ClientError> {
        let path = format!("/api/v1/exports/{}/link", encode_segment(export_id));
        decode(&self.call(self.request(Method::POST, &path)).await?)
    }

    /// `GET /api/v1/exports/{id}/download` as a response whose body (the
    /// zip, made as it is sent) the caller streams (`bytes_stream`).
    pub async fn export_download(&self, export_id: &str) -> Result<reqwest::Response, ClientError> {
        let path = format!("/api/v1/exports/{}/download", encode_segment(export_id));
        // The client's 30 s would cut a large export's body off.
        let request = self.request(Method::GET, &path);
        self.streamed(request.timeout(std::time::Duration::from_secs(24 * 60 * 60)))
            .await
    }
}
