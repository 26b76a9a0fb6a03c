//! Messages beyond a plain text, from the command line: a reply, mentions,
//! a place, a contact card, a forward; and the caller's own settings of a
//! conversation (mute, pin, archive). Messages are named by the number
//! `history` shows (`#3`).

use anyhow::{Context, bail};
use piazza_api::{
    CardRequest, ConversationSettingsChange, LocationView, MessageContent, MessageRefView,
};

use super::{Cli, Session, find_by_username};

/// What `piazza send` adds to a text: the message it answers and whom it
/// mentions.
#[derive(clap::Args, Debug, Default)]
pub struct Extras {
    /// Answer this message (its number, as `history` shows it: #3 is 3)
    #[arg(long, value_name = "SEQ")]
    pub reply_to: Option<i64>,
    /// Mention a member by username (again for more)
    #[arg(long = "mention", value_name = "USERNAME")]
    pub mentions: Vec<String>,
    /// Mention every member (a group's owner only)
    #[arg(long)]
    pub mention_all: bool,
}

/// Which setting `piazza mute|pin|archive` changes.
#[derive(Debug, Clone, Copy)]
pub enum Setting {
    Mute,
    Pin,
    Archive,
}

/// Sets `content`'s reply and mentions from `extras`, resolved in
/// `conversation_id`.
pub async fn with_extras(
    session: &Session,
    conversation_id: &str,
    extras: &Extras,
    content: MessageContent,
) -> anyhow::Result<MessageContent> {
    let reply_to = match extras.reply_to {
        Some(seq) => Some(session.message_id_at(conversation_id, seq).await?),
        None => None,
    };
    let mut mentions = Vec::with_capacity(extras.mentions.len());
    for username in &extras.mentions {
        mentions.push(account_id(session, username).await?);
    }
    Ok(MessageContent {
        reply_to,
        mentions,
        mention_all: extras.mention_all,
        ..content
    })
}

/// The account of `username`: a contact's, or anyone's the server shows.
async fn account_id(session: &Session, username: &str) -> anyhow::Result<String> {
    let username = username.trim_start_matches('@');
    if let Some(contact) = find_by_username(&session.contacts().await?, username) {
        return Ok(contact.account_id.clone());
    }
    match session.client.find_account(username).await {
        Ok(profile) => Ok(profile.account_id),
        Err(_) => bail!("no account @{username} that you can see"),
    }
}

/// Sends a place to a contact or a group.
pub async fn send_location(
    cli: &Cli,
    to: &str,
    (lat, lon): (f64, f64),
    name: Option<String>,
) -> anyhow::Result<()> {
    let content = MessageContent {
        location: Some(LocationView { lat, lon, name }),
        ..MessageContent::default()
    };
    send_content(cli, to, content, "a place").await
}

/// Sends a contact's card (or your own) to a contact or a group.
pub async fn send_card(cli: &Cli, to: &str, username: &str) -> anyhow::Result<()> {
    let session = cli.session()?;
    let account_id = if username.trim_start_matches('@') == session.saved.username {
        session.saved.account_id.clone()
    } else {
        let contacts = session.contacts().await?;
        match find_by_username(&contacts, username.trim_start_matches('@')) {
            Some(contact) => contact.account_id.clone(),
            None => bail!("{username} is not one of your contacts: see `piazza contacts list`"),
        }
    };
    let content = MessageContent {
        card: Some(CardRequest { account_id }),
        ..MessageContent::default()
    };
    send_content(
        cli,
        to,
        content,
        &format!("@{}'s card", username.trim_start_matches('@')),
    )
    .await
}

/// Forwards message `seq` of `from` to `to`.
pub async fn forward(cli: &Cli, from: &str, seq: i64, to: &str) -> anyhow::Result<()> {
    let session = cli.session()?;
    let source = session.conversation_for(from).await?;
    let message_id = session.message_id_at(&source, seq).await?;
    let content = MessageContent {
        forward_of: Some(MessageRefView {
            conversation_id: source,
            message_id,
        }),
        ..MessageContent::default()
    };
    send_content(cli, to, content, &format!("#{seq}")).await
}

async fn send_content(
    cli: &Cli,
    to: &str,
    content: MessageContent,
    what: &str,
) -> anyhow::Result<()> {
    let session = cli.session()?;
    let conversation_id = session.conversation_for(to).await?;
    let client_msg_id = format!("cli-{:032x}", rand::random::<u128>());
    let (sent, _replayed) = session
        .client
        .send(&conversation_id, &client_msg_id, content)
        .await
        .map_err(|e| session.explain(e))?;
    let place = session.names().await?.conversation(&conversation_id);
    println!("sent {what} as #{} to {place}", sent.seq);
    Ok(())
}

