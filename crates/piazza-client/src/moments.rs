//! Moments, the friends' feed: posting, the feed and one account's posts,
//! likes and comments.

use piazza_api::{
    MomentCommentCreated, MomentCreated, MomentList, MomentView, NewMoment, NewMomentComment,
};
use reqwest::Method;

use crate::{Client, ClientError, decode, encode_segment};

fn moment_path(moment_id: &str, rest: &str) -> String {
    format!("/api/v1/moments/{}{rest}", encode_segment(moment_id))
}

impl Client {
    /// `POST /api/v1/moments`: the new post's id.
    pub async fn post_moment(&self, moment: &NewMoment) -> Result<MomentCreated, ClientError> {
        let request = self.request(Method::POST, "/api/v1/moments").json(moment);
        decode(&self.call(request).await?)
    }

    /// `DELETE /api/v1/moments/{id}` (its author).
    pub async fn delete_moment(&self, moment_id: &str) -> Result<(), ClientError> {
        self.call(self.request(Method::DELETE, &moment_path(moment_id, "")))
            .await?;
        Ok(())
    }

    /// `GET /api/v1/moments/{id}`.
    pub async fn moment(&self, moment_id: &str) -> Result<MomentView, ClientError> {
        decode(
            &self
                .call(self.request(Method::GET, &moment_path(moment_id, "")))
                .await?,
        )
    }

    /// `GET /api/v1/moments/feed`: a page of the caller's feed, newest
    /// first, after `cursor`.
    pub async fn moments_feed(
        &self,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<MomentList, ClientError> {
        self.moment_page("/api/v1/moments/feed".to_owned(), cursor, limit)
            .await
    }

    /// `GET /api/v1/accounts/{id}/moments`: a page of one account's posts
    /// as the caller may see them.
    pub async fn account_moments(
        &self,
        account_id: &str,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<MomentList, ClientError> {
        let path = format!("/api/v1/accounts/{}/moments", encode_segment(account_id));
        self.moment_page(path, cursor, limit).await
    }

    async fn moment_page(
        &self,
        path: String,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<MomentList, ClientError> {
        let mut request = self.request(Method::GET, &path);
        if let Some(cursor) = cursor {
            request = request.query(&[("cursor", cursor)]);
        }
        if let Some(limit) = limit {
            request = request.query(&[("limit", limit)]);
        }
        decode(&self.call(request).await?)
    }

    /// `POST /api/v1/moments/{id}/likes`.
    pub async fn like_moment(&self, moment_id: &str) -> Result<(), ClientError> {
        self.call(self.request(Method::POST, &moment_path(moment_id, "/likes")))
            .await?;
        Ok(())
    }

    /// `DELETE /api/v1/moments/{id}/likes`.
    pub async fn unlike_moment(&self, moment_id: &str) -> Result<(), ClientError> {
        self.call(self.request(Method::DELETE, &moment_path(moment_id, "/likes")))
            .await?;
        Ok(())
    }

    /// `POST /api/v1/moments/{id}/comments`: a comment, or a reply to one.
    pub async fn comment_moment(
        &self,
        moment_id: &str,
        text: &str,
        reply_to: Option<&str>,
    ) -> Result<MomentCommentCreated, ClientError> {
        let body = NewMomentComment {
            text: text.to_owned(),
            reply_to: reply_to.map(str::to_owned),
        };
        let path = moment_path(moment_id, "/comments");
        decode(
            &self
                .call(self.request(Method::POST, &path).json(&body))
                .await?,
        )
    }

    /// `DELETE /api/v1/moments/{id}/comments/{comment_id}`.
    pub async fn delete_moment_comment(
        &self,
        moment_id: &str,
        comment_id: &str,
    ) -> Result<(), ClientError> {
        let rest = format!("/comments/{}", encode_segment(comment_id));
        self.call(self.request(Method::DELETE, &moment_path(moment_id, &rest)))
            .await?;
        Ok(())
    }
}
