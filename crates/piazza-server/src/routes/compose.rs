//! A message's wire forms, both ways: what a sender sends (`POST
//! …/messages` and the socket's `send`) parsed into what the rules take,
//! and a stored message as history, `message.new` and previews show it.

use piazza_api::{
    ArticleCardView, AttachmentView, CardView, LocationView, MessageContent, MessagePreview,
    MessageRefView, MessageView, ProductCardView,
};
use piazza_core::chat::{
    ARTICLE_CARD_KIND, CARD_KIND, Content, LOCATION_KIND, MEDIA_KINDS, MediaContent, Outgoing,
    PRODUCT_CARD_KIND,
};
use piazza_domain::event::{ArticleCard, Message, MessageRef, ProductCard};
use piazza_domain::money::Currency;
use piazza_domain::{
    AccountId, ArticleId, ConversationId, Location, MessageId, MessageText, ProductId, Rejection,
    limits,
};

use crate::error::ApiError;

/// The kinds a sender may name; the server's own (`transfer`,
/// `red_packet`) are not among them.
const TEXT_KIND: &str = "text";

/// Parses what a sender sent. Exactly one of `media_id`, `location`,
/// `card`, `article_id`, `product_id` and `forward_of` may come (or none,
/// for a text), and `kind`, when given, must be the one they make; a
/// place, a card and a forward carry no text of their own. A product
/// card's prices are in `currency`, the server's.
pub fn outgoing(content: &MessageContent, currency: Currency) -> Result<Outgoing, ApiError> {
    let given = [
        content.media_id.is_some(),
        content.location.is_some(),
        content.card.is_some(),
        content.article_id.is_some(),
        content.product_id.is_some(),
        content.forward_of.is_some(),
    ];
    if given.iter().filter(|given| **given).count() > 1 {
        return Err(ApiError::invalid(
            "invalid_message",
            "send one of `media_id`, `location`, `card`, `article_id`, `product_id` and \
             `forward_of`",
        ));
    }
    let content_of = parse_content(content, currency)?;
    let fits = match &content_of {
        Content::Text => content.kind.as_deref().is_none_or(|kind| kind == TEXT_KIND),
        // The media's own kind was checked as it was parsed.
        Content::Media(_) => true,
        Content::Location(_) => content
            .kind
            .as_deref()
            .is_none_or(|kind| kind == LOCATION_KIND),
        Content::Card(_) => content.kind.as_deref().is_none_or(|kind| kind == CARD_KIND),
        Content::Article(_) => content
            .kind
            .as_deref()
            .is_none_or(|kind| kind == ARTICLE_CARD_KIND),
        Content::Product { .. } => content
            .kind
            .as_deref()
            .is_none_or(|kind| kind == PRODUCT_CARD_KIND),
        Content::Forward(_) => content.kind.is_none(),
    };
    if !fits || (content.duration_ms.is_some() && !matches!(content_of, Content::Media(_))) {
        return Err(invalid_kind(content.kind.as_deref().unwrap_or("")));
    }
    Ok(Outgoing {
        text: text_for(&content_of, &content.text)?,
        content: content_of,
        reply_to: content.reply_to.as_deref().map(message_id).transpose()?,
        mentions: mentions(&content.mentions)?,
        mention_all: content.mention_all,
    })
}

fn invalid_kind(kind: &str) -> ApiError {
    ApiError::invalid(
        "invalid_kind",
        format!(
            "`kind` \"{kind}\" does not match the fields sent: use text, image, file, voice or \
             video (with `media_id`; `duration_ms` only with these), location (with \
             `location`), contact_card (with `card`), article_card (with `article_id`) or \
             product_card (with `product_id`), and none with `forward_of`"
        ),
    )
}

