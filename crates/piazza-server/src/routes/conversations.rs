//! Conversations, members and messages. Every call here acts as the
//! caller; the store checks membership in the same read or transaction.
//! A conversation id that does not parse gets the same 403 as one the
//! caller is not in, so guessing ids reveals nothing.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use piazza_api::{
    AddMember, ConversationCreated, ConversationList, ConversationSettingsChange,
    ConversationSettingsView, ConversationView, CreateGroup, GroupView, MarkRead, MemberView,
    MessagePage, MessageSent, MessageView, OpenDirect, Problem, React, ReactionView, SendMessage,
    UpdateGroup,
};
use piazza_core::chat::recall::RecallWindows;
use piazza_core::chat::settings::SettingsChange;
use piazza_domain::event::Message;
use piazza_domain::store::{ConversationKey, ConversationSummary, GroupChange, Reaction};
use piazza_domain::{
    AccountId, Announcement, ClientMsgId, ConversationId, Emoji, GroupTitle, MessageId, Rejection,
    Seq, Timestamp, limits,
};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::routes::compose;
use crate::routes::paging::{ListQuery, next_cursor};

/// This area's routes, each registered once with its OpenAPI entry (from
/// the handler's `#[utoipa::path]`); `crate::api_routes` merges them.
pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create_group, list))
        .routes(routes!(open_direct))
        .routes(routes!(update, view))
        .routes(routes!(add_member))
        .routes(routes!(remove_member))
        .routes(routes!(send, history))
        .routes(routes!(one_message))
        .routes(routes!(change_settings))
        .routes(routes!(mark_read))
        .routes(routes!(recall))
        .routes(routes!(delete_for_me))
        .routes(routes!(react))
        .routes(routes!(unreact))
}

fn conversation_id(text: &str) -> Result<ConversationId, ApiError> {
    ConversationId::parse(text).map_err(|_| Rejection::NotAMember.into())
}

pub use crate::routes::compose::message_view;

/// The direct conversation with a contact, created on first use.
#[utoipa::path(post, path = "/api/v1/conversations/direct", tag = "conversations", security(("bearer" = [])),
    request_body = OpenDirect,
    responses(
        (status = 200, body = ConversationCreated),
        (status = 400, body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_contact", body = Problem),
    ))]
pub async fn open_direct(
    State(app): State<App>,
    auth: Auth,
    Json(body): Json<OpenDirect>,
) -> Result<Json<ConversationCreated>, ApiError> {
    // An id that cannot exist is answered like one that is not a contact.
    let peer = AccountId::parse(&body.peer).map_err(|_| ApiError::from(Rejection::NotAContact))?;
    let conversation = app.store.open_direct(auth.account, peer).await?;
    Ok(Json(ConversationCreated {
        conversation_id: conversation.to_string(),
    }))
}

/// Create a group owned by the caller, with some of the caller's contacts.
#[utoipa::path(post, path = "/api/v1/conversations", tag = "conversations", security(("bearer" = [])),
    request_body = CreateGroup,
    responses(
        (status = 201, body = ConversationCreated),
        (status = 400, body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_contact", body = Problem),
        (status = 409, description = "group_full", body = Problem),
    ))]
pub async fn create_group(
    State(app): State<App>,
    auth: Auth,
    Json(body): Json<CreateGroup>,
) -> Result<(StatusCode, Json<ConversationCreated>), ApiError> {
    let title = GroupTitle::parse(&body.title)?;
    if body.members.len() > limits::GROUP_MEMBERS_MAX {
        return Err(Rejection::GroupFull {
            max: limits::GROUP_MEMBERS_MAX,
        }
        .into());
    }
    let members = body
        .members
        .iter()
        .map(|member| AccountId::parse(member).map_err(|_| ApiError::from(Rejection::NotAContact)))
        .collect::<Result<Vec<_>, _>>()?;
    let conversation = app.store.create_group(auth.account, title, members).await?;
    Ok((
        StatusCode::CREATED,
        Json(ConversationCreated {
            conversation_id: conversation.to_string(),
        }),
    ))
}

