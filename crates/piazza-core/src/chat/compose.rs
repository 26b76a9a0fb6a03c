//! What a message may carry besides its text, and who may send it: a
//! picture, a file, a voice note, a video, a place, a contact card, a
//! channel's article or a shop's product as a card, a forwarded message's
//! content; the
//! message it answers; the members it mentions. Every part is checked
//! against what the sender can see, in the transaction that stores it.

use piazza_domain::event::{
    ArticleCard, Attachment, ConversationKind, Extra, Message, MessageRef, ProductCard,
};
use piazza_domain::media::MediaKind;
use piazza_domain::money::Currency;
use piazza_domain::store::Sent;
use piazza_domain::{
    AccountId, ArticleId, ClientMsgId, ConversationId, Location, MediaId, MessageId, MessageText,
    ProductId, Rejection, limits,
};

use super::messages::{append_message, audience, replay};
use super::{Body, Membership, Mentioned, visible_message};
use crate::engine::{Result, Tx};

/// The `kind` of an image message; its `ref` is the `med_…` id.
pub const IMAGE_KIND: &str = "image";
/// The `kind` of a file (any media), with `extra.attachment`.
pub const FILE_KIND: &str = "file";
/// The `kind` of a voice note (audio).
pub const VOICE_KIND: &str = "voice";
/// The `kind` of a video.
pub const VIDEO_KIND: &str = "video";
/// The kinds whose `ref` is a media, which its members may then fetch.
pub const MEDIA_KINDS: [&str; 4] = [IMAGE_KIND, FILE_KIND, VOICE_KIND, VIDEO_KIND];
/// The `kind` of a shared place (`extra.location`).
pub const LOCATION_KIND: &str = "location";
/// The `kind` of a contact card (`extra.card`).
pub const CARD_KIND: &str = "contact_card";
/// The `kind` of a channel's article shared as a card (`extra.article`).
pub const ARTICLE_CARD_KIND: &str = "article_card";
/// The `kind` of a shop's product shared as a card (`extra.product`).
pub const PRODUCT_CARD_KIND: &str = "product_card";

/// Whether a message of `kind` (`None`: text) is one a member composed —
/// text, media, a place, a card — as opposed to money's (a transfer, a red
/// packet), which nothing may take back.
pub fn is_composed(kind: Option<&str>) -> bool {
    kind.is_none_or(|kind| COMPOSED_KINDS.contains(&kind))
}

/// Every `kind` a member composes besides text (see [`is_composed`]): what
/// a recall takes back and a forward carries on.
const COMPOSED_KINDS: [&str; 8] = [
    IMAGE_KIND,
    FILE_KIND,
    VOICE_KIND,
    VIDEO_KIND,
    LOCATION_KIND,
    CARD_KIND,
    ARTICLE_CARD_KIND,
    PRODUCT_CARD_KIND,
];

/// What a sender asks to send into a conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// The text, or an image's caption; empty for a place, a card (a
    /// contact's, an article's or a product's) or a forward.
    pub text: MessageText,
    pub content: Content,
    pub reply_to: Option<MessageId>,
    /// Accounts named, as the client listed them (checked and ordered
    /// here).
    pub mentions: Vec<AccountId>,
    pub mention_all: bool,
}

/// A media message as asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaContent {
    pub media: MediaId,
    /// One of [`MEDIA_KINDS`]; `None`, what the media is says (a picture
    /// an image, audio a voice note, a video a video, the rest a file).
    pub kind: Option<&'static str>,
    /// A voice note's or video's length as its sender knows it; `None`,
    /// what its container says.
    pub duration_ms: Option<u64>,
}

/// What the message is besides its text.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    Text,
    /// One of the sender's own uploads.
    Media(MediaContent),
    Location(Location),
    /// The sender's own card or one of the sender's contacts'.
    Card(AccountId),
    /// A channel's article (articles are public: any that exists).
    Article(ArticleId),
    /// A shop's product, if it is listed (as its public page shows it),
    /// its prices in `currency` (the server's one currency).
    Product {
        product: ProductId,
        currency: Currency,
    },
    /// The content of a message the sender can see, anywhere: its text,
    /// picture (the same media, not a copy), place or card.
    Forward(MessageRef),
}

