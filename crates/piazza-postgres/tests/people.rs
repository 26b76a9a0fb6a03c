//! Contacts, profiles, passwords, QR log-in and media on PostgreSQL, at
//! the level of the rules (`piazza_core::Core`): what the end-to-end suite
//! cannot reach there yet (its steps go through areas that have not moved),
//! and races between two engines on one database — two processes — that
//! only the engine's row locks settle.

use piazza_core::Core;
use piazza_core::media::upload::UploadCaps;
use piazza_core::media::{Reading, UploadRules};
use piazza_domain::media::{Media, MediaStored};
use piazza_domain::store::{
    DeviceSeen, FieldChange, LoginApproval, LoginOrigin, LoginRequestId, LoginRequestReview,
    LoginRequestStatus, NewLoginRequest, OtherDevices, Profile, ProfileChange, StoreResult,
    TokenHash,
};
use piazza_domain::{
    AccountId, DeviceName, DisplayName, Greeting, MediaId, Rejection, StoreError, Timestamp,
    Username,
};
use piazza_postgres::testing::{TestDatabase, open_core as open};

/// The rules over a new engine on `url`, as one Piazza process runs them,
/// with media files under `data_dir`.
async fn account(core: &Core, name: &str) -> AccountId {
    let display_name = DisplayName::parse(name).unwrap();
    let created = core.create_account(username(name), display_name, "x".into());
    created.await.unwrap().account_id
}

fn username(text: &str) -> Username {
    Username::parse(text).unwrap()
}

fn greeting(text: &str) -> Greeting {
    Greeting::parse(text).unwrap()
}

