//! Profiles, passwords, contact requests both ways and group pictures.

use piazza_api::{
    AccountDeleted, AccountView, ChangePassword, DeleteAccount, OutgoingRequestList, ProfileView,
    UpdateGroup, UpdateProfile,
};
use reqwest::Method;

use crate::{Client, ClientError, decode, encode_segment};

impl Client {
    /// `PATCH /api/v1/me`: changes what `change` holds (a field left
    /// `None` stays; `Some(None)` clears the avatar or the bio). Answers
    /// the profile as it is now.
    pub async fn update_profile(&self, change: &UpdateProfile) -> Result<AccountView, ClientError> {
        let answer = self
            .call(self.request(Method::PATCH, "/api/v1/me").json(change))
            .await?;
        decode(&answer)
    }

    /// `GET /api/v1/accounts/{account_id}`: the profile as far as this
    /// account may see it (`bio` and `is_contact` only when it may see it
    /// all).
    pub async fn profile(&self, account_id: &str) -> Result<ProfileView, ClientError> {
        let path = format!("/api/v1/accounts/{}", encode_segment(account_id));
        decode(&self.call(self.request(Method::GET, &path)).await?)
    }

    /// `GET /api/v1/accounts?username=`: who has exactly this username, as
    /// a contact request would show them.
    pub async fn find_account(&self, username: &str) -> Result<ProfileView, ClientError> {
        let request = self
            .request(Method::GET, "/api/v1/accounts")
            .query(&[("username", username)]);
        decode(&self.call(request).await?)
    }

    /// `PUT /api/v1/me/password`. With `sign_out_other_devices`, every
    /// other device of the account is logged out too.
    pub async fn change_password(
        &self,
        old_password: &str,
        new_password: &str,
        sign_out_other_devices: bool,
    ) -> Result<(), ClientError> {
        let body = ChangePassword {
            old_password: old_password.to_owned(),
            new_password: new_password.to_owned(),
            sign_out_other_devices: Some(sign_out_other_devices),
        };
        self.call(self.request(Method::PUT, "/api/v1/me/password").json(&body))
            .await?;
        Ok(())
    }

    /// `DELETE /api/v1/accounts/me`: deletes this account (its wallet must
    /// be empty). Logging in with the password before `erase_at` restores
    /// it.
    pub async fn delete_account(&self, password: &str) -> Result<AccountDeleted, ClientError> {
        let body = DeleteAccount {
            password: password.to_owned(),
        };
        let request = self
            .request(Method::DELETE, "/api/v1/accounts/me")
            .json(&body);
        decode(&self.call(request).await?)
    }

    /// `GET /api/v1/contacts/requests/outgoing`: requests this account sent
    /// that wait for an answer, newest first.
    pub async fn outgoing_requests(&self) -> Result<OutgoingRequestList, ClientError> {
        let request = self.request(Method::GET, "/api/v1/contacts/requests/outgoing");
        decode(&self.call(request).await?)
    }

    /// `POST /api/v1/contacts/requests/{request_id}/decline` (its
    /// recipient only).
    pub async fn decline_request(&self, request_id: &str) -> Result<(), ClientError> {
        let path = format!(
            "/api/v1/contacts/requests/{}/decline",
            encode_segment(request_id)
        );
        self.call(self.request(Method::POST, &path)).await?;
        Ok(())
    }

    /// `PATCH /api/v1/conversations/{id}`: a group's owner changes its
    /// title or picture.
    pub async fn update_group(
        &self,
        conversation_id: &str,
        change: &UpdateGroup,
    ) -> Result<(), ClientError> {
        let path = format!("/api/v1/conversations/{}", encode_segment(conversation_id));
        self.call(self.request(Method::PATCH, &path).json(change))
            .await?;
        Ok(())
    }
}