impl Outgoing {
    pub fn text(text: MessageText) -> Outgoing {
        Outgoing {
            text,
            content: Content::Text,
            reply_to: None,
            mentions: Vec::new(),
            mention_all: false,
        }
    }

    /// Whether `earlier`, stored under the same client id by `sender`, is
    /// what this asks for: a retry of it.
    fn stored_as(&self, earlier: &Message, sender: AccountId) -> bool {
        let extra = earlier.extra();
        let content = match &self.content {
            Content::Text => earlier.kind.is_none(),
            Content::Media(asked) => {
                let kind = earlier.kind.as_deref();
                asked.kind.is_none_or(|asked| Some(asked) == kind)
                    && kind.is_some_and(|kind| MEDIA_KINDS.contains(&kind))
                    && earlier.reference.as_deref() == Some(asked.media.to_string().as_str())
                    && asked.duration_ms.is_none_or(|ms| {
                        extra.attachment.as_ref().and_then(|a| a.facts.duration_ms) == Some(ms)
                    })
            }
            Content::Location(place) => extra.location.as_ref() == Some(place),
            Content::Card(account) => {
                extra.card.as_ref().map(|card| card.account_id) == Some(*account)
            }
            Content::Article(article) => {
                extra.article.as_ref().map(|card| card.article_id) == Some(*article)
            }
            Content::Product { product, .. } => {
                extra.product.as_ref().map(|card| card.product_id) == Some(*product)
            }
            Content::Forward(source) => extra.forward_of == Some(*source),
        };
        let forward = matches!(self.content, Content::Forward(_));
        content
            && (forward || earlier.text == self.text)
            && extra.reply_to == self.reply_to
            && extra.mention_all == self.mention_all
            && extra.mentions == mentions_of(sender, &self.mentions)
    }
}

/// The message's kind, reference, text and extra once its content is
/// resolved.
struct Resolved {
    kind: Option<&'static str>,
    reference: Option<String>,
    text: MessageText,
    extra: Extra,
}

/// Sends `outgoing` into `conversation`: the sender must be a member and,
/// in a direct conversation, still the peer's contact. A retry with the
/// same `client_msg_id` answers the message it stored, even if the sender
/// has left since (it reveals only the sender's own message); the same id
/// with another message is refused.
pub fn send(
    tx: &mut dyn Tx,
    sender: AccountId,
    conversation: ConversationId,
    client_msg_id: &ClientMsgId,
    outgoing: &Outgoing,
) -> Result<Sent> {
    let retried = |earlier: &Message| {
        earlier.conversation_id == conversation && outgoing.stored_as(earlier, sender)
    };
    if let Some(replayed) = replay(tx, sender, conversation, client_msg_id, retried)? {
        return Ok(replayed);
    }
    let (found, members) = audience(tx, sender, conversation)?;
    let mut resolved = resolve(tx, sender, outgoing)?;
    if let Some(reply_to) = outgoing.reply_to {
        let answered = visible_message(tx.reads(), &found, conversation, reply_to)?;
        if answered.recalled.is_some() {
            return Err(Rejection::MessageRecalled.into());
        }
        resolved.extra.reply_to = Some(reply_to);
    }
    resolved.extra.mentions = mentioned(sender, &members, &outgoing.mentions)?;
    if outgoing.mention_all {
        may_mention_all(tx.reads(), sender, conversation, &found)?;
        resolved.extra.mention_all = true;
    }
    let body = Body {
        text: resolved.text,
        kind: resolved.kind,
        reference: resolved.reference,
        extra: resolved.extra.boxed(),
    };
    let message = append_message(
        tx,
        sender,
        conversation,
        found.last_seq,
        members,
        client_msg_id.clone(),
        body,
    )?;
    let extra = message.extra();
    if extra.mention_all {
        tx.insert_mentions(conversation, message.seq, Mentioned::All)?;
    } else if !extra.mentions.is_empty() {
        tx.insert_mentions(conversation, message.seq, Mentioned::These(&extra.mentions))?;
    }
    Ok(Sent {
        message,
        replayed: false,
    })
}

