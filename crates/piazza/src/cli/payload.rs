//! The text of a scanned code (a merchant's payment code, a QR log-in),
//! taken from the command line, from a file or from standard input.
//!
//! A merchant's payload holds the shop's name as it was typed, quotes and
//! apostrophes included ("Ann's Noodles"), which a shell line breaks
//! unless it is quoted just right. A file (`--from-file FILE`) or a pipe
//! (`-`) hands it over untouched.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};

/// The most a payload file or pipe is read of: far more than any code
/// holds (an EMVCo payload is at most 512 characters).
const PAYLOAD_READ_MAX: u64 = 64 * 1024;

#[derive(clap::Args, Debug, Clone)]
pub struct PayloadArgs {
    /// The text of the scanned code; `-` reads it from standard input
    #[arg(required_unless_present = "from_file", allow_hyphen_values = true)]
    pub qr_payload: Option<String>,
    /// Read the text from this file instead (its first non-empty line), as
    /// written by `piazza merchant qr --payload-file FILE`
    #[arg(long, value_name = "FILE", conflicts_with = "qr_payload")]
    pub from_file: Option<PathBuf>,
}

/// Where a payload came from: a command that also reads standard input
/// (a PIN, a yes) must not when the payload took it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadSource {
    Argument,
    File,
    Stdin,
}

impl PayloadArgs {
    /// The payload, whichever way it was given.
    pub fn read(&self) -> anyhow::Result<(String, PayloadSource)> {
        match (&self.qr_payload, &self.from_file) {
            (_, Some(path)) => {
                let file = std::fs::File::open(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let text =
                    read_capped(file).with_context(|| format!("cannot read {}", path.display()))?;
                let line = first_line(&text)
                    .with_context(|| format!("{} holds no code", path.display()))?;
                Ok((line, PayloadSource::File))
            }
            (Some(dash), None) if dash == "-" => {
                let text = read_capped(std::io::stdin().lock())
                    .context("cannot read the code from standard input")?;
                let line = first_line(&text).context("standard input held no code")?;
                Ok((line, PayloadSource::Stdin))
            }
            (Some(text), None) => Ok((text.clone(), PayloadSource::Argument)),
            (None, None) => bail!(
                "give the code's text, `-` to read it from standard input, or --from-file FILE"
            ),
        }
    }
}

fn read_capped(source: impl Read) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    source.take(PAYLOAD_READ_MAX).read_to_end(&mut bytes)?;
    String::from_utf8(bytes).map_err(|_| std::io::Error::other("it is not UTF-8 text"))
}

/// The first line with something on it, without the white space around
/// it: a payload never starts or ends with a space, and `merchant qr`
/// prints the drawing after it.
pub fn first_line(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_with_text_is_the_payload() {
        assert_eq!(
            first_line("\n  000201...6304ABCD  \r\n█▀▀▀█\n").as_deref(),
            Some("000201...6304ABCD")
        );
        assert_eq!(
            first_line("Ann's \"Noodles\"\n").as_deref(),
            Some("Ann's \"Noodles\"")
        );
        assert_eq!(first_line(" \n\t\n"), None);
    }

    #[test]
    fn a_file_is_read_whole_and_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("code.txt");
        std::fs::write(&path, "5915Ann's Noodles$`\\\n").unwrap();
        let args = PayloadArgs {
            qr_payload: None,
            from_file: Some(path),
        };
        let (payload, source) = args.read().unwrap();
        assert_eq!(payload, "5915Ann's Noodles$`\\");
        assert_eq!(source, PayloadSource::File);
        let missing = PayloadArgs {
            qr_payload: None,
            from_file: Some(dir.path().join("none.txt")),
        };
        assert!(missing.read().unwrap_err().to_string().contains("none.txt"));
    }
}
