//! A property: whatever the interleaving of sends (over HTTP or a socket),
//! reconnects, socket replays and HTTP syncs across several devices, every
//! device ends with the same gapless log as the other devices of its
//! account, and every account sees the same messages in the same order.
//! Along the way, a live socket never skips a position of the log.

use piazza_api::{ClientFrame, EventView, ServerFrame};
use piazza_client::{Incoming, Socket};
use proptest::prelude::*;

use crate::helpers::*;

#[derive(Debug, Clone)]
enum Op {
    Send { device: usize, over_socket: bool },
    Connect { device: usize },
    Disconnect { device: usize },
    HttpSync { device: usize },
    Drain { device: usize },
}

const DEVICES: usize = 4;

fn op() -> impl Strategy<Value = Op> {
    let device = 0..DEVICES;
    prop_oneof![
        3 => (device.clone(), any::<bool>()).prop_map(|(device, over_socket)| Op::Send { device, over_socket }),
        1 => device.clone().prop_map(|device| Op::Connect { device }),
        1 => device.clone().prop_map(|device| Op::Disconnect { device }),
        1 => device.clone().prop_map(|device| Op::HttpSync { device }),
        1 => device.prop_map(|device| Op::Drain { device }),
    ]
}

struct Device {
    user: User,
    socket: Option<Socket>,
    /// The last log position applied.
    cursor: i64,
    applied: Vec<EventView>,
}

impl Device {
    fn cursor_text(&self) -> Option<String> {
        (self.cursor > 0).then(|| {
            piazza_domain::Cursor::at(piazza_domain::LogSeq::from_stored(self.cursor)).to_string()
        })
    }

    /// Applies one event. Before a replay has finished, a live event may run
    /// ahead of the replay (the replay will bring it again); after it, a
    /// gap is a lost event.
    fn apply(&mut self, event: EventView, replaying: bool) {
        let at = position(&event.cursor);
        if at <= self.cursor {
            return;
        }
        if at > self.cursor + 1 {
            assert!(
                replaying,
                "live socket skipped from {} to {at}",
                self.cursor
            );
            return;
        }
        self.cursor = at;
        self.applied.push(event);
    }

    /// Reads the socket until `done` says a frame ends the wait.
    async fn read_until(&mut self, replaying: bool, done: impl Fn(&ServerFrame) -> bool) {
        loop {
            let next = tokio::time::timeout(PATIENCE, self.socket.as_mut().unwrap().next())
                .await
                .expect("socket answers");
            match next {
                Some(Ok(Incoming::Event(event))) => self.apply(event, replaying),
                Some(Ok(Incoming::Frame(frame))) if done(&frame) => return,
                Some(Ok(Incoming::Frame(ServerFrame::Error { detail, .. }))) => {
                    panic!("error frame: {detail}")
                }
                Some(Ok(Incoming::Frame(_) | Incoming::Ephemeral(_))) => {}
                other => panic!("socket ended: {other:?}"),
            }
        }
    }

    async fn connect(&mut self) {
        if self.socket.is_some() {
            return;
        }
        let mut socket = self.user.client.connect_socket().await.unwrap();
        socket
            .send(&ClientFrame::Sync {
                since: self.cursor_text(),
            })
            .await
            .unwrap();
        self.socket = Some(socket);
        self.read_until(true, |frame| matches!(frame, ServerFrame::Synced { .. }))
            .await;
    }

    async fn http_sync(&mut self) {
        let (events, _) = sync_all(&self.user.client, self.cursor_text().as_deref(), 5).await;
        for event in events {
            self.apply(event, false);
        }
    }
}

async fn run(ops: Vec<Op>) {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let conversation = befriend(&ann, &bob).await;
    let users = [
        ann,
        app.login("ann", "second").await,
        bob,
        app.login("bob", "second").await,
    ];
    let mut devices: Vec<Device> = users
        .into_iter()
        .map(|user| Device {
            user,
            socket: None,
            cursor: 0,
            applied: Vec::new(),
        })
        .collect();
    let mut sent = 0;
    for op in ops {
        match op {
            Op::Send {
                device,
                over_socket,
            } => {
                let device = &mut devices[device];
                let id = format!("m{sent}");
                let text = format!("message {sent} from {}", device.user.username);
                sent += 1;
                if over_socket && device.socket.is_some() {
                    let frame = ClientFrame::Send {
                        conversation_id: conversation.clone(),
                        client_msg_id: id.clone(),
                        message: piazza_api::MessageContent::text(text),
                    };
                    device.socket.as_mut().unwrap().send(&frame).await.unwrap();
                    device
                        .read_until(false, |frame| matches!(frame, ServerFrame::Ack { client_msg_id, .. } if *client_msg_id == id))
                        .await;
                } else {
                    device
                        .user
                        .client
                        .send_message(&conversation, &id, &text)
                        .await
                        .unwrap();
                }
            }
            Op::Connect { device } => devices[device].connect().await,
            Op::Disconnect { device } => devices[device].socket = None,
            Op::HttpSync { device } => devices[device].http_sync().await,
            Op::Drain { device } => {
                let device = &mut devices[device];
                if let Some(socket) = device.socket.as_mut() {
                    socket.send(&ClientFrame::Ping).await.unwrap();
                    device
                        .read_until(false, |frame| matches!(frame, ServerFrame::Pong))
                        .await;
                }
            }
        }
    }
    for device in &mut devices {
        device.socket = None;
        device.http_sync().await;
    }

    let summary = |device: &Device| -> Vec<(String, String, Option<String>)> {
        device
            .applied
            .iter()
            .map(|e| {
                (
                    e.cursor.clone(),
                    e.type_.clone(),
                    e.fields.get("message_id").map(|m| m.to_string()),
                )
            })
            .collect()
    };
    for device in &devices {
        let positions: Vec<_> = device.applied.iter().map(|e| position(&e.cursor)).collect();
        assert_eq!(
            positions,
            (1..=positions.len() as i64).collect::<Vec<_>>(),
            "a gapless log"
        );
    }
    assert_eq!(
        summary(&devices[0]),
        summary(&devices[1]),
        "ann's devices agree"
    );
    assert_eq!(
        summary(&devices[2]),
        summary(&devices[3]),
        "bob's devices agree"
    );
    let messages = |device: &Device| -> Vec<(i64, String)> {
        device
            .applied
            .iter()
            .filter(|e| e.type_ == "message.new")
            .map(|e| {
                (
                    field(e, "seq").as_i64().unwrap(),
                    field(e, "message_id").as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let ann_messages = messages(&devices[0]);
    assert_eq!(
        ann_messages,
        messages(&devices[2]),
        "both accounts see one history"
    );
    let seqs: Vec<_> = ann_messages.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(
        seqs,
        (1..=sent as i64).collect::<Vec<_>>(),
        "every send, once, in order"
    );
    app.shut_down().await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, max_shrink_iters: 50, ..ProptestConfig::default() })]

    #[test]
    fn devices_converge_whatever_the_interleaving(ops in prop::collection::vec(op(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(run(ops));
    }
}
