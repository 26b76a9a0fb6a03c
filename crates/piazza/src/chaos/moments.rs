//! Moments under fire: three contacts post, like and comment while the
//! server is killed. A post is written into each contact's inbox in the
//! transaction that stores it, so after every restart each acknowledged
//! post is in every one of the three feeds exactly once; each
//! acknowledged like and comment is on its post; a post or comment the
//! kill cut off (neither has a key to retry with) is there once or not at
//! all; and nothing else is.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::bail;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use piazza_api::{MomentView, NewMoment};
use piazza_client::Client;
use rand::Rng;
use rand::rngs::StdRng;

use super::{Answer, Member, Outcome, Recovered, Workload, answer, befriend_all, settled};

/// Posters, all contacts of each other, so each sees every post.
const MEMBERS: usize = 3;

pub struct Moments {
    members: Vec<Member>,
    /// Numbers posts and comments, across rounds.
    next: AtomicU64,
    book: Mutex<Book>,
}

#[derive(Default)]
struct Book {
    /// A post's text → its id, acknowledged.
    posts: HashMap<String, String>,
    /// Texts of posts the kill cut off.
    posts_in_flight: HashSet<String>,
    /// A comment's text → its post, acknowledged.
    comments: HashMap<String, String>,
    comments_in_flight: HashSet<String>,
    /// (post, liker's account) acknowledged; and those cut off, which may
    /// or may not be there (a like is a set: no double to look for).
    likes: HashSet<(String, String)>,
    likes_in_flight: HashSet<(String, String)>,
}

/// What one operation was, to write down its answer.
enum Operation {
    Post(String),
    Comment { text: String, post: String },
    Like { post: String, liker: String },
}

impl Moments {
    pub async fn setup(server: &Client) -> anyhow::Result<Moments> {
        let mut members = Vec::new();
        for index in 0..MEMBERS {
            members.push(Member::create(server, &format!("chaos_moments_{index}")).await?);
        }
        befriend_all(server, &members).await?;
        Ok(Moments {
            members,
            next: AtomicU64::new(0),
            book: Mutex::default(),
        })
    }

    async fn step_once(&self, server: &Client, rng: &mut StdRng) -> anyhow::Result<Outcome> {
        let actor = &self.members[rng.random_range(0..MEMBERS)];
        let client = actor.on(server);
        let number = self.next.fetch_add(1, Ordering::SeqCst);
        let target = {
            let book = self.book.lock().expect("the moments book");
            let count = book.posts.len();
            (count > 0 && rng.random_bool(0.6))
                .then(|| book.posts.values().nth(rng.random_range(0..count)).cloned())
                .flatten()
        };
        let (operation, result) = match target {
            None => {
                let text = format!("chaos-post-{number}");
                let moment = NewMoment {
                    text: text.clone(),
                    ..NewMoment::default()
                };
                let result = client.post_moment(&moment).await.map(|c| Some(c.moment_id));
                (Operation::Post(text), result)
            }
            Some(post) if rng.random_bool(0.5) => {
                let text = format!("chaos-comment-{number}");
                let result = client
                    .comment_moment(&post, &text, None)
                    .await
                    .map(|_| None);
                (Operation::Comment { text, post }, result)
            }
            Some(post) => {
                let result = client.like_moment(&post).await.map(|()| None);
                let liker = actor.account_id.clone();
                (Operation::Like { post, liker }, result)
            }
        };
        self.write_down(operation, answer(result, "a Moments call")?)
    }

    fn write_down(
        &self,
        operation: Operation,
        answer: Answer<Option<String>>,
    ) -> anyhow::Result<Outcome> {
        let mut book = self.book.lock().expect("the moments book");
        let acked = match answer {
            Answer::Throttled => return Ok(Outcome::Idle),
            Answer::Refused => return Ok(Outcome::Refused),
            Answer::Lost => false,
            Answer::Ok(_) => true,
        };
        match (operation, answer) {
            (Operation::Post(text), Answer::Ok(Some(id))) => {
                book.posts.insert(text, id);
            }
            (Operation::Post(text), Answer::Ok(None)) => bail!("{text} was posted without an id"),
            (Operation::Post(text), _) => {
                book.posts_in_flight.insert(text);
            }
            (Operation::Comment { text, post }, _) if acked => {
                book.comments.insert(text, post);
            }
            (Operation::Comment { text, .. }, _) => {
                book.comments_in_flight.insert(text);
            }
            (Operation::Like { post, liker }, _) if acked => {
                book.likes.insert((post, liker));
            }
            (Operation::Like { post, liker }, _) => {
                book.likes_in_flight.insert((post, liker));
            }
        }
        Ok(if acked {
            Outcome::Acknowledged
        } else {
            Outcome::InFlight
        })
    }

