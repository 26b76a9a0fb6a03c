//! Channels (official accounts): create, follow, find, editors, publish,
//! read, the subscriptions feed, comments and likes; sharing an article
//! into a chat as a card.

use piazza_api::{
    ArticleCreated, ArticleList, ArticlePreview, ArticleView, ChannelCreated, ChannelList,
    ChannelView, CommentList, CommentView, CreateChannel, Likes, MessageContent, MessageSent,
    PostComment, PreviewArticle, PublishArticle, SubscriptionsFeed,
};
use reqwest::Method;

use crate::{Client, ClientError, decode, encode_segment};

fn channel_path(channel_id: &str, rest: &str) -> String {
    format!("/api/v1/channels/{}{rest}", encode_segment(channel_id))
}

fn article_path(article_id: &str, rest: &str) -> String {
    format!("/api/v1/articles/{}{rest}", encode_segment(article_id))
}

/// `?cursor=…&limit=…`, each only when given.
fn page_query(cursor: Option<&str>, limit: Option<u32>) -> Vec<(&'static str, String)> {
    let mut query = Vec::new();
    if let Some(cursor) = cursor {
        query.push(("cursor", cursor.to_owned()));
    }
    if let Some(limit) = limit {
        query.push(("limit", limit.to_string()));
    }
    query
}

impl Client {
    /// `POST /api/v1/channels`: a channel this account owns.
    pub async fn create_channel(
        &self,
        channel: &CreateChannel,
    ) -> Result<ChannelCreated, ClientError> {
        let request = self.request(Method::POST, "/api/v1/channels").json(channel);
        decode(&self.call(request).await?)
    }

    /// `GET /api/v1/channels?q=`: channels by handle or name.
    pub async fn find_channels(&self, q: &str) -> Result<ChannelList, ClientError> {
        let request = self
            .request(Method::GET, "/api/v1/channels")
            .query(&[("q", q)]);
        decode(&self.call(request).await?)
    }

    /// `GET /api/v1/channels/{id}`.
    pub async fn channel(&self, channel_id: &str) -> Result<ChannelView, ClientError> {
        decode(
            &self
                .call(self.request(Method::GET, &channel_path(channel_id, "")))
                .await?,
        )
    }

    /// `POST /api/v1/channels/{id}/follow`.
    pub async fn follow_channel(&self, channel_id: &str) -> Result<(), ClientError> {
        self.call(self.request(Method::POST, &channel_path(channel_id, "/follow")))
            .await?;
        Ok(())
    }

    /// `DELETE /api/v1/channels/{id}/follow`.
    pub async fn unfollow_channel(&self, channel_id: &str) -> Result<(), ClientError> {
        self.call(self.request(Method::DELETE, &channel_path(channel_id, "/follow")))
            .await?;
        Ok(())
    }

    /// `PUT /api/v1/channels/{id}/editors/{account_id}` (the owner).
    pub async fn add_channel_editor(
        &self,
        channel_id: &str,
        account_id: &str,
    ) -> Result<(), ClientError> {
        let path = channel_path(
            channel_id,
            &format!("/editors/{}", encode_segment(account_id)),
        );
        self.call(self.request(Method::PUT, &path)).await?;
        Ok(())
    }

    /// `DELETE /api/v1/channels/{id}/editors/{account_id}` (the owner).
    pub async fn remove_channel_editor(
        &self,
        channel_id: &str,
        account_id: &str,
    ) -> Result<(), ClientError> {
        let path = channel_path(
            channel_id,
            &format!("/editors/{}", encode_segment(account_id)),
        );
        self.call(self.request(Method::DELETE, &path)).await?;
        Ok(())
    }

    /// `POST /api/v1/channels/{id}/articles` (the owner or an editor).
    pub async fn publish_article(
        &self,
        channel_id: &str,
        article: &PublishArticle,
    ) -> Result<ArticleCreated, ClientError> {
        let request = self
            .request(Method::POST, &channel_path(channel_id, "/articles"))
            .json(article);
        decode(&self.call(request).await?)
    }