/// The caller's conversations, most recently active first.
#[utoipa::path(get, path = "/api/v1/conversations", tag = "conversations", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = ConversationList), (status = 400, description = "invalid_cursor or invalid_limit", body = Problem), (status = 401, body = Problem)))]
pub async fn list(
    State(app): State<App>,
    auth: Auth,
    Query(query): Query<ListQuery>,
) -> Result<Json<ConversationList>, ApiError> {
    let after = query.after(list_key)?;
    let page = app
        .store
        .conversations(auth.account, after, query.limit()?)
        .await?;
    let next_cursor = next_cursor(
        page.has_more,
        page.items.last().map(|summary| {
            let key = summary.key();
            let pinned = u8::from(key.pinned);
            let at = key.last_activity_at.unix_ms();
            format!("{pinned}.{at}.{}", key.conversation_id)
        }),
    );
    let conversations = page.items.into_iter().map(conversation_view).collect();
    Ok(Json(ConversationList {
        conversations,
        has_more: page.has_more,
        next_cursor,
    }))
}

/// The sort key inside a list cursor: `<pinned 0|1>.<unix ms>.<id>`, or
/// `<unix ms>.<id>` from before pinning (not pinned).
fn list_key(key: &str) -> Option<ConversationKey> {
    let (pinned, rest) = match key.split_once('.')? {
        ("0", rest) if rest.contains('.') => (false, rest),
        ("1", rest) if rest.contains('.') => (true, rest),
        _ => (false, key),
    };
    let (at, id) = rest.split_once('.')?;
    Some(ConversationKey {
        pinned,
        last_activity_at: Timestamp::from_unix_ms(at.parse::<i64>().ok()?),
        conversation_id: ConversationId::parse(id).ok()?,
    })
}

fn conversation_view(summary: ConversationSummary) -> ConversationView {
    ConversationView {
        conversation_id: summary.conversation_id.to_string(),
        kind: summary.kind.as_str().to_owned(),
        title: summary.title,
        last_seq: summary.last_seq.get(),
        unread: summary.unread,
        read_seq: summary.read_seq.get(),
        member_count: summary.member_count,
        owner: summary.owner.map(|owner| owner.to_string()),
        avatar_media_id: summary.avatar_media_id.map(|media| media.to_string()),
        peer: summary.peer.map(|peer| peer.to_string()),
        peer_read_seq: summary.peer_read_seq.map(Seq::get),
        remark: summary.peer_remark,
        unread_count: summary.unread,
        mention_count: summary.mention_count,
        last_message: summary.last_message.as_ref().map(compose::preview),
        last_activity_at: summary.last_activity_at.to_rfc3339(),
        muted: summary.settings.muted,
        pinned: summary.settings.pinned,
        archived: summary.settings.archived,
    }
}

/// Change your own settings of a conversation: `muted`, `pinned` (at the
/// top of the list, at most 10), `archived`. An absent field stays;
/// pinning takes it out of the archive and archiving unpins it. Every one
/// of your devices learns it (`conversation.settings`).
#[utoipa::path(patch, path = "/api/v1/conversations/{id}/settings", tag = "conversations",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = ConversationSettingsChange,
    responses(
        (status = 200, body = ConversationSettingsView),
        (status = 400, description = "invalid_settings: pinned and archived both true", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_member", body = Problem),
        (status = 409, description = "limit_reached: 10 conversations are pinned already", body = Problem),
    ))]
