//! `piazza search`: messages (or contacts, channels, articles, products:
//! `--scope`) this account can find, what matched in «», page after page
//! up to `--limit`.

use piazza_api::search::{SearchHit, SnippetPart};
use piazza_client::Search;

use super::{Session, render};

/// Pages asked for at most, whatever `--limit` says.
const PAGE_LEN: u32 = 50;

#[derive(clap::Args, Debug)]
pub struct SearchArgs {
    /// What to look for: words (the last also matches longer words
    /// starting with it), or Chinese, Japanese or Korean text
    #[arg(required = true, num_args = 1..)]
    pub query: Vec<String>,
    /// Search your contacts (by your remark, their name or username)
    /// instead of messages: `--scope contacts`
    #[arg(long)]
    pub contacts: bool,
    /// What to search: messages, contacts, channels, articles or products
    #[arg(long, default_value = "messages")]
    pub scope: String,
    /// Only this conversation: a contact's username, a group's title or
    /// a conversation id
    #[arg(long = "in", value_name = "CONVERSATION")]
    pub within: Option<String>,
    /// How many results to show at most
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

pub async fn run(session: &Session, args: SearchArgs) -> anyhow::Result<()> {
    let q = args.query.join(" ");
    let conversation = match &args.within {
        Some(target) => Some(session.conversation_for(target).await?),
        None => None,
    };
    let directory = session.names().await?;
    let mut shown = 0;
    let mut cursor: Option<String> = None;
    loop {
        let search = Search {
            q: &q,
            scope: if args.contacts {
                "contacts"
            } else {
                &args.scope
            },
            conversation_id: conversation.as_deref(),
            cursor: cursor.as_deref(),
            limit: Some(PAGE_LEN.min((args.limit - shown).max(1) as u32)),
        };
        let page = session
            .client
            .search(&search)
            .await
            .map_err(|e| session.explain(e))?;
        for hit in &page.results {
            println!("{}", line(hit, &directory));
            shown += 1;
        }
        match page.next_cursor {
            Some(next) if shown < args.limit => cursor = Some(next),
            Some(_) => {
                println!("(more found: raise --limit)");
                break;
            }
            None => break,
        }
    }
    if shown == 0 {
        println!("nothing found for \"{q}\"");
    }
    Ok(())
}

/// One result: where, who and when, then the snippet.
fn line(hit: &SearchHit, directory: &render::Directory) -> String {
    match hit {
        SearchHit::Message(message) => format!(
            "{} #{} {} {}: {}",
            directory.conversation(&message.conversation_id),
            message.seq,
            message
                .sent_at
                .get(..16)
                .unwrap_or(&message.sent_at)
                .replace('T', " "),
            render::person_label(&message.sender.username, &message.sender.display_name),
            marked(&message.snippet),
        ),
        SearchHit::Channel(channel) => {
            format!(
                "{} (@{}): {}",
                channel.name,
                channel.handle,
                marked(&channel.snippet)
            )
        }
        SearchHit::Article(article) => format!(
            "{} ({}, {}): {}",
            article.title,
            article.channel_name,
            article
                .published_at
                .get(..10)
                .unwrap_or(&article.published_at),
            marked(&article.snippet)
        ),
        SearchHit::Product(product) => {
            format!(
                "{} ({}): {}",
                product.title,
                product.shop_name,
                marked(&product.snippet)
            )
        }
        SearchHit::Contact(contact) => {
            let who = render::person_label(&contact.username, &contact.display_name);
            match &contact.remark {
                Some(remark) => format!("{remark}: {who} (by {})", contact.matched),
                None => format!("{who} (by {})", contact.matched),
            }
        }
    }
}

/// A snippet with what matched in «»; on one line.
fn marked(snippet: &[SnippetPart]) -> String {
    snippet
        .iter()
        .map(|part| match part.hit {
            true => format!("«{}»", part.text),
            false => part.text.clone(),
        })
        .collect::<String>()
        .replace(['\n', '\r'], " ")
}
