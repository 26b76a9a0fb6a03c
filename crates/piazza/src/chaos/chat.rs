//! Chat under fire: direct and group messages sent with client message
//! ids, and a reader following its logs by sync. Every acknowledged
//! message must be stored once with the `seq` it was acknowledged with,
//! nothing else may be, and seqs and logs must stay gapless.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, bail};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use piazza_client::Client;
use rand::Rng;
use rand::rngs::StdRng;

use super::{
    Answer, Member, Outcome, Recovered, Workload, answer, befriend_all, check_log_gapless,
    log_position, settled,
};

/// The chat accounts: each sends, so each is one sender worker.
const MEMBERS: usize = 4;
/// Events a sync step reads at most.
const SYNC_PAGE_LEN: u32 = 100;
/// How long a sync step waits for news, so the reader does not spin.
const SYNC_WAIT_MS: u64 = 50;
/// Messages read per history page.
const HISTORY_PAGE_LEN: u32 = piazza_domain::limits::PAGE_LEN_MAX;
/// History pages followed at most per conversation.
const HISTORY_PAGES_MAX: usize = 100_000;

pub struct Chat {
    members: Vec<Member>,
    conversations: Vec<Conversation>,
    /// Numbers each new message id, across rounds.
    next_id: AtomicU64,
    book: Mutex<Book>,
}

struct Conversation {
    id: String,
    /// Indices into `members`.
    members: Vec<usize>,
}

/// A message as sent: all it takes to send it again.
#[derive(Debug, Clone)]
struct Sent {
    sender: usize,
    conversation: usize,
    client_msg_id: String,
    text: String,
}

/// What the server said about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stored {
    conversation: usize,
    message_id: String,
    seq: i64,
}

#[derive(Default)]
struct Book {
    /// client message id → where it was acknowledged to be.
    acked: HashMap<String, Stored>,
    /// Sends the kill left without an answer.
    in_flight: Vec<Sent>,
    /// Per member: the reader's cursor and the log position it reached.
    cursors: Vec<(Option<String>, i64)>,
}

impl Chat {
    /// Four accounts, all contacts; two direct conversations and a group
    /// of all four.
    pub async fn setup(server: &Client) -> anyhow::Result<Chat> {
        let mut members = Vec::new();
        for index in 0..MEMBERS {
            members.push(Member::create(server, &format!("chaos_chat_{index}")).await?);
        }
        befriend_all(server, &members).await?;
        let mut conversations = Vec::new();
        for (one, other) in [(0, 1), (2, 3)] {
            let id = members[one]
                .on(server)
                .open_direct(&members[other].account_id)
                .await
                .context("cannot open a direct conversation")?;
            conversations.push(Conversation {
                id,
                members: vec![one, other],
            });
        }
        let others: Vec<String> = members[1..]
            .iter()
            .map(|member| member.account_id.clone())
            .collect();
        let group = members[0]
            .on(server)
            .create_group("chaos", &others)
            .await
            .context("cannot create the group")?;
        conversations.push(Conversation {
            id: group,
            members: (0..MEMBERS).collect(),
        });
        let book = Book {
            cursors: vec![(None, 0); MEMBERS],
            ..Book::default()
        };
        Ok(Chat {
            members,
            conversations,
            next_id: AtomicU64::new(0),
            book: Mutex::new(book),
        })
    }

    /// A sender: one message into a conversation it belongs to.
    async fn send(
        &self,
        server: &Client,
        sender: usize,
        rng: &mut StdRng,
    ) -> anyhow::Result<Outcome> {
        let theirs: Vec<usize> = (0..self.conversations.len())
            .filter(|index| self.conversations[*index].members.contains(&sender))
            .collect();
        let conversation = theirs[rng.random_range(0..theirs.len())];
        let number = self.next_id.fetch_add(1, Ordering::SeqCst);
        let sent = Sent {
            sender,
            conversation,
            client_msg_id: format!("chaos-{number}"),
            text: format!("message {number} from {}", self.members[sender].name),
        };
        let result = self.members[sender]
            .on(server)
            .send_message(
                &self.conversations[conversation].id,
                &sent.client_msg_id,
                &sent.text,
            )
            .await;
        let mut book = self.book.lock().expect("the chat book");
        match answer(result, "a message")? {
            Answer::Ok((answer, replayed)) => {
                if replayed {
                    bail!("{} is new but was answered as a replay", sent.client_msg_id);
                }
                let stored = Stored {
                    conversation,
                    message_id: answer.message_id,
                    seq: answer.seq,
                };
                book.acked.insert(sent.client_msg_id, stored);
                Ok(Outcome::Acknowledged)
            }
            Answer::Lost => {
                book.in_flight.push(sent);
                Ok(Outcome::InFlight)
            }
            Answer::Throttled => Ok(Outcome::Idle),
            // Never written down: `verify_all` fails on a stored message
            // that was not acknowledged.
            Answer::Refused => Ok(Outcome::Refused),
        }
    }