pub async fn change_settings(
    State(app): State<App>,
    auth: Auth,
    Path(conversation): Path<String>,
    Json(body): Json<ConversationSettingsChange>,
) -> Result<Json<ConversationSettingsView>, ApiError> {
    let conversation = conversation_id(&conversation)?;
    if body.pinned == Some(true) && body.archived == Some(true) {
        return Err(ApiError::invalid(
            "invalid_settings",
            "a conversation is pinned or archived, not both",
        ));
    }
    let change = SettingsChange {
        muted: body.muted,
        pinned: body.pinned,
        archived: body.archived,
    };
    let settings = app
        .store
        .change_settings(auth.account, conversation, change)
        .await?;
    Ok(Json(ConversationSettingsView {
        conversation_id: conversation.to_string(),
        muted: settings.muted,
        pinned: settings.pinned,
        archived: settings.archived,
    }))
}

/// Change a group's title, picture, announcement (at most 2,000
/// characters; empty clears it) or approval mode (`join_approval`: joins by
/// invitation wait for the owner or an admin): the owner and admins only.
/// Every member learns it (`conversation.updated`, with all four as they
/// now are).
#[utoipa::path(patch, path = "/api/v1/conversations/{id}", tag = "conversations",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = UpdateGroup,
    responses(
        (status = 204),
        (status = 400, description = "invalid_title, announcement_too_long, invalid_announcement, not_a_group, or invalid_image: the picture's bytes cannot be decoded", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_member or not_admin", body = Problem),
        (status = 404, description = "media_not_found: the picture is not an image you uploaded", body = Problem),
        (status = 429, description = "rate_limited: past `limits.profile_changes_per_account_per_min` group changes (each is logged to every member)", body = Problem),
    ))]
pub async fn update(
    State(app): State<App>,
    auth: Auth,
    Path(conversation): Path<String>,
    Json(body): Json<UpdateGroup>,
) -> Result<StatusCode, ApiError> {
    let conversation = conversation_id(&conversation)?;
    let title = body.title.as_deref().map(GroupTitle::parse).transpose()?;
    let announcement = body
        .announcement
        .as_deref()
        .map(Announcement::parse)
        .transpose()?;
    let avatar =
        crate::routes::profiles::avatar_change(&app, auth.account, body.avatar_media_id).await?;
    app.rate_limits
        .charge_fan_out(auth.account, crate::rate_limit::FanOut::Group)?;
    let change = GroupChange {
        title,
        avatar,
        announcement,
        join_approval: body.join_approval,
    };
    app.store
        .update_group(auth.account, conversation, change)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A conversation as its members see it: a group's title, picture,
/// announcement (who set it, when) and approval mode, and every member
/// with their role (`owner`, `admin`, `member`).
#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "conversations",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses(
        (status = 200, body = GroupView),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_member", body = Problem),
    ))]
pub async fn view(
    State(app): State<App>,
    auth: Auth,
    Path(conversation): Path<String>,
) -> Result<Json<GroupView>, ApiError> {
    let conversation = conversation_id(&conversation)?;
    let found = app.store.group_view(auth.account, conversation).await?;
    let your_role = found
        .members
        .iter()
        .find(|(account, _, _)| *account == auth.account)
        .map_or("member", |(_, role, _)| role.as_str());
    Ok(Json(GroupView {
        conversation_id: conversation.to_string(),
        kind: found.kind.as_str().to_owned(),
        title: found.title,
        owner: found.owner.map(|owner| owner.to_string()),
        avatar_media_id: found.avatar.map(|media| media.to_string()),
        announcement: found.details.announcement,
        announcement_by: found.details.announcement_by.map(|by| by.to_string()),
        announcement_at: found.details.announcement_at.map(|at| at.to_rfc3339()),
        join_approval: found.details.join_approval,
        your_role: your_role.to_owned(),
        members: found
            .members
            .iter()
            .map(|(account, role, joined_at)| MemberView {
                account_id: account.to_string(),
                role: role.as_str().to_owned(),
                joined_at: joined_at.to_rfc3339(),
            })
            .collect(),
    }))
}

/// Add one of the owner's contacts to a group (owner only).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/members", tag = "conversations",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = AddMember,
    responses(
        (status = 204),
        (status = 400, body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_member, not_owner or not_a_contact", body = Problem),
        (status = 409, description = "group_full", body = Problem),
    ))]