fn refused<T: std::fmt::Debug>(result: Result<T, StoreError>) -> Rejection {
    match result {
        Err(StoreError::Rejected(rejection)) => rejection,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn requests_profiles_and_passwords_keep_their_rules() {
    let database = TestDatabase::create();
    let dir = tempfile::tempdir().unwrap();
    let core = open(&database.url, dir.path()).await;
    let (ann, bob, cyd) = (
        account(&core, "ann").await,
        account(&core, "bob").await,
        account(&core, "cyd").await,
    );
    assert_eq!(
        refused(core.profile(bob, ann).await),
        Rejection::AccountNotFound
    );
    let asked = core
        .request_contact(ann, username("bob"), greeting("hi"))
        .await
        .unwrap();
    assert!(matches!(core.profile(bob, ann).await, Ok(Profile::Card(_))));
    let incoming = core.incoming_requests(bob, None, 10).await.unwrap();
    assert_eq!(incoming.items[0].request_id, asked);
    core.decline_request(bob, asked).await.unwrap();
    let incoming = core.incoming_requests(bob, None, 10).await.unwrap();
    assert!(incoming.items.is_empty());
    // Its sender sees it pending, and asking again shows nothing more.
    let outgoing = core.outgoing_requests(ann, None, 10).await.unwrap();
    assert_eq!(outgoing.items[0].request_id, asked);
    let again = core.request_contact(ann, username("bob"), greeting("hi"));
    assert_eq!(again.await.unwrap(), asked);
    let incoming = core.incoming_requests(bob, None, 10).await.unwrap();
    assert!(incoming.items.is_empty());
    assert_eq!(
        refused(core.decline_request(cyd, asked).await),
        Rejection::RequestNotFound
    );
    core.accept_request(bob, asked).await.unwrap();
    let contacts = core.contacts(ann, None, 10).await.unwrap().items;
    assert_eq!(
        contacts
            .iter()
            .map(|c| c.account.account_id)
            .collect::<Vec<_>>(),
        [bob]
    );
    let change = ProfileChange {
        display_name: Some(DisplayName::parse("Ann B").unwrap()),
        avatar: FieldChange::Keep,
        bio: None,
    };
    core.update_profile(ann, change).await.unwrap();
    match core.profile(bob, ann).await.unwrap() {
        Profile::Full {
            account,
            is_contact,
        } => assert_eq!((account.display_name.as_str(), is_contact), ("Ann B", true)),
        other => panic!("a contact sees the whole profile, not {other:?}"),
    }
    core.remove_contact(bob, ann).await.unwrap();
    assert_eq!(
        refused(core.profile(bob, ann).await),
        Rejection::AccountNotFound
    );
    assert!(core.contacts(ann, None, 10).await.unwrap().items.is_empty());
    passwords_are_compared_and_set(&core, ann).await;
}

async fn passwords_are_compared_and_set(core: &Core, ann: AccountId) {
    let device = |n: u8| {
        let name = DeviceName::parse("phone").unwrap();
        core.create_session(ann, name, TokenHash([n; 32]), DeviceSeen::default(), None)
    };
    let (laptop, phone) = (device(1).await.unwrap(), device(2).await.unwrap());
    let old = core.password_hash(ann).await.unwrap();
    let change = |device, old: &str, others| {
        core.change_password(ann, device, old.to_owned(), "new".into(), others)
    };
    let revoked = change(laptop, &old, OtherDevices::SignOut).await.unwrap();
    assert_eq!(revoked, [phone]);
    assert_eq!(core.password_hash(ann).await.unwrap(), "new");
    assert_eq!(
        refused(change(laptop, &old, OtherDevices::Keep).await),
        Rejection::WrongPassword
    );
    assert_eq!(
        refused(change(phone, "new", OtherDevices::Keep).await),
        Rejection::DeviceSignedOut
    );
}

/// Two processes, each asking the other at the same moment: one request
/// is made and the other process's asking back accepts it — never two
/// requests waiting on each other.
#[tokio::test]
async fn two_processes_asking_each_other_at_once_make_contacts() {
    let database = TestDatabase::create();
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (
        open(&database.url, dir.path()).await,
        open(&database.url, dir.path()).await,
    );
    for round in 0..10 {
        let (a_name, b_name) = (format!("ann{round}"), format!("bob{round}"));
        let (a, b) = (account(&one, &a_name).await, account(&one, &b_name).await);
        let (asked, asked_back) = tokio::join!(
            one.request_contact(a, username(&b_name), greeting("hi")),
            two.request_contact(b, username(&a_name), greeting("hi")),
        );
        assert_eq!(asked.unwrap(), asked_back.unwrap(), "round {round}");
        let contacts = two.contacts(b, None, 10).await.unwrap().items;
        assert_eq!(contacts.len(), 1, "round {round}");
        assert!(
            two.incoming_requests(a, None, 10)
                .await
                .unwrap()
                .items
                .is_empty()
        );
    }
}

/// A file (not a picture: served as uploaded) of `len` bytes.
fn upload(byte: u8, len: usize) -> Vec<u8> {
    let mut bytes = b"file".to_vec();
    bytes.resize(len, byte);
    bytes
}

async fn put(
    core: &Core,
    account: AccountId,
    bytes: Vec<u8>,
    quota_bytes: u64,
) -> StoreResult<MediaStored> {
    let rules = UploadRules {
        caps: UploadCaps {
            picture: 1 << 20,
            audio: 1 << 20,
            video: 1 << 20,
            file: 1 << 20,
        },
        quota_bytes,
    };
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(bytes))]);
    core.upload_media(account, None, None, body, &rules).await
}

async fn read(core: &Core, viewer: AccountId, media: MediaId) -> StoreResult<(Media, Vec<u8>)> {
    use futures_util::StreamExt;
    let served = core
        .media_served(viewer, media, Reading::Original, 1 << 20)
        .await?;
    let mut stream = core.media_bytes(&served, 0..served.size).await?;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.unwrap());
    }
    Ok((served.media, bytes))
}

