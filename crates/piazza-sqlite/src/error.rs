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
    /// A use case above the engine failed for a reason of its own.
    #[error("{0}")]
    Core(String),
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

impl From<Error> for piazza_core::Error {
    fn from(error: Error) -> piazza_core::Error {
        match error {
            Error::Rejected(rejection) => piazza_core::Error::Rejected(rejection),
            Error::Corrupt(what) => piazza_core::Error::Corrupt(what),
            other => piazza_core::Error::Engine(other.to_string()),
        }
    }
}

impl From<piazza_core::Error> for Error {
    fn from(error: piazza_core::Error) -> Error {
        match error {
            piazza_core::Error::Rejected(rejection) => Error::Rejected(rejection),
            piazza_core::Error::Corrupt(what) => Error::Corrupt(what),
            other => Error::Core(other.to_string()),
        }
    }
}