fn parse_content(content: &MessageContent, currency: Currency) -> Result<Content, ApiError> {
    if let Some(media) = &content.media_id {
        let media = super::media::body_media_id(media)?;
        let kind = match content.kind.as_deref() {
            None => None,
            Some(kind) => Some(
                MEDIA_KINDS
                    .into_iter()
                    .find(|known| *known == kind)
                    .ok_or_else(|| invalid_kind(kind))?,
            ),
        };
        let duration_ms = content.duration_ms;
        if duration_ms.is_some_and(|ms| ms > piazza_domain::media::DURATION_MS_MAX) {
            return Err(ApiError::invalid(
                "invalid_duration",
                "`duration_ms` is at most a day (86400000)",
            ));
        }
        return Ok(Content::Media(MediaContent {
            media,
            kind,
            duration_ms,
        }));
    }
    if let Some(place) = &content.location {
        return Ok(Content::Location(Location::parse(
            place.lat,
            place.lon,
            place.name.as_deref(),
        )?));
    }
    if let Some(card) = &content.card {
        let account = AccountId::parse(&card.account_id)
            .map_err(|_| ApiError::from(Rejection::NotAContact))?;
        return Ok(Content::Card(account));
    }
    if let Some(article) = &content.article_id {
        return Ok(Content::Article(article_id(article)?));
    }
    if let Some(product) = &content.product_id {
        return Ok(Content::Product {
            product: product_id(product)?,
            currency,
        });
    }
    if let Some(source) = &content.forward_of {
        let conversation = ConversationId::parse(&source.conversation_id)
            .map_err(|_| ApiError::from(Rejection::MessageNotFound))?;
        return Ok(Content::Forward(MessageRef {
            conversation_id: conversation,
            message_id: message_id(&source.message_id)?,
        }));
    }
    Ok(Content::Text)
}

/// The text a message of `content` carries: a text's own, a picture's
/// caption (which may be empty), nothing for the rest.
fn text_for(content: &Content, text: &str) -> Result<MessageText, ApiError> {
    match content {
        Content::Text => Ok(MessageText::parse(text)?),
        Content::Media(_) => Ok(MessageText::parse_caption(text)?),
        Content::Location(_)
        | Content::Card(_)
        | Content::Article(_)
        | Content::Product { .. }
        | Content::Forward(_) => {
            if !text.trim().is_empty() {
                return Err(ApiError::invalid(
                    "invalid_message",
                    "a location, a contact card, an article card or a forward carries no `text`",
                ));
            }
            Ok(MessageText::parse_caption("")?)
        }
    }
}

/// An article id that is not one (`art_…`) is a bad request: articles are
/// public, so there is nothing to hide by answering it as unknown.
fn article_id(text: &str) -> Result<ArticleId, ApiError> {
    ArticleId::parse(text).map_err(|_| {
        ApiError::invalid(
            "invalid_article_id",
            "`article_id` is an article's id, as `art_12`",
        )
    })
}

/// A product id that is not one (`prd_…`) is a bad request, as an
/// article's: a listed product is public, so nothing is hidden by it.
fn product_id(text: &str) -> Result<ProductId, ApiError> {
    ProductId::parse(text).map_err(|_| {
        ApiError::invalid(
            "invalid_product_id",
            "`product_id` is a product's id, as `prd_12`",
        )
    })
}

/// An id that cannot exist is answered like one the caller cannot see.
pub fn message_id(text: &str) -> Result<MessageId, ApiError> {
    MessageId::parse(text).map_err(|_| Rejection::MessageNotFound.into())
}

fn mentions(asked: &[String]) -> Result<Vec<AccountId>, ApiError> {
    if asked.len() > limits::MENTIONS_MAX {
        let what = "mentions in one message";
        let max = limits::MENTIONS_MAX;
        return Err(Rejection::TooMany { what, max }.into());
    }
    asked
        .iter()
        .map(|account| {
            AccountId::parse(account).map_err(|_| ApiError::from(Rejection::MentionNotAMember))
        })
        .collect()
}