/// The same bytes uploaded through two processes at once are one media;
/// the quota counts them once; only their uploader reads them, avatar or
/// not.
#[tokio::test]
async fn media_are_kept_once_within_the_quota_and_shown_to_their_uploader() {
    let database = TestDatabase::create();
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (
        open(&database.url, dir.path()).await,
        open(&database.url, dir.path()).await,
    );
    let (ann, bob) = (account(&one, "ann").await, account(&one, "bob").await);
    let (first, second) = tokio::join!(
        put(&one, ann, upload(7, 100), 1_000),
        put(&two, ann, upload(7, 100), 1_000),
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first.media, second.media);
    assert!(first.replayed != second.replayed, "one kept, one replayed");
    assert_eq!(
        refused(put(&one, ann, upload(8, 901), 1_000).await),
        Rejection::MediaQuotaExceeded {
            quota_bytes: 1_000,
            used_bytes: 100
        }
    );
    let media = first.media.media_id;
    let (found, bytes) = read(&two, ann, media).await.unwrap();
    assert_eq!((found, bytes), (first.media.clone(), upload(7, 100)));
    assert_eq!(
        refused(read(&one, bob, media).await),
        Rejection::MediaNotFound
    );
    let avatar = ProfileChange {
        display_name: None,
        avatar: FieldChange::Set(media),
        bio: None,
    };
    one.update_profile(ann, avatar.clone()).await.unwrap();
    assert_eq!(
        refused(read(&one, bob, media).await),
        Rejection::MediaNotFound,
        "an avatar's original stays its uploader's"
    );
    assert_eq!(
        refused(one.update_profile(bob, avatar).await),
        Rejection::MediaNotFound,
        "only one's own upload can be one's avatar"
    );
}

/// Two processes approving one QR log-in request at once create one
/// device; two polls at once hand its token out once.
#[tokio::test]
async fn a_qr_log_in_approves_one_device_and_hands_its_token_out_once() {
    let database = TestDatabase::create();
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (
        open(&database.url, dir.path()).await,
        open(&database.url, dir.path()).await,
    );
    let ann = account(&one, "ann").await;
    let id = LoginRequestId::parse("lr_AAAAAAAAAAAAAAAAAAAAAA").unwrap();
    let (code, secret) = (TokenHash([3; 32]), TokenHash([4; 32]));
    let origin = LoginOrigin {
        browser: "Firefox on Linux".into(),
        user_agent: None,
        address: "192.0.2.1".into(),
    };
    let created = one.create_login_request(NewLoginRequest {
        request_id: id.clone(),
        code_hash: code,
        secret_hash: secret,
        device_name: DeviceName::parse("browser").unwrap(),
        origin: origin.clone(),
        expires_at: Timestamp::from_unix_ms(Timestamp::now().unix_ms() + 60_000),
    });
    assert!(created.await.unwrap());
    let review = two.review_login_request(id.clone(), code, Timestamp::now());
    assert!(
        matches!(review.await.unwrap(), LoginRequestReview::Pending { origin: seen, .. } if seen == origin)
    );
    let (x, y) = tokio::join!(
        one.approve_login_request(ann, id.clone(), code, TokenHash([5; 32])),
        two.approve_login_request(ann, id.clone(), code, TokenHash([6; 32])),
    );
    let approvals = [x.unwrap(), y.unwrap()];
    assert!(
        approvals.contains(&LoginApproval::AlreadyUsed),
        "{approvals:?}"
    );
    let device = approvals
        .iter()
        .find_map(|approval| match approval {
            LoginApproval::Approved(device) => Some(*device),
            _ => None,
        })
        .expect("one approval made a device");
    let seen = DeviceSeen::default();
    let (p, q) = tokio::join!(
        one.deliver_login_token(id.clone(), secret, TokenHash([8; 32]), seen.clone()),
        two.deliver_login_token(id.clone(), secret, TokenHash([9; 32]), seen),
    );
    let handed: Vec<_> = [(p.unwrap(), 8), (q.unwrap(), 9)]
        .into_iter()
        .filter(|(status, _)| {
            matches!(status, LoginRequestStatus::Approved { awaiting_token: true, device: d, .. } if *d == device)
        })
        .map(|(_, token)| token)
        .collect();
    assert_eq!(handed.len(), 1, "the token is handed out once");
    let session = one.authenticate(TokenHash([handed[0]; 32])).await.unwrap();
    assert_eq!(session.map(|session| session.device_id), Some(device));
}

