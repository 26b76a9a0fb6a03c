//! Group administration: a conversation's view with roles, admins,
//! leaving, invitations and join requests.

use piazza_api::{AcceptInvite, GroupView, InviteAccepted, InviteCreated, JoinRequestList};
use reqwest::Method;

use crate::{Client, ClientError, decode, encode_segment};

impl Client {
    /// `GET /api/v1/conversations/{id}`: the conversation with every
    /// member's role, its announcement and approval mode.
    pub async fn group(&self, conversation_id: &str) -> Result<GroupView, ClientError> {
        let path = format!("/api/v1/conversations/{}", encode_segment(conversation_id));
        decode(&self.call(self.request(Method::GET, &path)).await?)
    }

    /// `POST /api/v1/conversations/{id}/admins/{account_id}` (the owner).
    pub async fn make_admin(
        &self,
        conversation_id: &str,
        account_id: &str,
    ) -> Result<(), ClientError> {
        let path = admins_path(conversation_id, account_id);
        self.call(self.request(Method::POST, &path)).await?;
        Ok(())
    }

    /// `DELETE /api/v1/conversations/{id}/admins/{account_id}` (the owner).
    pub async fn unmake_admin(
        &self,
        conversation_id: &str,
        account_id: &str,
    ) -> Result<(), ClientError> {
        let path = admins_path(conversation_id, account_id);
        self.call(self.request(Method::DELETE, &path)).await?;
        Ok(())
    }

    /// `POST /api/v1/conversations/{id}/leave`.
    pub async fn leave(&self, conversation_id: &str) -> Result<(), ClientError> {
        let path = format!(
            "/api/v1/conversations/{}/leave",
            encode_segment(conversation_id)
        );
        self.call(self.request(Method::POST, &path)).await?;
        Ok(())
    }

    /// `POST /api/v1/conversations/{id}/invites` (`?format=png` adds the
    /// PNG of its QR code).
    pub async fn create_invite(
        &self,
        conversation_id: &str,
        format: Option<&str>,
    ) -> Result<InviteCreated, ClientError> {
        let mut path = format!(
            "/api/v1/conversations/{}/invites",
            encode_segment(conversation_id)
        );
        if let Some(format) = format {
            path.push_str(&format!("?format={}", encode_segment(format)));
        }
        decode(&self.call(self.request(Method::POST, &path)).await?)
    }

    /// `DELETE /api/v1/conversations/{id}/invites/{invite_id}`.
    pub async fn revoke_invite(
        &self,
        conversation_id: &str,
        invite_id: &str,
    ) -> Result<(), ClientError> {
        let path = format!(
            "/api/v1/conversations/{}/invites/{}",
            encode_segment(conversation_id),
            encode_segment(invite_id)
        );
        self.call(self.request(Method::DELETE, &path)).await?;
        Ok(())
    }

    /// `POST /api/v1/invites/accept`: `joined` (200) or `pending` (202).
    pub async fn accept_invite(&self, payload: &str) -> Result<InviteAccepted, ClientError> {
        let body = AcceptInvite {
            payload: payload.to_owned(),
        };
        let request = self.request(Method::POST, "/api/v1/invites/accept");
        decode(&self.call(request.json(&body)).await?)
    }

    /// `GET /api/v1/conversations/{id}/join-requests` (owner and admins).
    pub async fn join_requests(
        &self,
        conversation_id: &str,
    ) -> Result<JoinRequestList, ClientError> {
        let path = format!(
            "/api/v1/conversations/{}/join-requests",
            encode_segment(conversation_id)
        );
        decode(&self.call(self.request(Method::GET, &path)).await?)
    }

    /// `POST /api/v1/conversations/{id}/join-requests/{account_id}/approve`
    /// (`approve: true`) or `…/decline`.
    pub async fn decide_join_request(
        &self,
        conversation_id: &str,
        account_id: &str,
        decision: JoinDecision,
    ) -> Result<(), ClientError> {
        let verb = match decision {
            JoinDecision::Approve => "approve",
            JoinDecision::Decline => "decline",
        };
        let path = format!(
            "/api/v1/conversations/{}/join-requests/{}/{verb}",
            encode_segment(conversation_id),
            encode_segment(account_id)
        );
        self.call(self.request(Method::POST, &path)).await?;
        Ok(())
    }
}

/// A manager's answer to a join request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinDecision {
    Approve,
    Decline,
}

fn admins_path(conversation_id: &str, account_id: &str) -> String {
    format!(
        "/api/v1/conversations/{}/admins/{}",
        encode_segment(conversation_id),
        encode_segment(account_id)
    )
}