    /// `GET /api/v1/channels/{id}/articles`: newest first.
    pub async fn channel_articles(
        &self,
        channel_id: &str,
        cursor: Option<&str>,
    ) -> Result<ArticleList, ClientError> {
        let request = self
            .request(Method::GET, &channel_path(channel_id, "/articles"))
            .query(&page_query(cursor, None));
        decode(&self.call(request).await?)
    }

    /// `POST /api/v1/articles/preview`: the body as it will be shown.
    pub async fn preview_article(
        &self,
        body_markdown: &str,
    ) -> Result<ArticlePreview, ClientError> {
        let body = PreviewArticle {
            body_markdown: body_markdown.to_owned(),
        };
        let request = self
            .request(Method::POST, "/api/v1/articles/preview")
            .json(&body);
        decode(&self.call(request).await?)
    }

    /// `GET /api/v1/articles/{id}`: reading it counts this account once.
    pub async fn article(&self, article_id: &str) -> Result<ArticleView, ClientError> {
        decode(
            &self
                .call(self.request(Method::GET, &article_path(article_id, "")))
                .await?,
        )
    }

    /// `GET /api/v1/subscriptions/feed`: followed channels' articles.
    pub async fn subscriptions_feed(
        &self,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<SubscriptionsFeed, ClientError> {
        let request = self
            .request(Method::GET, "/api/v1/subscriptions/feed")
            .query(&page_query(cursor, limit));
        decode(&self.call(request).await?)
    }

    /// `GET /api/v1/articles/{id}/comments`: a page of the comments the
    /// caller may see, newest first; `status` is `all` (the default),
    /// `held` or `featured`.
    pub async fn article_comments(
        &self,
        article_id: &str,
        status: Option<&str>,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<CommentList, ClientError> {
        let mut query = page_query(cursor, limit);
        if let Some(status) = status {
            query.push(("status", status.to_owned()));
        }
        let request = self
            .request(Method::GET, &article_path(article_id, "/comments"))
            .query(&query);
        decode(&self.call(request).await?)
    }

    /// `POST /api/v1/articles/{id}/comments`: held until featured.
    pub async fn comment_article(
        &self,
        article_id: &str,
        text: &str,
    ) -> Result<CommentView, ClientError> {
        let body = PostComment {
            text: text.to_owned(),
        };
        let request = self
            .request(Method::POST, &article_path(article_id, "/comments"))
            .json(&body);
        decode(&self.call(request).await?)
    }

    /// `POST` (or, `featured: false`, `DELETE`)
    /// `/api/v1/articles/{id}/comments/{comment_id}/feature`.
    pub async fn feature_comment(
        &self,
        article_id: &str,
        comment_id: &str,
        featured: bool,
    ) -> Result<CommentView, ClientError> {
        let path = article_path(
            article_id,
            &format!("/comments/{}/feature", encode_segment(comment_id)),
        );
        let method = if featured {
            Method::POST
        } else {
            Method::DELETE
        };
        decode(&self.call(self.request(method, &path)).await?)
    }

    /// Shares `article_id` into a conversation as an `article_card`
    /// message (the article as it is now, with its channel), idempotent by
    /// `client_msg_id` as [`Client::send`] (the `bool`: replayed).
    pub async fn share_article(
        &self,
        conversation_id: &str,
        client_msg_id: &str,
        article_id: &str,
    ) -> Result<(MessageSent, bool), ClientError> {
        let message = MessageContent {
            article_id: Some(article_id.to_owned()),
            ..MessageContent::default()
        };
        self.send(conversation_id, client_msg_id, message).await
    }

    /// `POST` (or, `liked: false`, `DELETE`) `/api/v1/articles/{id}/likes`.
    pub async fn like_article(&self, article_id: &str, liked: bool) -> Result<Likes, ClientError> {
        let method = if liked { Method::POST } else { Method::DELETE };
        decode(
            &self
                .call(self.request(method, &article_path(article_id, "/likes")))
                .await?,
        )
    }
}