/// The content of `outgoing` as it will be stored, its sources checked.
fn resolve(tx: &mut dyn Tx, sender: AccountId, outgoing: &Outgoing) -> Result<Resolved> {
    let plain = |kind, reference, extra| Resolved {
        kind,
        reference,
        text: outgoing.text.clone(),
        extra,
    };
    Ok(match &outgoing.content {
        Content::Text => plain(None, None, Extra::default()),
        Content::Media(asked) => {
            let (kind, attachment) = media_message(tx, sender, asked)?;
            let extra = Extra {
                attachment: Some(attachment),
                ..Extra::default()
            };
            plain(Some(kind), Some(asked.media.to_string()), extra)
        }
        Content::Location(place) => {
            let extra = Extra {
                location: Some(place.clone()),
                ..Extra::default()
            };
            plain(Some(LOCATION_KIND), None, extra)
        }
        Content::Card(account) => {
            let shown = *account == sender || tx.reads().are_contacts(sender, *account)?;
            let card = match tx.reads().account(*account)? {
                Some(found) if shown => found.to_ref(),
                _ => return Err(Rejection::NotAContact.into()),
            };
            let extra = Extra {
                card: Some(card),
                ..Extra::default()
            };
            plain(Some(CARD_KIND), None, extra)
        }
        Content::Article(article) => {
            let extra = Extra {
                article: Some(article_card(tx.reads(), *article)?),
                ..Extra::default()
            };
            plain(Some(ARTICLE_CARD_KIND), None, extra)
        }
        Content::Product { product, currency } => {
            let extra = Extra {
                product: Some(product_card(tx.reads(), *product, *currency)?),
                ..Extra::default()
            };
            plain(Some(PRODUCT_CARD_KIND), None, extra)
        }
        Content::Forward(source) => forwarded(tx, sender, *source)?,
    })
}

/// The content of the message `source`, which `sender` must be able to see
/// (`MessageNotFound` otherwise, as for one that does not exist): not
/// recalled, and not money's (a transfer or a red packet is claimed by
/// its receiver, never passed on).
fn forwarded(tx: &mut dyn Tx, sender: AccountId, source: MessageRef) -> Result<Resolved> {
    let membership = tx
        .reads()
        .membership(sender, source.conversation_id)?
        .ok_or(Rejection::MessageNotFound)?;
    let original = visible_message(
        tx.reads(),
        &membership,
        source.conversation_id,
        source.message_id,
    )?;
    if original.recalled.is_some() {
        return Err(Rejection::MessageRecalled.into());
    }
    let kind = match original.kind.as_deref() {
        None => None,
        Some(kind) => Some(
            COMPOSED_KINDS
                .into_iter()
                .find(|known| *known == kind)
                .ok_or(Rejection::ForwardNotAllowed)?,
        ),
    };
    let carried = original.extra.map(|extra| *extra).unwrap_or_default();
    Ok(Resolved {
        kind,
        reference: original.reference,
        text: original.text,
        extra: Extra {
            forward_of: Some(source),
            location: carried.location,
            card: carried.card,
            article: carried.article,
            product: carried.product,
            attachment: carried.attachment,
            ..Extra::default()
        },
    })
}

/// `article` as a card shows it, taken now: its title and cover, its
/// channel's handle and name. Any article may be shared (they are
/// public); `ArticleNotFound` for one that does not exist.
fn article_card(read: &mut dyn crate::engine::Read, article: ArticleId) -> Result<ArticleCard> {
    let found = read.article(article)?.ok_or(Rejection::ArticleNotFound)?;
    let channel = read
        .channel(found.channel_id)?
        .ok_or(Rejection::ArticleNotFound)?;
    Ok(ArticleCard {
        article_id: found.article_id,
        title: found.title,
        channel_id: channel.channel_id,
        handle: channel.handle.as_str().to_owned(),
        channel_name: channel.name,
        cover_media_id: found.cover,
    })
}

