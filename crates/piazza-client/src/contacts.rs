//! Remarks (one's own names for contacts) and contact codes (a QR code
//! whose scanner can ask to be one's contact).

use piazza_api::{
    ContactCodeView, ContactRequestByCode, ContactRequestCreated, ContactView, UpdateContact,
};
use reqwest::Method;

use crate::{Client, ClientError, QrImageFormat, decode, encode_segment};

impl Client {
    /// `PATCH /api/v1/contacts/{account_id}`: this account's own name for
    /// a contact; `None` (or an empty one) clears it.
    pub async fn set_remark(
        &self,
        account_id: &str,
        remark: Option<&str>,
    ) -> Result<ContactView, ClientError> {
        let path = format!("/api/v1/contacts/{}", encode_segment(account_id));
        let body = UpdateContact {
            remark: Some(remark.map(str::to_owned)),
        };
        decode(
            &self
                .call(self.request(Method::PATCH, &path).json(&body))
                .await?,
        )
    }

    /// `GET /api/v1/me/contact-code`: the payload of this account's
    /// contact code, `piazza-contact:<token>`, made on first read.
    pub async fn contact_code(&self) -> Result<String, ClientError> {
        let request = self
            .request(Method::GET, "/api/v1/me/contact-code")
            .query(&[("format", "payload")]);
        let code: ContactCodeView = decode(&self.call(request).await?)?;
        Ok(code.payload)
    }

    /// `GET /api/v1/me/contact-code?format=png|svg`: the image's bytes.
    pub async fn contact_code_image(&self, format: QrImageFormat) -> Result<Vec<u8>, ClientError> {
        let request = self
            .request(Method::GET, "/api/v1/me/contact-code")
            .query(&[("format", format.as_query())]);
        Ok(self.call(request).await?.body)
    }

    /// `POST /api/v1/me/contact-code/reset`: revokes the code and answers
    /// the new one's payload.
    pub async fn reset_contact_code(&self) -> Result<String, ClientError> {
        let request = self.request(Method::POST, "/api/v1/me/contact-code/reset");
        let code: ContactCodeView = decode(&self.call(request).await?)?;
        Ok(code.payload)
    }

    /// `POST /api/v1/contacts/by-code`: asks the owner of a scanned code;
    /// returns the `request_id`.
    pub async fn request_contact_by_code(
        &self,
        payload: &str,
        greeting: Option<&str>,
    ) -> Result<String, ClientError> {
        let body = ContactRequestByCode {
            payload: payload.to_owned(),
            greeting: greeting.map(str::to_owned),
        };
        let request = self.request(Method::POST, "/api/v1/contacts/by-code");
        let created: ContactRequestCreated = decode(&self.call(request.json(&body)).await?)?;
        Ok(created.request_id)
    }
}
