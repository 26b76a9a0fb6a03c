//! Moments, the friends' feed: posts, the feed, one account's posts,
//! likes and comments. The rules (who sees what, the WeChat rule for
//! likes and comments) are `piazza_core::moments`'; this parses and
//! words them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use piazza_api::{
    LocationView, MomentCommentCreated, MomentCommentView, MomentCreated, MomentLikeView,
    MomentList, MomentMediaView, MomentView, NewMoment, NewMomentComment, Problem, VisibilityView,
};
use piazza_core::moments::{self, Moment, Source, Visibility, VisibilityKind};
use piazza_domain::{
    AccountId, CommentText, Location, MediaId, MomentCommentId, MomentId, MomentText, Rejection,
    limits,
};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::routes::contacts::account_brief;
use crate::routes::paging::next_cursor;

/// This area's routes, each registered once with its OpenAPI entry (from
/// the handler's `#[utoipa::path]`); `crate::api_routes` merges them.
pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(post_moment))
        .routes(routes!(feed))
        .routes(routes!(account_moments))
        .routes(routes!(get_moment, delete_moment))
        .routes(routes!(like, unlike))
        .routes(routes!(comment))
        .routes(routes!(delete_comment))
}

/// Posts per page when the client does not say, and at most.
const PAGE_LEN_DEFAULT: u32 = 20;
const PAGE_LEN_MAX: u32 = 50;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct MomentsQuery {
    /// Posts per page, 1 to 50 (default 20; larger values are capped).
    #[param(minimum = 1)]
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page; absent for the first page.
    pub cursor: Option<String>,
}

impl MomentsQuery {
    fn limit(&self) -> Result<u32, ApiError> {
        crate::routes::conversations::page_limit(self.limit, PAGE_LEN_DEFAULT, PAGE_LEN_MAX)
    }

    fn before(&self) -> Result<Option<MomentId>, ApiError> {
        let query = crate::routes::paging::ListQuery {
            limit: None,
            cursor: self.cursor.clone(),
        };
        query.after(|key| MomentId::parse(key).ok())
    }
}

/// An id that cannot exist is answered like a post one may not see.
fn moment_id(text: &str) -> Result<MomentId, ApiError> {
    MomentId::parse(text).map_err(|_| Rejection::MomentNotFound.into())
}

fn comment_id(text: &str) -> Result<MomentCommentId, ApiError> {
    MomentCommentId::parse(text).map_err(|_| Rejection::CommentNotFound.into())
}

/// A listed account that cannot exist is answered as one that is not a
/// contact (which is what it is).
fn listed(accounts: &[String]) -> Result<Vec<AccountId>, ApiError> {
    accounts
        .iter()
        .map(|text| AccountId::parse(text).map_err(|_| Rejection::NotAContact.into()))
        .collect()
}

fn parse_visibility(view: Option<&VisibilityView>) -> Result<Visibility, ApiError> {
    let Some(view) = view else {
        return Ok(Visibility::Contacts);
    };
    let kind = VisibilityKind::parse(&view.kind).ok_or_else(|| {
        ApiError::invalid(
            "invalid_visibility",
            "`visibility.kind` is `contacts`, `only`, `except` or `private`",
        )
    })?;
    let accounts = listed(&view.accounts)?;
    if !accounts.is_empty() && matches!(kind, VisibilityKind::Contacts | VisibilityKind::Private) {
        return Err(ApiError::invalid(
            "invalid_visibility",
            "`visibility.accounts` goes with `only` and `except` only",
        ));
    }
    Ok(match kind {
        VisibilityKind::Contacts => Visibility::Contacts,
        VisibilityKind::Private => Visibility::Private,
        VisibilityKind::Only => Visibility::Only(accounts),
        VisibilityKind::Except => Visibility::Except(accounts),
    })
}

fn parse_moment(body: &NewMoment) -> Result<moments::NewMoment, ApiError> {
    if body.media_ids.len() > limits::MOMENT_MEDIA_MAX {
        return Err(ApiError::invalid(
            "too_many_media",
            format!(
                "`media_ids` holds at most {} pictures",
                limits::MOMENT_MEDIA_MAX
            ),
        ));
    }
    let media = body
        .media_ids
        .iter()
        .map(|text| MediaId::parse(text).map_err(|_| ApiError::from(Rejection::MediaNotFound)))
        .collect::<Result<Vec<_>, _>>()?;
    let location = match &body.location {
        None => None,
        Some(place) => Some(Location::parse(
            place.lat,
            place.lon,
            place.name.as_deref(),
        )?),
    };
    Ok(moments::NewMoment {
        text: MomentText::parse(&body.text)?,
        media,
        location,
        visibility: parse_visibility(body.visibility.as_ref())?,
    })
}

