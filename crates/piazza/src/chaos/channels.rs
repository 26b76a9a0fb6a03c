//! Channels under fire: articles published while the server is killed,
//! and the background fan-out cut off between (or inside) its chunks.
//! Every acknowledged article is in its channel once; one the kill left
//! without an answer is there at most once (a publish has no key to
//! retry with); and once the fan-out has caught up after the restart,
//! every follower's log names each of the channel's articles exactly
//! once, in a gapless log: the fan-out's cursor commits with its entries.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use piazza_api::channels::{CreateChannel, PublishArticle};
use piazza_client::Client;
use rand::rngs::StdRng;

use super::{Answer, Member, Outcome, Recovered, Workload, answer, check_log_gapless, settled};

/// Followers of the channel, each with a log to check.
const FOLLOWERS: usize = 6;
/// How long the fan-out may take to catch up after a restart: it looks
/// for tasks every second.
const CATCH_UP: Duration = Duration::from_secs(30);

pub struct Channels {
    owner: Member,
    followers: Vec<Member>,
    channel: String,
    /// Numbers each article's title, across rounds.
    next: AtomicU64,
    book: Mutex<Book>,
}

#[derive(Default)]
struct Book {
    /// title → the article acknowledged for it.
    acked: HashMap<String, String>,
    /// Titles the kill left without an answer: stored once or not at all.
    in_flight: HashSet<String>,
}

impl Channels {
    pub async fn setup(server: &Client) -> anyhow::Result<Channels> {
        let owner = Member::create(server, "chaos_channel_owner").await?;
        let channel = CreateChannel {
            handle: "chaos.news".to_owned(),
            name: "Chaos News".to_owned(),
            description: "Published under SIGKILL".to_owned(),
            avatar_media_id: None,
        };
        let channel = owner
            .on(server)
            .create_channel(&channel)
            .await
            .context("cannot create the chaos channel")?
            .channel_id;
        let mut followers = Vec::new();
        for index in 0..FOLLOWERS {
            let follower = Member::create(server, &format!("chaos_reader_{index}")).await?;
            follower.on(server).follow_channel(&channel).await?;
            followers.push(follower);
        }
        Ok(Channels {
            owner,
            followers,
            channel,
            next: AtomicU64::new(0),
            book: Mutex::default(),
        })
    }

    async fn publish(&self, server: &Client) -> anyhow::Result<Outcome> {
        let title = format!("chaos-{}", self.next.fetch_add(1, Ordering::SeqCst));
        let article = PublishArticle {
            title: title.clone(),
            body_markdown: format!("Published as **{title}**."),
            cover_media_id: None,
        };
        let result = self
            .owner
            .on(server)
            .publish_article(&self.channel, &article)
            .await;
        let mut book = self.book.lock().expect("the channels book");
        match answer(result, "a publish")? {
            Answer::Ok(created) => {
                book.acked.insert(title, created.article_id);
                Ok(Outcome::Acknowledged)
            }
            Answer::Lost => {
                book.in_flight.insert(title);
                Ok(Outcome::InFlight)
            }
            Answer::Throttled => Ok(Outcome::Idle),
            Answer::Refused => Ok(Outcome::Refused),
        }
    }

    /// The channel's articles by id, each title checked against the book;
    /// a cut-off publish that did land is acknowledged from then on.
    async fn articles(&self, server: &Client) -> anyhow::Result<HashSet<String>> {
        let client = self.owner.on(server);
        let mut by_title: HashMap<String, String> = HashMap::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = settled("listing the channel", || {
                client.channel_articles(&self.channel, cursor.as_deref())
            })
            .await?;
            for article in page.articles {
                if let Some(first) = by_title.insert(article.title.clone(), article.article_id) {
                    bail!("{} was stored twice (first as {first})", article.title);
                }
            }
            match page.next_cursor {
                Some(next) if page.has_more => cursor = Some(next),
                _ => break,
            }
        }
        let mut book = self.book.lock().expect("the channels book");
        for (title, id) in &book.acked {
            if by_title.get(title) != Some(id) {
                bail!(
                    "{title} was acknowledged as {id} but the channel has {:?}",
                    by_title.get(title)
                );
            }
        }
        for (title, id) in &by_title {
            if !book.acked.contains_key(title) && !book.in_flight.contains(title) {
                bail!("{title} ({id}) is in the channel but was never acknowledged nor cut off");
            }
        }
        for (title, id) in &by_title {
            if book.in_flight.remove(title) {
                book.acked.insert(title.clone(), id.clone());
            }
        }
        Ok(by_title.into_values().collect())
    }

    /// Waits until `follower`'s log names every one of `articles` (the
    /// fan-out may still be catching up), and checks it names each once
    /// and nothing else.
    async fn check_follower(
        &self,
        server: &Client,
        follower: &Member,
        articles: &HashSet<String>,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + CATCH_UP;
        loop {
            let told = published_in_log(server, follower).await?;
            let mut seen = HashSet::new();
            for article in &told {
                if !seen.insert(article) {
                    bail!("{} was told of {article} twice", follower.name);
                }
                if !articles.contains(article) {
                    bail!(
                        "{} was told of {article}, which the channel lacks",
                        follower.name
                    );
                }
            }
            if seen.len() == articles.len() {
                check_log_gapless(server, follower).await?;
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{} was told of {} of the channel's {} articles {CATCH_UP:?} after the restart",
                    follower.name,
                    seen.len(),
                    articles.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn verify_all(&self, server: &Client) -> anyhow::Result<u64> {
        let articles = self.articles(server).await?;
        for follower in &self.followers {
            self.check_follower(server, follower, &articles).await?;
        }
        Ok(articles.len() as u64)
    }
}

/// The articles of every `article.published` in `member`'s log, in order.
async fn published_in_log(server: &Client, member: &Member) -> anyhow::Result<Vec<String>> {
    /// Pages followed at most: a million events.
    const PAGES_MAX: usize = 1_000;
    let client = member.on(server);
    let (mut cursor, mut articles) = (None::<String>, Vec::new());
    for _ in 0..PAGES_MAX {
        let page = settled("sync", || {
            client.sync(
                cursor.as_deref(),
                Some(piazza_domain::limits::SYNC_PAGE_LEN_MAX),
                None,
            )
        })
        .await?;
        let published = page
            .events
            .iter()
            .filter(|event| event.type_ == "article.published");
        for event in published {
            let id = event.fields.get("article_id").and_then(|id| id.as_str());
            articles.push(
                id.context("an article.published without its article")?
                    .to_owned(),
            );
        }
        if !page.has_more {
            return Ok(articles);
        }
        cursor = Some(page.cursor);
    }
    bail!("{}'s log did not end within {PAGES_MAX} pages", member.name)
}

impl Workload for Channels {
    fn name(&self) -> &'static str {
        "channels"
    }

    fn workers(&self) -> usize {
        1
    }

    fn step<'a>(
        &'a self,
        server: &'a Client,
        _worker: usize,
        _rng: &'a mut StdRng,
    ) -> BoxFuture<'a, anyhow::Result<Outcome>> {
        self.publish(server).boxed()
    }

    /// A publish has no key to retry with: what the kill cut off is
    /// settled by `verify`, which finds it once or not at all.
    fn recover<'a>(&'a self, _server: &'a Client) -> BoxFuture<'a, anyhow::Result<Recovered>> {
        async { Ok(Recovered::default()) }.boxed()
    }

    fn verify<'a>(&'a self, server: &'a Client) -> BoxFuture<'a, anyhow::Result<u64>> {
        self.verify_all(server).boxed()
    }
}