/// Runs `statement` on the database at `url`, off the runtime (the
/// synchronous client brings its own), answering the first column of its
/// first row when it has one.
fn sql(url: &str, statement: String) -> Option<i64> {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let rows = client.query(statement.as_str(), &[]).unwrap();
        rows.first().map(|row| row.get(0))
    })
    .join()
    .unwrap()
}

/// The bytes of erased media leave the media store only when no upload is
/// storing them (`piazza_core::media::purges`), on two processes: a
/// pinned upload holds a purge off; a claimed purge refuses an upload of
/// its bytes until it is done, or taken over when stale; an upload
/// cancels a purge still waiting; bytes a live media holds again are
/// never deleted.
#[tokio::test]
async fn erased_bytes_leave_the_store_only_when_no_upload_needs_them() {
    let database = TestDatabase::create();
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (
        open(&database.url, dir.path()).await,
        open(&database.url, dir.path()).await,
    );
    let (ann, bob) = (account(&one, "ann").await, account(&one, "bob").await);
    let stored = put(&one, ann, upload(3, 300), 1_000).await.unwrap().media;
    let hex = piazza_core::media::files::hex(&stored.sha256);
    let sha = format!("'\\x{hex}'::bytea");
    let blob = dir
        .path()
        .join("media")
        .join(piazza_core::media::blobs::key(&stored.sha256));
    assert!(blob.exists());
    let url = database.url.as_str();
    // Ann's media erased, its bytes queued, as an erasure leaves them.
    sql(url, "UPDATE media SET erased_at = 1".into());
    let queue = || {
        sql(
            url,
            format!("INSERT INTO blob_purges (sha256) VALUES ({sha})"),
        )
    };
    queue();

    // An upload of the same bytes on its way (pinned): not claimed.
    let pin = format!(
        "INSERT INTO upload_pins (sha256, until) VALUES ({sha}, {})",
        i64::MAX
    );
    sql(url, pin);
    assert_eq!(two.purge_erased_blobs(10).await.unwrap(), 0);
    assert!(blob.exists());
    sql(url, "DELETE FROM upload_pins".into());
    assert_eq!(two.purge_erased_blobs(10).await.unwrap(), 1);
    assert!(!blob.exists(), "unpinned, the bytes go");

    // A purge claimed by a sweeper still deleting: an upload of its bytes
    // is refused (stored nothing), until the claim is stale and taken over.
    queue();
    let now = Timestamp::now().unix_ms();
    sql(url, format!("UPDATE blob_purges SET claimed_at = {now}"));
    let refused = put(&two, bob, upload(3, 300), 1_000).await.unwrap_err();
    assert!(matches!(refused, StoreError::Unavailable(_)), "{refused:?}");
    assert_eq!(
        one.purge_erased_blobs(10).await.unwrap(),
        0,
        "not stale yet"
    );
    let stale = now - piazza_core::media::purges::CLAIM_STALE_MS - 1;
    sql(url, format!("UPDATE blob_purges SET claimed_at = {stale}"));
    assert_eq!(one.purge_erased_blobs(10).await.unwrap(), 1);
    let bobs = put(&two, bob, upload(3, 300), 1_000).await.unwrap().media;
    assert!(blob.exists(), "stored anew");

    // A waiting purge of bytes a live media holds: never carried out.
    queue();
    assert_eq!(one.purge_erased_blobs(10).await.unwrap(), 0);
    assert!(blob.exists());
    let (_, bytes) = read(&one, bob, bobs.media_id).await.unwrap();
    assert_eq!(bytes, upload(3, 300));
    let left = sql(url, "SELECT count(*) FROM blob_purges".into());
    assert_eq!(left, Some(0), "dropped, not left to wait");
}