/// Mutes, pins or archives a conversation for you (`off`: undoes it), on
/// all your devices.
pub async fn change(
    cli: &Cli,
    setting: Setting,
    conversation: &str,
    off: bool,
) -> anyhow::Result<()> {
    let session = cli.session()?;
    let conversation_id = session.conversation_for(conversation).await?;
    let on = Some(!off);
    let change = match setting {
        Setting::Mute => ConversationSettingsChange {
            muted: on,
            ..Default::default()
        },
        Setting::Pin => ConversationSettingsChange {
            pinned: on,
            ..Default::default()
        },
        Setting::Archive => ConversationSettingsChange {
            archived: on,
            ..Default::default()
        },
    };
    let now = session
        .client
        .change_conversation_settings(&conversation_id, &change)
        .await
        .map_err(|e| session.explain(e))?;
    let place = session.names().await?.conversation(&conversation_id);
    let marks: Vec<&str> = [
        (now.pinned, "pinned"),
        (now.muted, "muted"),
        (now.archived, "archived"),
    ]
    .into_iter()
    .filter_map(|(on, mark)| on.then_some(mark))
    .collect();
    let marks = if marks.is_empty() {
        "none".to_owned()
    } else {
        marks.join(", ")
    };
    println!("{place}: {marks}");
    Ok(())
}

/// Blocks the account named `username`.
pub async fn block(session: &Session, username: &str) -> anyhow::Result<()> {
    let account = account_id(session, username).await?;
    session
        .client
        .block(&account)
        .await
        .map_err(|e| session.explain(e))?;
    let username = username.trim_start_matches('@');
    println!("blocked @{username}: no requests or direct messages between you, either way");
    Ok(())
}

/// Unblocks the account named `username`, found among those blocked.
pub async fn unblock(session: &Session, username: &str) -> anyhow::Result<()> {
    let username = username.trim_start_matches('@');
    let blocked = session
        .client
        .blocks()
        .await
        .map_err(|e| session.explain(e))?;
    let Some(found) = blocked
        .blocks
        .iter()
        .find(|block| block.username.eq_ignore_ascii_case(username))
    else {
        bail!("you have not blocked @{username}: `piazza contacts blocked` lists whom you did");
    };
    session
        .client
        .unblock(&found.account_id)
        .await
        .map_err(|e| session.explain(e))?;
    println!("unblocked @{username}");
    Ok(())
}

/// Lists whom the account blocked.
pub async fn blocked(session: &Session) -> anyhow::Result<()> {
    let blocked = session
        .client
        .blocks()
        .await
        .map_err(|e| session.explain(e))?;
    if blocked.blocks.is_empty() {
        println!("you have blocked nobody");
    }
    for block in blocked.blocks {
        let who = super::render::person_label(&block.username, &block.display_name);
        println!(
            "{who}  (since {})",
            super::render::short_time(&block.blocked_at)
        );
    }
    Ok(())
}

/// Prints each contact's presence, online ones first: "Bob Chen (@bob):
/// online", "… last seen 2026-12-06 10:00", "… not shown" (hidden, or a
/// block either way).
pub async fn presence(session: &Session) -> anyhow::Result<()> {
    let client = &session.client;
    let (presence, contacts) = tokio::try_join!(client.presence(), client.all_contacts())
        .map_err(|e| session.explain(e))?;
    if contacts.is_empty() {
        println!("no contacts yet: ask someone with `piazza contacts add <username>`");
    }
    let mut lines: Vec<(u8, String)> = contacts
        .iter()
        .map(|contact| {
            let who = super::render::person_label(&contact.username, &contact.display_name);
            let seen = presence
                .presence
                .iter()
                .find(|seen| seen.account_id == contact.account_id);
            match seen {
                Some(seen) if seen.online => (0, format!("{who}: online")),
                Some(seen) => match &seen.last_seen {
                    Some(at) => (
                        1,
                        format!("{who}: last seen {}", super::render::short_time(at)),
                    ),
                    None => (2, format!("{who}: never seen")),
                },
                None => (3, format!("{who}: not shown")),
            }
        })
        .collect();
    lines.sort();
    for (_, line) in lines {
        println!("{line}");
    }
    Ok(())
}

/// Uploads the file at `path` streamed from disk (never read whole), with
/// its name, showing progress on a terminal; answers its media id. What
/// it is, the server reads from its bytes.
pub async fn upload_file(session: &Session, path: &std::path::Path) -> anyhow::Result<String> {
    use futures_util::StreamExt;
    use std::io::{IsTerminal, Write};
    let file = tokio::fs::File::open(path)
        .await
        .with_context(|| format!("cannot read {}", path.display()))?;
    let length = file.metadata().await?.len();
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .map(str::to_owned);
    let shown = name.clone().unwrap_or_else(|| path.display().to_string());
    let terminal = std::io::stderr().is_terminal();
    let mut sent = 0u64;
    let mut last_percent = None;
    let body =
        tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024).inspect(move |chunk| {
            if let Ok(chunk) = chunk {
                sent += chunk.len() as u64;
                let percent = (sent * 100).checked_div(length).unwrap_or(100);
                if terminal && last_percent != Some(percent) {
                    last_percent = Some(percent);
                    eprint!(
                        "\ruploading {shown}… {percent}% of {}",
                        super::render::human_bytes(length)
                    );
                    let _ = std::io::stderr().flush();
                }
            }
        });
    let uploaded = session
        .client
        .upload_stream(reqwest::Body::wrap_stream(body), length, name.as_deref())
        .await;
    if terminal {
        eprintln!();
    }
    let (uploaded, _replayed) = uploaded.map_err(|error| session.explain(error))?;
    Ok(uploaded.media_id)
}