/// `product` as a card shows it, taken now: its title, first picture and
/// price range, its shop's id, handle and name. Only a listed product may
/// be shared (what its public page shows); an unlisted or unknown one is
/// `ProductNotFound`, even to its shop's staff, so a card never shows
/// anyone what buyers cannot see.
fn product_card(
    read: &mut dyn crate::engine::Read,
    product: ProductId,
    currency: Currency,
) -> Result<ProductCard> {
    let view = crate::shops::product_view(read, None, product)?;
    let prices = view.variants.iter().map(|variant| variant.price.get());
    let (Some(min_price_minor), Some(max_price_minor)) = (prices.clone().min(), prices.max())
    else {
        return Err(crate::Error::Corrupt(format!("{product} has no variants")));
    };
    Ok(ProductCard {
        product_id: product,
        title: view.product.title,
        picture_media_id: view.product.media.first().copied(),
        min_price_minor,
        max_price_minor,
        currency: currency.as_str().to_owned(),
        shop_id: view.shop.shop_id,
        handle: view.shop.handle.as_str().to_owned(),
        shop_name: view.shop.name,
    })
}

/// The accounts `sender` mentions, each once and ordered, the sender left
/// out; each must be a member (`members` is ordered by id).
fn mentioned(
    sender: AccountId,
    members: &[AccountId],
    asked: &[AccountId],
) -> Result<Vec<AccountId>> {
    if asked.len() > limits::MENTIONS_MAX {
        return Err(Rejection::TooMany {
            what: "mentions in one message",
            max: limits::MENTIONS_MAX,
        }
        .into());
    }
    let mentions = mentions_of(sender, asked);
    match mentions
        .iter()
        .find(|account| members.binary_search(account).is_err())
    {
        Some(_) => Err(Rejection::MentionNotAMember.into()),
        None => Ok(mentions),
    }
}

/// The accounts a message of `sender`'s mentions when it asks for
/// `asked`: each once, ordered, the sender left out. The stored message
/// holds exactly this, so a retry is compared with it.
fn mentions_of(sender: AccountId, asked: &[AccountId]) -> Vec<AccountId> {
    let mut accounts = asked.to_vec();
    accounts.sort_unstable();
    accounts.dedup();
    accounts.retain(|account| *account != sender);
    accounts
}

/// Only a group's owner or admins mention everyone.
fn may_mention_all(
    read: &mut dyn crate::engine::Read,
    sender: AccountId,
    conversation: ConversationId,
    membership: &Membership,
) -> Result<()> {
    let role = crate::groups::role_of(read, membership, conversation, sender)?;
    match membership.kind {
        ConversationKind::Group if role.manages() => Ok(()),
        _ => Err(Rejection::MentionAllNotAllowed.into()),
    }
}

/// The kind and attachment of a media message: the media must be one of
/// the sender's own uploads (`MediaNotFound` otherwise, as for one that
/// does not exist), and what it is must fit the kind asked for.
fn media_message(
    tx: &mut dyn Tx,
    sender: AccountId,
    asked: &MediaContent,
) -> Result<(&'static str, Attachment)> {
    let media = crate::media::own_media_row(tx.reads(), sender, asked.media)?;
    let is = media.media_type.kind();
    let kind = asked.kind.unwrap_or(match is {
        MediaKind::Picture => IMAGE_KIND,
        MediaKind::Audio => VOICE_KIND,
        MediaKind::Video => VIDEO_KIND,
        MediaKind::File => FILE_KIND,
    });
    let needs = match kind {
        IMAGE_KIND => Some((MediaKind::Picture, "a picture")),
        VOICE_KIND => Some((MediaKind::Audio, "audio")),
        VIDEO_KIND => Some((MediaKind::Video, "a video")),
        _ => None,
    };
    if let Some((needed, needs)) = needs
        && needed != is
    {
        return Err(Rejection::MediaKindMismatch { kind, needs }.into());
    }
    let mut facts = media.facts;
    if let Some(duration_ms) = asked.duration_ms
        && matches!(kind, VOICE_KIND | VIDEO_KIND)
    {
        facts.duration_ms = Some(duration_ms);
    }
    let attachment = Attachment {
        media_type: media.media_type,
        bytes: media.bytes,
        name: media.name,
        facts,
    };
    Ok((kind, attachment))
}
