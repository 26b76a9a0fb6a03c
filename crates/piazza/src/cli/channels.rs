//! `piazza channel …`: channels (official accounts) from the terminal —
//! create one, find and follow others, publish an article (its Markdown
//! from a file, an argument or standard input), read the subscriptions
//! feed and an article, share an article into a chat as a card. A channel
//! is named by its handle or its id.
//! Others' words (names, titles, bodies) are printed through
//! `render::shown`/`shown_block` only.

use std::path::PathBuf;

use anyhow::{Context, bail};
use piazza_api::{CreateChannel, PublishArticle};

use super::Session;
use super::render::{shown, shown_block};

#[derive(clap::Subcommand, Debug)]
pub enum ChannelCommand {
    /// Create a channel you own
    Create {
        /// Its handle: 3-32 of a-z, 0-9, '_' and '.'; its page is /c/<handle>
        handle: String,
        /// Its name, as readers see it
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Find channels by handle or name
    Find { query: String },
    /// Follow a channel (its handle or id)
    Follow { channel: String },
    /// Stop following a channel
    Unfollow { channel: String },
    /// Publish an article (the channel's owner or an editor)
    Publish {
        /// The channel's handle or id
        channel: String,
        title: String,
        /// The Markdown body from this file (else --body, else standard input)
        #[arg(long, value_name = "FILE", conflicts_with = "body")]
        file: Option<PathBuf>,
        #[arg(long)]
        body: Option<String>,
    },
    /// The latest articles of the channels you follow
    Feed {
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Read an article (it counts you among its readers)
    Read { article_id: String },
    /// Share an article into a chat, as a card with its title and channel
    Share {
        article_id: String,
        /// A contact's username, a group's title or a conversation id
        #[arg(long)]
        to: String,
    },
}

/// Runs one `piazza channel` subcommand.
pub async fn run(session: &Session, command: ChannelCommand) -> anyhow::Result<()> {
    use ChannelCommand as C;
    match command {
        C::Create {
            handle,
            name,
            description,
        } => create(session, handle, name, description).await,
        C::Find { query } => find(session, &query).await,
        C::Follow { channel } => follow(session, &channel, true).await,
        C::Unfollow { channel } => follow(session, &channel, false).await,
        C::Publish {
            channel,
            title,
            file,
            body,
        } => publish(session, &channel, title, file, body).await,
        C::Feed { limit } => feed(session, limit).await,
        C::Read { article_id } => read(session, &article_id).await,
        C::Share { article_id, to } => share(session, &article_id, &to).await,
    }
}

/// The id of the channel named `channel` (an id, or a handle).
async fn channel_id(session: &Session, channel: &str) -> anyhow::Result<String> {
    if channel.starts_with("chn_") {
        return Ok(channel.to_owned());
    }
    let found = session.client.find_channels(channel).await?.channels;
    match found.into_iter().find(|found| found.handle == channel) {
        Some(found) => Ok(found.channel_id),
        None => bail!("no channel has the handle {channel} (see `piazza channel find`)"),
    }
}

async fn create(
    session: &Session,
    handle: String,
    name: String,
    description: String,
) -> anyhow::Result<()> {
    let created = session
        .client
        .create_channel(&CreateChannel {
            handle: handle.clone(),
            name,
            description,
            avatar_media_id: None,
        })
        .await?;
    println!(
        "created channel @{handle} [{}]; its page is /c/{handle}",
        created.channel_id
    );
    Ok(())
}

async fn find(session: &Session, query: &str) -> anyhow::Result<()> {
    let found = session.client.find_channels(query).await?.channels;
    if found.is_empty() {
        println!("no channel matches");
    }
    for channel in found {
        println!(
            "@{}  {}  ({} followers, {} articles) [{}]",
            shown(&channel.handle),
            shown(&channel.name),
            channel.follower_count,
            channel.article_count,
            channel.channel_id
        );
    }
    Ok(())
}

async fn follow(session: &Session, channel: &str, on: bool) -> anyhow::Result<()> {
    let id = channel_id(session, channel).await?;
    if on {
        session.client.follow_channel(&id).await?;
    } else {
        session.client.unfollow_channel(&id).await?;
    }
    let view = session.client.channel(&id).await?;
    println!(
        "{} {} (@{}, {} followers)",
        if on {
            "following"
        } else {
            "no longer following"
        },
        shown(&view.channel.name),
        shown(&view.channel.handle),
        view.channel.follower_count
    );
    Ok(())
}

async fn publish(
    session: &Session,
    channel: &str,
    title: String,
    file: Option<PathBuf>,
    body: Option<String>,
) -> anyhow::Result<()> {
    let body_markdown = match (file, body) {
        (Some(file), _) => std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()))?,
        (None, Some(body)) => body,
        (None, None) => std::io::read_to_string(std::io::stdin()).context("cannot read stdin")?,
    };
    let id = channel_id(session, channel).await?;
    let article = PublishArticle {
        title,
        body_markdown,
        cover_media_id: None,
    };
    let created = session.client.publish_article(&id, &article).await?;
    println!(
        "published [{}]; its page is {}",
        created.article_id, created.url
    );
    Ok(())
}

async fn feed(session: &Session, limit: u32) -> anyhow::Result<()> {
    let feed = session.client.subscriptions_feed(None, Some(limit)).await?;
    if feed.items.is_empty() {
        println!("nothing yet: follow channels with `piazza channel follow <handle>`");
    }
    for item in feed.items {
        let article = &item.article;
        println!(
            "{} {}  {}: {} [{}]",
            if item.read { " " } else { "•" },
            article
                .published_at
                .get(..16)
                .unwrap_or(&article.published_at),
            shown(&item.channel_name),
            shown(&article.title),
            article.article_id
        );
    }
    Ok(())
}

async fn read(session: &Session, article_id: &str) -> anyhow::Result<()> {
    let article = session.client.article(article_id).await?;
    println!(
        "{} · @{} · {}",
        shown(&article.channel.name),
        shown(&article.channel.handle),
        article
            .published_at
            .get(..16)
            .unwrap_or(&article.published_at)
    );
    println!("{}", shown(&article.title));
    println!();
    println!("{}", shown_block(&article.body_markdown));
    println!();
    println!(
        "{} reads · {} likes · {}",
        article.read_count, article.like_count, article.url
    );
    for comment in &article.comments {
        let mark = if comment.featured { "" } else { " (held)" };
        println!("  > {}{mark}", shown_block(&comment.text));
    }
    Ok(())
}

async fn share(session: &Session, article_id: &str, to: &str) -> anyhow::Result<()> {
    let conversation_id = session.conversation_for(to).await?;
    let client_msg_id = format!("cli-{:032x}", rand::random::<u128>());
    let (sent, _replayed) = session
        .client
        .share_article(&conversation_id, &client_msg_id, article_id)
        .await
        .map_err(|e| session.explain(e))?;
    let place = session.names().await?.conversation(&conversation_id);
    println!("shared article {article_id} as #{} to {place}", sent.seq);
    Ok(())
}