/// Post to Moments: text (up to 2,000 characters) and up to nine of your
/// own pictures, a place, and who may see it (`contacts` by default;
/// `only` or `except` some contacts; `private`). Your contacts who may see
/// it find it in their feed.
#[utoipa::path(post, path = "/api/v1/moments", tag = "moments", security(("bearer" = [])),
    request_body = NewMoment,
    responses(
        (status = 201, body = MomentCreated),
        (status = 400, description = "invalid_moment_text, too_many_media, invalid_location or invalid_visibility", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_contact: a listed account is not your contact", body = Problem),
        (status = 404, description = "media_not_found: a picture is not your upload", body = Problem),
        (status = 422, description = "empty_moment (no text, no picture) or empty_audience (`only` nobody)", body = Problem),
    ))]
pub async fn post_moment(
    State(app): State<App>,
    auth: Auth,
    Json(body): Json<NewMoment>,
) -> Result<(StatusCode, Json<MomentCreated>), ApiError> {
    let moment = parse_moment(&body)?;
    let id = app.store.post_moment(auth.account, moment).await?;
    Ok((
        StatusCode::CREATED,
        Json(MomentCreated {
            moment_id: id.to_string(),
        }),
    ))
}

/// Your feed: your own posts and your contacts' posts that you may see,
/// newest first, each with the likes and comments of your contacts (and
/// your own and the author's). A page may be shorter than `limit` and
/// still have a `next_cursor`.
#[utoipa::path(get, path = "/api/v1/moments/feed", tag = "moments", security(("bearer" = [])),
    params(MomentsQuery),
    responses((status = 200, body = MomentList), (status = 400, description = "invalid_cursor or invalid_limit", body = Problem), (status = 401, body = Problem)))]
pub async fn feed(
    State(app): State<App>,
    auth: Auth,
    Query(query): Query<MomentsQuery>,
) -> Result<Json<MomentList>, ApiError> {
    list(&app, auth.account, Source::Feed, &query).await
}

/// One account's posts as you may see them (all of your own), newest
/// first. An account you do not know is 404, as an unknown id.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/moments", tag = "moments",
    security(("bearer" = [])), params(("account_id" = String, Path), MomentsQuery),
    responses((status = 200, body = MomentList), (status = 400, description = "invalid_cursor or invalid_limit", body = Problem), (status = 401, body = Problem), (status = 404, description = "account_not_found", body = Problem)))]
pub async fn account_moments(
    State(app): State<App>,
    auth: Auth,
    Path(account): Path<String>,
    Query(query): Query<MomentsQuery>,
) -> Result<Json<MomentList>, ApiError> {
    let account = AccountId::parse(&account).map_err(|_| Rejection::AccountNotFound)?;
    list(&app, auth.account, Source::Author(account), &query).await
}

async fn list(
    app: &App,
    viewer: AccountId,
    source: Source,
    query: &MomentsQuery,
) -> Result<Json<MomentList>, ApiError> {
    let limit = query.limit()?;
    let before = query.before()?;
    let page = app.store.moments(viewer, source, before, limit).await?;
    let next = page.next_before.map(|id| id.to_string());
    Ok(Json(MomentList {
        moments: page.items.iter().map(moment_view).collect(),
        next_cursor: next_cursor(next.is_some(), next),
    }))
}

/// One post as you may see it; one you may not see is 404, as an unknown
/// id.
#[utoipa::path(get, path = "/api/v1/moments/{moment_id}", tag = "moments", security(("bearer" = [])),
    params(("moment_id" = String, Path)),
    responses((status = 200, body = MomentView), (status = 401, body = Problem), (status = 404, description = "moment_not_found", body = Problem)))]
pub async fn get_moment(
    State(app): State<App>,
    auth: Auth,
    Path(moment): Path<String>,
) -> Result<Json<MomentView>, ApiError> {
    let moment = app.store.moment(auth.account, moment_id(&moment)?).await?;
    Ok(Json(moment_view(&moment)))
}

/// Delete your post, with its likes and comments.
#[utoipa::path(delete, path = "/api/v1/moments/{moment_id}", tag = "moments", security(("bearer" = [])),
    params(("moment_id" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, description = "not_moment_author", body = Problem), (status = 404, description = "moment_not_found", body = Problem)))]
