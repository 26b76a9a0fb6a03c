use piazza_domain::{Rejection, StoreError};

/// The store's own error: a rule broken, or the database failing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored data is not what this version wrote: {0}")]
    Corrupt(String),
    /// An integrity check found the stored data damaged (`verifier.rs`).
    #[error(
        "the store is damaged: {0}. Restore the data directory from a backup; `piazza admin check` and `piazza admin ledger-check` list every problem"
    )]
    Damaged(String),
    #[error("the writer has stopped")]
    WriterGone,
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

impl From<Error> for StoreError {
    fn from(error: Error) -> StoreError {
        match error {
            Error::Rejected(rejection) => StoreError::Rejected(rejection),
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}