    /// The reader: the next page of one member's log, which must carry on
    /// exactly where the last page (maybe before a kill) ended.
    async fn read(&self, server: &Client, rng: &mut StdRng) -> anyhow::Result<Outcome> {
        let member = rng.random_range(0..MEMBERS);
        let (cursor, reached) = self.book.lock().expect("the chat book").cursors[member].clone();
        let result = self.members[member]
            .on(server)
            .sync(cursor.as_deref(), Some(SYNC_PAGE_LEN), Some(SYNC_WAIT_MS))
            .await;
        let page = match answer(result, "a sync")? {
            Answer::Ok(page) => page,
            Answer::Lost => return Ok(Outcome::InFlight),
            Answer::Throttled => return Ok(Outcome::Idle),
            Answer::Refused => return Ok(Outcome::Refused),
        };
        let mut expected = reached + 1;
        for event in &page.events {
            let position = log_position(&event.cursor)?;
            if position != expected {
                bail!(
                    "{}'s sync after {reached} gave {position} where {expected} belongs",
                    self.members[member].name
                );
            }
            expected += 1;
        }
        let mut book = self.book.lock().expect("the chat book");
        book.cursors[member] = (Some(page.cursor), expected - 1);
        Ok(Outcome::Checked)
    }

    async fn recover_all(&self, server: &Client) -> anyhow::Result<Recovered> {
        let in_flight = std::mem::take(&mut self.book.lock().expect("the chat book").in_flight);
        let mut already_stored = 0;
        for sent in &in_flight {
            let client = self.members[sent.sender].on(server);
            let conversation = &self.conversations[sent.conversation].id;
            let what = format!("retrying {}", sent.client_msg_id);
            let (first, first_replayed) = settled(&what, || {
                client.send_message(conversation, &sent.client_msg_id, &sent.text)
            })
            .await?;
            let (again, replayed) = settled(&what, || {
                client.send_message(conversation, &sent.client_msg_id, &sent.text)
            })
            .await?;
            if !replayed || again != first {
                bail!(
                    "the second retry of {} stored it again: {first:?} then {again:?}",
                    sent.client_msg_id
                );
            }
            already_stored += u64::from(first_replayed);
            let stored = Stored {
                conversation: sent.conversation,
                message_id: first.message_id,
                seq: first.seq,
            };
            let mut book = self.book.lock().expect("the chat book");
            book.acked.insert(sent.client_msg_id.clone(), stored);
        }
        Ok(Recovered {
            retried: in_flight.len() as u64,
            already_stored,
        })
    }

    async fn verify_all(&self, server: &Client) -> anyhow::Result<u64> {
        // Every stored message of every conversation, by client id.
        let mut stored: HashMap<String, Stored> = HashMap::new();
        for (index, conversation) in self.conversations.iter().enumerate() {
            let reader = self.members[conversation.members[0]].on(server);
            let mut seqs = Vec::new();
            let mut before = None;
            for page_number in 0.. {
                if page_number == HISTORY_PAGES_MAX {
                    bail!(
                        "{} has more than {HISTORY_PAGES_MAX} pages",
                        conversation.id
                    );
                }
                let page = settled("history", || {
                    reader.history(&conversation.id, before, Some(HISTORY_PAGE_LEN))
                })
                .await?;
                for message in &page.messages {
                    seqs.push(message.seq);
                    if message.kind != "text" {
                        continue;
                    }
                    let found = Stored {
                        conversation: index,
                        message_id: message.message_id.clone(),
                        seq: message.seq,
                    };
                    if stored
                        .insert(message.client_msg_id.clone(), found)
                        .is_some()
                    {
                        bail!("{} is stored twice", message.client_msg_id);
                    }
                }
                match page.messages.last() {
                    Some(last) if page.has_more => before = Some(last.seq),
                    _ => break,
                }
            }
            seqs.reverse();
            if let Some(gap) = (1..).zip(&seqs).find(|(expected, seq)| expected != *seq) {
                bail!(
                    "{}'s seqs are not gapless: {} where {} belongs",
                    conversation.id,
                    gap.1,
                    gap.0
                );
            }
        }
        let reached: Vec<i64> = {
            let book = self.book.lock().expect("the chat book");
            for (client_msg_id, acked) in &book.acked {
                match stored.get(client_msg_id) {
                    None => bail!("acknowledged message {client_msg_id} was lost"),
                    Some(found) if found != acked => {
                        bail!("{client_msg_id} was acknowledged as {acked:?} but is {found:?}")
                    }
                    Some(_) => {}
                }
            }
            if let Some(stray) = stored.keys().find(|id| !book.acked.contains_key(*id)) {
                bail!("{stray} is stored but was never acknowledged nor retried");
            }
            book.cursors.iter().map(|(_, reached)| *reached).collect()
        };
        for (member, reached) in self.members.iter().zip(reached) {
            let length = check_log_gapless(server, member).await?;
            if length < reached {
                bail!(
                    "{}'s log has {length} events, but {reached} were read before",
                    member.name
                );
            }
        }
        Ok(stored.len() as u64)
    }
}

impl Workload for Chat {
    fn name(&self) -> &'static str {
        "chat"
    }

    /// One sender per member and one reader.
    fn workers(&self) -> usize {
        MEMBERS + 1
    }

    fn step<'a>(
        &'a self,
        server: &'a Client,
        worker: usize,
        rng: &'a mut StdRng,
    ) -> BoxFuture<'a, anyhow::Result<Outcome>> {
        if worker < MEMBERS {
            self.send(server, worker, rng).boxed()
        } else {
            self.read(server, rng).boxed()
        }
    }

    fn recover<'a>(&'a self, server: &'a Client) -> BoxFuture<'a, anyhow::Result<Recovered>> {
        self.recover_all(server).boxed()
    }

    fn verify<'a>(&'a self, server: &'a Client) -> BoxFuture<'a, anyhow::Result<u64>> {
        self.verify_all(server).boxed()
    }
}
