//! Moments from the command line: `piazza moments post|feed|like|comment`.
//! Posts are printed from what the server answers (it already left out
//! what this account may not see); others' words go through
//! `render::shown`.

use std::path::PathBuf;

use anyhow::anyhow;
use piazza_api::{MomentView, NewMoment, VisibilityView};

use super::{Cli, Session, find_by_username, render};

#[derive(clap::Subcommand, Debug)]
pub enum MomentsCommand {
    /// Post to Moments: text, up to nine pictures, and who may see it
    /// (your contacts unless you say)
    Post {
        /// A picture to show (PNG, JPEG, WebP or GIF); up to nine
        #[arg(long, value_name = "FILE")]
        image: Vec<PathBuf>,
        /// Only these contacts (usernames) may see it
        #[arg(long, value_name = "USERNAME", conflicts_with_all = ["except", "private"])]
        only: Vec<String>,
        /// Every contact but these (usernames) may see it
        #[arg(long, value_name = "USERNAME", conflicts_with = "private")]
        except: Vec<String>,
        /// Only you may see it
        #[arg(long)]
        private: bool,
        /// The text; several words are joined with spaces
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        text: Vec<String>,
    },
    /// Your feed: your posts and your contacts', newest first
    Feed {
        /// How many posts
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Like a post (`--undo` takes the like back)
    Like {
        /// The post's id, as the feed shows it ([mom_3]: mom_3)
        moment: String,
        #[arg(long)]
        undo: bool,
    },
    /// Comment on a post, or reply to a comment on it
    Comment {
        /// The post's id, as the feed shows it
        moment: String,
        /// The comment to answer, as the feed shows it ([cmt_4]: cmt_4)
        #[arg(long)]
        reply_to: Option<String>,
        /// The comment; several words are joined with spaces
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        text: Vec<String>,
    },
}

pub async fn moments(cli: &Cli, command: MomentsCommand) -> anyhow::Result<()> {
    let session = cli.session()?;
    let client = &session.client;
    match command {
        MomentsCommand::Post {
            image,
            only,
            except,
            private,
            text,
        } => post(&session, &image, &only, &except, private, &text.join(" ")).await?,
        MomentsCommand::Feed { limit } => feed(&session, limit).await?,
        MomentsCommand::Like { moment, undo } => {
            if undo {
                client.unlike_moment(&moment).await
            } else {
                client.like_moment(&moment).await
            }
            .map_err(|e| session.explain(e))?;
            let done = if undo {
                "took back your like of"
            } else {
                "liked"
            };
            println!("{done} [{moment}]");
        }
        MomentsCommand::Comment {
            moment,
            reply_to,
            text,
        } => {
            let created = client
                .comment_moment(&moment, &text.join(" "), reply_to.as_deref())
                .await
                .map_err(|e| session.explain(e))?;
            println!("commented on [{moment}] [{}]", created.comment_id);
        }
    }
    Ok(())
}

/// Account ids of the contacts named by username.
async fn contact_ids(session: &Session, usernames: &[String]) -> anyhow::Result<Vec<String>> {
    let contacts = session.contacts().await?;
    usernames
        .iter()
        .map(|username| {
            find_by_username(&contacts, username)
                .map(|contact| contact.account_id.clone())
                .ok_or_else(|| {
                    anyhow!("{username} is not one of your contacts: see `piazza contacts list`")
                })
        })
        .collect()
}

async fn post(
    session: &Session,
    images: &[PathBuf],
    only: &[String],
    except: &[String],
    private: bool,
    text: &str,
) -> anyhow::Result<()> {
    let visibility = match (only.is_empty(), except.is_empty(), private) {
        (_, _, true) => Some(("private", Vec::new())),
        (false, _, _) => Some(("only", contact_ids(session, only).await?)),
        (_, false, _) => Some(("except", contact_ids(session, except).await?)),
        _ => None,
    };
    let mut media_ids = Vec::new();
    for image in images {
        media_ids.push(super::profile::upload_picture(session, image).await?);
    }
    let moment = NewMoment {
        text: text.to_owned(),
        media_ids,
        location: None,
        visibility: visibility.map(|(kind, accounts)| VisibilityView {
            kind: kind.to_owned(),
            accounts,
        }),
    };
    let created = session
        .client
        .post_moment(&moment)
        .await
        .map_err(|e| session.explain(e))?;
    println!("posted [{}]", created.moment_id);
    Ok(())
}

async fn feed(session: &Session, limit: u32) -> anyhow::Result<()> {
    let page = session
        .client
        .moments_feed(None, Some(limit))
        .await
        .map_err(|e| session.explain(e))?;
    if page.moments.is_empty() {
        println!("no moments yet: post one with `piazza moments post <text>`");
    }
    for moment in &page.moments {
        for line in moment_lines(moment) {
            println!("{line}");
        }
    }
    Ok(())
}

/// A post as lines: who and when, its words, pictures and place, then
/// its likes and comments (as the server let this account see them).
pub fn moment_lines(moment: &MomentView) -> Vec<String> {
    let author = &moment.author;
    let mut head = format!(
        "[{}] {} {}",
        moment.moment_id,
        render::person_label(&author.username, &author.display_name),
        render::short_time(&moment.created_at)
    );
    if let Some(visibility) = &moment.visibility {
        head.push_str(&format!(" ({})", visibility.kind));
    }
    let mut lines = vec![render::shown(&head)];
    if !moment.text.is_empty() {
        lines.push(format!("  {}", render::shown_block(&moment.text)));
    }
    if !moment.media.is_empty() {
        let pictures: Vec<&str> = moment.media.iter().map(|m| m.media_id.as_str()).collect();
        lines.push(format!("  pictures: {}", pictures.join(", ")));
    }
    if let Some(place) = &moment.location {
        let name = place.name.as_deref().unwrap_or("a place");
        lines.push(render::shown(&format!(
            "  at {name} ({}, {})",
            place.lat, place.lon
        )));
    }
    if !moment.likes.is_empty() {
        let likers: Vec<&str> = moment
            .likes
            .iter()
            .map(|like| like.account.display_name.as_str())
            .collect();
        lines.push(render::shown(&format!("  ♥ {}", likers.join(", "))));
    }
    for comment in &moment.comments {
        let replied = comment.reply_to_account.as_ref().and_then(|id| {
            let named = moment.comments.iter().map(|c| &c.account);
            let mut people = std::iter::once(author).chain(named);
            let found = people.find(|account| &account.account_id == id);
            found.map(|account| format!(" → {}", account.display_name))
        });
        lines.push(render::shown(&format!(
            "  {}{}: {} [{}]",
            comment.account.display_name,
            replied.unwrap_or_default(),
            comment.text,
            comment.comment_id
        )));
    }
    lines
}