pub async fn delete_moment(
    State(app): State<App>,
    auth: Auth,
    Path(moment): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.store
        .delete_moment(auth.account, moment_id(&moment)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Like a post you may see; again changes nothing. Its author is told
/// (`moment.liked`).
#[utoipa::path(post, path = "/api/v1/moments/{moment_id}/likes", tag = "moments", security(("bearer" = [])),
    params(("moment_id" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 404, description = "moment_not_found", body = Problem)))]
pub async fn like(
    State(app): State<App>,
    auth: Auth,
    Path(moment): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.store
        .like_moment(auth.account, moment_id(&moment)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Take your like back; nothing changes if there was none.
#[utoipa::path(delete, path = "/api/v1/moments/{moment_id}/likes", tag = "moments", security(("bearer" = [])),
    params(("moment_id" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 404, description = "moment_not_found", body = Problem)))]
pub async fn unlike(
    State(app): State<App>,
    auth: Auth,
    Path(moment): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.store
        .unlike_moment(auth.account, moment_id(&moment)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Comment on a post you may see, or reply to a comment on it that you
/// can see. Its author and the one replied to are told
/// (`moment.commented`).
#[utoipa::path(post, path = "/api/v1/moments/{moment_id}/comments", tag = "moments", security(("bearer" = [])),
    params(("moment_id" = String, Path)), request_body = NewMomentComment,
    responses(
        (status = 201, body = MomentCommentCreated),
        (status = 400, description = "invalid_comment_text", body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "moment_not_found or comment_not_found (`reply_to`)", body = Problem),
        (status = 409, description = "limit_reached: the post holds 1,000 comments", body = Problem),
    ))]
pub async fn comment(
    State(app): State<App>,
    auth: Auth,
    Path(moment): Path<String>,
    Json(body): Json<NewMomentComment>,
) -> Result<(StatusCode, Json<MomentCommentCreated>), ApiError> {
    let moment = moment_id(&moment)?;
    let text = CommentText::parse(&body.text)?;
    let reply_to = body.reply_to.as_deref().map(comment_id).transpose()?;
    let id = app
        .store
        .comment_moment(auth.account, moment, text, reply_to)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(MomentCommentCreated {
            comment_id: id.to_string(),
        }),
    ))
}

/// Delete a comment: your own, or any on your post.
#[utoipa::path(delete, path = "/api/v1/moments/{moment_id}/comments/{comment_id}", tag = "moments",
    security(("bearer" = [])), params(("moment_id" = String, Path), ("comment_id" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, description = "not_comment_author", body = Problem), (status = 404, description = "moment_not_found or comment_not_found", body = Problem)))]
pub async fn delete_comment(
    State(app): State<App>,
    auth: Auth,
    Path((moment, comment)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let moment = moment_id(&moment)?;
    let comment = comment_id(&comment)?;
    app.store
        .delete_moment_comment(auth.account, moment, comment)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn visibility_view(visibility: &Visibility) -> VisibilityView {
    VisibilityView {
        kind: visibility.kind().as_str().to_owned(),
        accounts: visibility
            .accounts()
            .iter()
            .map(ToString::to_string)
            .collect(),
    }
}

pub fn moment_view(moment: &Moment) -> MomentView {
    let row = &moment.row;
    MomentView {
        moment_id: row.moment_id.to_string(),
        author: account_brief(&row.author),
        text: row.text.as_str().to_owned(),
        media: moment
            .media
            .iter()
            .map(|media| MomentMediaView {
                media_id: media.media_id.to_string(),
                width: media.width,
                height: media.height,
            })
            .collect(),
        location: row.location.as_ref().map(|place| LocationView {
            lat: place.lat(),
            lon: place.lon(),
            name: place.name().map(str::to_owned),
        }),
        created_at: row.created_at.to_rfc3339(),
        visibility: moment.visibility.as_ref().map(visibility_view),
        likes: moment
            .likes
            .iter()
            .map(|like| MomentLikeView {
                account: account_brief(&like.account),
                created_at: like.at.to_rfc3339(),
            })
            .collect(),
        like_count: moment.like_count,
        comments: moment
            .comments
            .iter()
            .map(|comment| MomentCommentView {
                comment_id: comment.comment_id.to_string(),
                account: account_brief(&comment.account),
                text: comment.text.as_str().to_owned(),
                reply_to: comment.reply_to.map(|id| id.to_string()),
                reply_to_account: comment.reply_to_account.map(|id| id.to_string()),
                created_at: comment.at.to_rfc3339(),
            })
            .collect(),
        liked: moment.liked_by_viewer,
    }
}