    /// Every post of `viewer`'s feed, each page followed to its end.
    async fn feed(&self, server: &Client, viewer: &Member) -> anyhow::Result<Vec<MomentView>> {
        /// Pages followed at most.
        const PAGES_MAX: usize = 10_000;
        let client = viewer.on(server);
        let (mut cursor, mut moments) = (None::<String>, Vec::new());
        for _ in 0..PAGES_MAX {
            let page = settled("reading the feed", || {
                client.moments_feed(cursor.as_deref(), Some(50))
            })
            .await?;
            moments.extend(page.moments);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(moments),
            }
        }
        bail!(
            "{}'s feed did not end within {PAGES_MAX} pages",
            viewer.name
        )
    }

    /// Checks one viewer's feed against the book: each acknowledged post
    /// once, a cut-off one at most once (and acknowledged from then on),
    /// nothing else.
    fn check_posts(&self, viewer: &Member, feed: &[MomentView]) -> anyhow::Result<()> {
        let mut guard = self.book.lock().expect("the moments book");
        let book = &mut *guard;
        let mut seen = HashMap::new();
        for moment in feed {
            if seen
                .insert(moment.text.clone(), moment.moment_id.clone())
                .is_some()
            {
                bail!("{} shows {} twice", viewer.name, moment.text);
            }
            match book.posts.get(&moment.text) {
                Some(id) if *id != moment.moment_id => {
                    bail!(
                        "{} was acknowledged as {id}, shown as {}",
                        moment.text,
                        moment.moment_id
                    )
                }
                Some(_) => {}
                None if book.posts_in_flight.remove(&moment.text) => {
                    book.posts
                        .insert(moment.text.clone(), moment.moment_id.clone());
                }
                None => bail!("{} shows {}, never acknowledged", viewer.name, moment.text),
            }
        }
        if let Some(missing) = book.posts.keys().find(|text| !seen.contains_key(*text)) {
            bail!("{}'s feed lacks {missing}, acknowledged", viewer.name);
        }
        Ok(())
    }

    /// Checks each post's likes and comments as a member (all of them
    /// contacts, so every like and comment is shown) sees them.
    fn check_reactions(&self, feed: &[MomentView]) -> anyhow::Result<()> {
        let mut guard = self.book.lock().expect("the moments book");
        let book = &mut *guard;
        let mut likes = HashSet::new();
        let mut comments = HashSet::new();
        for moment in feed {
            for like in &moment.likes {
                let pair = (moment.moment_id.clone(), like.account.account_id.clone());
                if !book.likes.contains(&pair) && !book.likes_in_flight.contains(&pair) {
                    bail!("{} has a like by {} never made", moment.text, pair.1);
                }
                likes.insert(pair);
            }
            for comment in &moment.comments {
                if !comments.insert(comment.text.clone()) {
                    bail!("{} is shown twice", comment.text);
                }
                match book.comments.get(&comment.text) {
                    Some(post) if *post == moment.moment_id => {}
                    Some(post) => bail!("{} belongs on {post}", comment.text),
                    None if book.comments_in_flight.remove(&comment.text) => {
                        book.comments
                            .insert(comment.text.clone(), moment.moment_id.clone());
                    }
                    None => bail!("{} was never acknowledged", comment.text),
                }
            }
        }
        if let Some(missing) = book.likes.iter().find(|pair| !likes.contains(*pair)) {
            bail!("the like of {} by {} is gone", missing.0, missing.1);
        }
        if let Some(missing) = book.comments.keys().find(|text| !comments.contains(*text)) {
            bail!("{missing} is gone");
        }
        Ok(())
    }

    async fn verify_all(&self, server: &Client) -> anyhow::Result<u64> {
        for (index, viewer) in self.members.iter().enumerate() {
            let feed = self.feed(server, viewer).await?;
            self.check_posts(viewer, &feed)?;
            if index == 0 {
                self.check_reactions(&feed)?;
            }
        }
        let book = self.book.lock().expect("the moments book");
        Ok((book.posts.len() + book.comments.len() + book.likes.len()) as u64)
    }
}

impl Workload for Moments {
    fn name(&self) -> &'static str {
        "moments"
    }

    fn workers(&self) -> usize {
        2
    }

    fn step<'a>(
        &'a self,
        server: &'a Client,
        _worker: usize,
        rng: &'a mut StdRng,
    ) -> BoxFuture<'a, anyhow::Result<Outcome>> {
        self.step_once(server, rng).boxed()
    }

    /// Posts and comments have no key to retry with, and a like is a set:
    /// what the kill cut off is settled by `verify`.
    fn recover<'a>(&'a self, _server: &'a Client) -> BoxFuture<'a, anyhow::Result<Recovered>> {
        async { Ok(Recovered::default()) }.boxed()
    }

    fn verify<'a>(&'a self, server: &'a Client) -> BoxFuture<'a, anyhow::Result<u64>> {
        self.verify_all(server).boxed()
    }
}