/// A stored message as history and `message.new` show it (its reactions
/// are the history's to add).
pub fn message_view(message: &Message) -> MessageView {
    let extra = message.extra();
    MessageView {
        message_id: message.message_id.to_string(),
        seq: message.seq.get(),
        sender: message.sender.to_string(),
        text: message.text.as_str().to_owned(),
        sent_at: message.sent_at.to_rfc3339(),
        client_msg_id: message.client_msg_id.as_str().to_owned(),
        kind: kind_of(message).to_owned(),
        ref_: message.reference.clone(),
        recalled: message.recalled.is_some(),
        recalled_at: message.recalled.map(|recall| recall.at.to_rfc3339()),
        recalled_by: message.recalled.map(|recall| recall.by.to_string()),
        reactions: Vec::new(),
        reply_to: extra.reply_to.map(|id| id.to_string()),
        mentions: extra.mentions.iter().map(ToString::to_string).collect(),
        mention_all: extra.mention_all,
        forward_of: extra.forward_of.map(|source| MessageRefView {
            conversation_id: source.conversation_id.to_string(),
            message_id: source.message_id.to_string(),
        }),
        location: extra.location.as_ref().map(|place| LocationView {
            lat: place.lat(),
            lon: place.lon(),
            name: place.name().map(str::to_owned),
        }),
        attachment: extra.attachment.as_ref().map(|attachment| AttachmentView {
            content_type: attachment.media_type.as_mime().to_owned(),
            bytes: attachment.bytes,
            name: attachment.name.clone(),
            width: attachment.facts.width,
            height: attachment.facts.height,
            duration_ms: attachment.facts.duration_ms,
        }),
        card: extra.card.as_ref().map(|card| CardView {
            account_id: card.account_id.to_string(),
            username: card.username.as_str().to_owned(),
            display_name: card.display_name.clone(),
            avatar_media_id: card.avatar_media_id.map(|media| media.to_string()),
        }),
        article: extra.article.as_ref().map(article_card_view),
        product: extra.product.as_ref().map(product_card_view),
    }
}

/// A product card as the wire shows it, with its public page's path.
fn product_card_view(card: &ProductCard) -> ProductCardView {
    ProductCardView {
        product_id: card.product_id.to_string(),
        title: card.title.clone(),
        picture_media_id: card.picture_media_id.map(|media| media.to_string()),
        min_price_minor: card.min_price_minor,
        max_price_minor: card.max_price_minor,
        currency: card.currency.clone(),
        shop_id: card.shop_id.to_string(),
        handle: card.handle.clone(),
        shop_name: card.shop_name.clone(),
        url: crate::routes::shop_pages::product_url(&card.handle, card.product_id),
    }
}

/// An article card as the wire shows it, with its public page's path.
fn article_card_view(card: &ArticleCard) -> ArticleCardView {
    ArticleCardView {
        article_id: card.article_id.to_string(),
        title: card.title.clone(),
        channel_id: card.channel_id.to_string(),
        handle: card.handle.clone(),
        channel_name: card.channel_name.clone(),
        cover_media_id: card.cover_media_id.map(|media| media.to_string()),
        url: format!("/c/{}/{}", card.handle, card.article_id),
    }
}

/// A conversation's last message as its list shows it.
pub fn preview(message: &Message) -> MessagePreview {
    MessagePreview {
        message_id: message.message_id.to_string(),
        seq: message.seq.get(),
        sender: message.sender.to_string(),
        kind: kind_of(message).to_owned(),
        text: message
            .text
            .as_str()
            .chars()
            .take(limits::PREVIEW_CHARS_MAX)
            .collect(),
        sent_at: message.sent_at.to_rfc3339(),
        ref_: message.reference.clone(),
        recalled: message.recalled.is_some(),
        recalled_by: message.recalled.map(|recall| recall.by.to_string()),
    }
}

fn kind_of(message: &Message) -> &str {
    message.kind.as_deref().unwrap_or(TEXT_KIND)
}