pub async fn add_member(
    State(app): State<App>,
    auth: Auth,
    Path(conversation): Path<String>,
    Json(body): Json<AddMember>,
) -> Result<StatusCode, ApiError> {
    let conversation = conversation_id(&conversation)?;
    let member =
        AccountId::parse(&body.account_id).map_err(|_| ApiError::from(Rejection::NotAContact))?;
    app.store
        .add_member(auth.account, conversation, member)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a member (the owner; an admin removes plain members only), or
/// leave (any member removing themself, as `POST …/leave`).
#[utoipa::path(delete, path = "/api/v1/conversations/{id}/members/{account_id}", tag = "conversations",
    security(("bearer" = [])), params(("id" = String, Path), ("account_id" = String, Path)),
    responses(
        (status = 204),
        (status = 400, body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_member, not_admin, or not_owner (an admin removing an admin)", body = Problem),
        (status = 404, description = "member_not_found", body = Problem),
        (status = 422, description = "target_is_owner", body = Problem),
    ))]
pub async fn remove_member(
    State(app): State<App>,
    auth: Auth,
    Path((conversation, member)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let conversation = conversation_id(&conversation)?;
    let member =
        AccountId::parse(&member).map_err(|_| ApiError::from(Rejection::MemberNotFound))?;
    app.store
        .remove_member(auth.account, conversation, member)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Send a message: a text; an image you uploaded (`media_id`, the text an
/// optional caption); a place (`location`); a contact card (`card`); a
/// channel's article or a shop's listed product as a card (`article_id`,
/// `product_id`: shown as it was when sent); or another message's content (`forward_of`). Any of them may answer a
/// message (`reply_to`) and mention members (`mentions`, or a group's
/// owner `mention_all`). Idempotent by `client_msg_id`: a retry answers
/// 200 with the first answer and stores nothing.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", tag = "conversations",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = SendMessage,
    responses(
        (status = 201, description = "stored", body = MessageSent),
        (status = 200, description = "already stored by an earlier call with this client_msg_id", body = MessageSent),
        (status = 400, description = "invalid_message, invalid_kind, invalid_location, invalid_text, invalid_article_id, invalid_product_id, …", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_member, not_a_contact (also a card of someone not your contact), mention_all_not_allowed, forward_not_allowed (money's messages)", body = Problem),
        (status = 404, description = "media_not_found: not an image you uploaded; message_not_found: a reply_to or forward_of you cannot see; article_not_found: an article_id that does not exist; product_not_found: a product_id that does not exist or is unlisted", body = Problem),
        (status = 409, description = "message_recalled: the message replied to or forwarded was recalled; limit_reached: more than 100 mentions", body = Problem),
        (status = 413, body = Problem),
        (status = 422, description = "client_msg_id_reused with another message; mention_not_a_member", body = Problem),
    ))]
pub async fn send(
    State(app): State<App>,
    auth: Auth,
    Path(conversation): Path<String>,
    Json(body): Json<SendMessage>,
) -> Result<(StatusCode, Json<MessageSent>), ApiError> {
    let conversation = conversation_id(&conversation)?;
    let client_msg_id = ClientMsgId::parse(&body.client_msg_id)?;
    let outgoing = compose::outgoing(&body.message, app.currency)?;
    let sent = app
        .store
        .send(auth.account, conversation, client_msg_id, outgoing)
        .await?;
    let status = if sent.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let message = &sent.message;
    Ok((
        status,
        Json(MessageSent {
            message_id: message.message_id.to_string(),
            seq: message.seq.get(),
            sent_at: message.sent_at.to_rfc3339(),
        }),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct HistoryQuery {
    /// Only messages with a smaller seq.
    pub before: Option<i64>,
    /// Page size, 1 to 200 (default 50; larger values are capped).
    #[param(minimum = 1)]
    pub limit: Option<u32>,
}

/// A page of history, newest first.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/messages", tag = "conversations",
    security(("bearer" = [])), params(("id" = String, Path), HistoryQuery),
    responses(
        (status = 200, body = MessagePage),
        (status = 400, body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_member", body = Problem),
    ))]
pub async fn history(
    State(app): State<App>,
    auth: Auth,
    Path(conversation): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<MessagePage>, ApiError> {
    let conversation = conversation_id(&conversation)?;
    let before = query.before.map(Seq::new).transpose()?;
    let limit = page_limit(query.limit, limits::PAGE_LEN_DEFAULT, limits::PAGE_LEN_MAX)?;
    let page = app
        .store
        .history(auth.account, conversation, before, limit)
        .await?;
    let messages = page
        .messages
        .iter()
        .map(|message| with_reactions(message, &page.reactions))
        .collect();
    Ok(Json(MessagePage {
        messages,
        has_more: page.has_more,
    }))
}

/// One message as your history shows it, with its reactions: what a reply
/// quotes when the message it answers is not in the page at hand.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/messages/{message_id}", tag = "conversations",
    security(("bearer" = [])), params(("id" = String, Path), ("message_id" = String, Path)),
    responses(
        (status = 200, body = MessageView),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_member", body = Problem),
        (status = 404, description = "message_not_found (also one sent before you joined, or deleted for yourself)", body = Problem),
    ))]
pub async fn one_message(
    State(app): State<App>,
    auth: Auth,
    Path((conversation, message)): Path<(String, String)>,
) -> Result<Json<MessageView>, ApiError> {
    let conversation = conversation_id(&conversation)?;
    let message = compose::message_id(&message)?;
    let page = app
        .store
        .message(auth.account, conversation, message)
        .await?;
    let found = page.messages.first().ok_or(Rejection::MessageNotFound)?;
    Ok(Json(with_reactions(found, &page.reactions)))
}

/// Mark the conversation read up to `seq`; the account's other devices
/// learn it through sync. Markers only move forward.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/read", tag = "conversations",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = MarkRead,
    responses(
        (status = 204),
        (status = 400, description = "seq_out_of_range or invalid", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_member", body = Problem),
    ))]
pub async fn mark_read(
    State(app): State<App>,
    auth: Auth,
    Path(conversation): Path<String>,
    Json(body): Json<MarkRead>,
) -> Result<StatusCode, ApiError> {
    let conversation = conversation_id(&conversation)?;
    let seq = Seq::new(body.seq)?;
    app.store
        .mark_read(auth.account, auth.device, conversation, seq)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Recall a message for every member: its sender may within
/// `limits.recall_window_s` (2 minutes), a group's owner within
/// `limits.group_recall_window_s` (24 hours, and so may its admins), any
/// message but money's.
/// Its text and picture are erased for good; every member's log gets
/// `message.recalled`. Recalling it again answers the same. Answers the
/// message as it now is.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages/{message_id}/recall",
    tag = "conversations", security(("bearer" = [])),
    params(("id" = String, Path), ("message_id" = String, Path)),
    responses(
        (status = 200, body = MessageView),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_member, recall_not_allowed (not yours, not the group's owner, or money), recall_too_late", body = Problem),
        (status = 404, description = "message_not_found (also for one sent before the caller joined)", body = Problem),
    ))]
pub async fn recall(
    State(app): State<App>,
    auth: Auth,
    Path((conversation, message)): Path<(String, String)>,
) -> Result<Json<MessageView>, ApiError> {
    let conversation = conversation_id(&conversation)?;
    let message = compose::message_id(&message)?;
    let windows = RecallWindows {
        own_s: app.limits.recall_window_s,
        group_owner_s: app.limits.group_recall_window_s,
    };
    let recalled = app
        .store
        .recall_message(auth.account, conversation, message, windows)
        .await?;
    Ok(Json(message_view(&recalled)))
}

/// Delete a message for yourself: it leaves your history on all your
/// devices (`message.deleted` in your log) and stays for everyone else.
/// Any message you can see, money's too; deleting it again answers the
/// same.
#[utoipa::path(delete, path = "/api/v1/conversations/{id}/messages/{message_id}",
    tag = "conversations", security(("bearer" = [])),
    params(("id" = String, Path), ("message_id" = String, Path)),
    responses(
        (status = 204),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_member", body = Problem),
        (status = 404, description = "message_not_found (also for one sent before the caller joined)", body = Problem),
    ))]
pub async fn delete_for_me(
    State(app): State<App>,
    auth: Auth,
    Path((conversation, message)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let conversation = conversation_id(&conversation)?;
    let message = compose::message_id(&message)?;
    app.store
        .delete_for_me(auth.account, conversation, message)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A message of a history page, with its reactions.
fn with_reactions(
    message: &Message,
    reactions: &std::collections::HashMap<MessageId, Vec<Reaction>>,
) -> MessageView {
    let reactions = reactions
        .get(&message.message_id)
        .map_or_else(Vec::new, |found| found.iter().map(reaction_view).collect());
    MessageView {
        reactions,
        ..message_view(message)
    }
}

fn reaction_view(reaction: &Reaction) -> ReactionView {
    ReactionView {
        emoji: reaction.emoji.as_str().to_owned(),
        count: reaction.count,
        accounts: reaction.accounts.iter().map(ToString::to_string).collect(),
        mine: reaction.mine,
    }
}

/// React to a message with one emoji; every member's log gets
/// `message.reaction`. Up to 10 different emojis per member and message;
/// reacting again with the same one changes nothing.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages/{message_id}/reactions",
    tag = "conversations", security(("bearer" = [])),
    params(("id" = String, Path), ("message_id" = String, Path)), request_body = React,
    responses(
        (status = 204),
        (status = 400, description = "invalid_emoji: not exactly one emoji", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_member", body = Problem),
        (status = 404, description = "message_not_found", body = Problem),
        (status = 409, description = "message_recalled, limit_reached", body = Problem),
    ))]
pub async fn react(
    State(app): State<App>,
    auth: Auth,
    Path((conversation, message)): Path<(String, String)>,
    Json(body): Json<React>,
) -> Result<StatusCode, ApiError> {
    let conversation = conversation_id(&conversation)?;
    let message = compose::message_id(&message)?;
    let emoji = Emoji::parse(&body.emoji)?;
    app.store
        .react(auth.account, conversation, message, emoji, true)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Take back one's reaction (`emoji`, percent-encoded in the path); taking
/// back one that is not there changes nothing.
#[utoipa::path(delete, path = "/api/v1/conversations/{id}/messages/{message_id}/reactions/{emoji}",
    tag = "conversations", security(("bearer" = [])),
    params(("id" = String, Path), ("message_id" = String, Path), ("emoji" = String, Path)),
    responses(
        (status = 204),
        (status = 400, description = "invalid_emoji", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_member", body = Problem),
        (status = 404, description = "message_not_found", body = Problem),
    ))]
pub async fn unreact(
    State(app): State<App>,
    auth: Auth,
    Path((conversation, message, emoji)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let conversation = conversation_id(&conversation)?;
    let message = compose::message_id(&message)?;
    let emoji = Emoji::parse(&emoji)?;
    app.store
        .react(auth.account, conversation, message, emoji, false)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page size: absent means the default, past the cap means the cap, and
/// zero is a 400.
pub fn page_limit(asked: Option<u32>, default: u32, max: u32) -> Result<u32, ApiError> {
    match asked {
        None => Ok(default),
        Some(0) => Err(ApiError::invalid(
            "invalid_limit",
            format!("`limit` must be 1 to {max}"),
        )),
        Some(limit) => Ok(limit.min(max)),
    }
}
