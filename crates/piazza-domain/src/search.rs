//! Search's text rules, the same on every engine: how text is folded,
//! which terms a text is indexed under, how a query reads, whether a text
//! matches it, and which parts of it to highlight.
//!
//! Both engines keep the same index tables of terms, made here, so the
//! same query finds the same things on SQLite and on PostgreSQL; neither
//! engine's own full-text search is used (SQLite's `unicode61` finds no
//! word inside a run of Chinese, its `trigram` none shorter than three
//! characters, and PostgreSQL's parsers differ again).
//!
//! - **Folding**: each character is taken apart (NFKD), its accents
//!   dropped and its case lowered, so `Perché`, `PERCHE` and `perche`
//!   are one; full-width forms become their usual ones. Chinese, Japanese
//!   and Korean characters are only composed (NFKC): a kana keeps its
//!   voicing mark. Apostrophes split words (`l'amore` holds `amore`).
//! - **Terms**: outside CJK, each word by Unicode's word boundaries
//!   (UAX #29), cut to [`TERM_CHARS_MAX`] characters. A run of CJK
//!   characters gives each character and each pair of neighbours
//!   (bigrams), so a word of one or two characters inside a longer run
//!   is found, whatever the words' boundaries; a longer query word asks
//!   for all its pairs and is then checked as a whole against the text.
//!   No dictionary is needed to find (recall is complete) and the check
//!   keeps precision: a text holding 北京 and 京天 apart is not a hit for
//!   北京天.
//! - **Queries**: every part must be present. A word matches the same
//!   word; the query's last word, from two characters on, also matches as
//!   the start of a longer one (`pizz` finds `pizzeria`), as it is being
//!   typed.

use std::collections::BTreeSet;
use std::ops::Range;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;
use unicode_segmentation::UnicodeSegmentation;

/// A word longer than this is indexed (and looked for) by its start.
pub const TERM_CHARS_MAX: usize = 32;
/// A query longer than this (in characters) is refused.
pub const QUERY_CHARS_MAX: usize = 200;
/// A query with more parts than this is refused.
pub const QUERY_PARTS_MAX: usize = 8;
/// The last query word matches longer words from this many characters.
pub const PREFIX_CHARS_MIN: usize = 2;
/// A snippet shows about this many characters of a longer text.
pub const SNIPPET_CHARS: usize = 120;
/// ...starting this many characters before its first hit.
const SNIPPET_LEAD_CHARS: usize = 30;

/// Whether `c` is written without spaces between words: Chinese
/// characters, kana, Hangul.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF      // Hangul jamo
        | 0x3005..=0x3007    // 々 〆 〇
        | 0x3040..=0x30FF    // hiragana, katakana
        | 0x3130..=0x318F    // Hangul compatibility jamo
        | 0x31F0..=0x31FF    // katakana extensions
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xA960..=0xA97F    // Hangul jamo extended A
        | 0xAC00..=0xD7FF    // Hangul syllables, jamo extended B
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0xFF61..=0xFF9F    // half-width katakana (folded to full width)
        | 0x20000..=0x3134F) // CJK extensions B to G
}

/// Folds one character, giving each folded character to `out`.
fn fold_char(c: char, out: &mut impl FnMut(char)) {
    if matches!(c, '\'' | '\u{2019}' | '\u{02BC}' | '`') {
        return out(' ');
    }
    if is_cjk(c) {
        return std::iter::once(c).nfkc().for_each(out);
    }
    for part in std::iter::once(c).nfkd() {
        if !is_combining_mark(part) {
            part.to_lowercase().for_each(&mut *out);
        }
    }
}

/// Whether `c` is kana a voicing mark may follow.
fn is_kana(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9D)
}

/// A voicing mark written after its kana: combining, or half-width.
fn is_voicing_mark(c: char) -> bool {
    matches!(c, '\u{3099}' | '\u{309A}' | '\u{FF9E}' | '\u{FF9F}')
}

/// Folds `text`, giving each folded character with the bytes of the
/// original it came from. A kana and the voicing mark after it are folded
/// together (ｶﾞ and カ with a combining mark are ガ).
fn fold_with(text: &str, mut out: impl FnMut(char, Range<usize>)) {
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if is_kana(c)
            && let Some(&(mark_at, mark)) = chars.peek()
            && is_voicing_mark(mark)
        {
            chars.next();
            let span = at..mark_at + mark.len_utf8();
            [c, mark]
                .into_iter()
                .nfkc()
                .for_each(|f| out(f, span.clone()));
            continue;
        }
        let span = at..at + c.len_utf8();
        fold_char(c, &mut |f| out(f, span.clone()));
    }
}

/// `text` folded, for indexing and for matching.
pub fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    fold_with(text, |f, _| folded.push(f));
    folded
}

/// A text folded, with where in the original each folded byte came from,
/// so hits found in the folded text are highlighted in the original.
#[derive(Debug)]
pub struct Folded {
    pub text: String,
    /// For each byte of `text`, the original character's byte range.
    origin: Vec<(u32, u32)>,
}

impl Folded {
    pub fn new(original: &str) -> Folded {
        let mut text = String::with_capacity(original.len());
        let mut origin = Vec::with_capacity(original.len());
        fold_with(original, |f, span| {
            text.push(f);
            let span = (span.start as u32, span.end as u32);
            origin.extend(std::iter::repeat_n(span, f.len_utf8()));
        });
        debug_assert_eq!(text.len(), origin.len());
        Folded { text, origin }
    }

    /// The original bytes a range of folded bytes came from.
    fn original(&self, folded: &Range<usize>) -> Range<usize> {
        assert!(folded.start < folded.end && folded.end <= self.origin.len());
        self.origin[folded.start].0 as usize..self.origin[folded.end - 1].1 as usize
    }
}

/// A piece of folded text: a word, or a run of CJK characters.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Word,
    Cjk,
}

/// The words and CJK runs of folded text, with their byte ranges.
fn pieces(folded: &str) -> Vec<(Piece, Range<usize>)> {
    let mut pieces = Vec::new();
    let mut stretch_start = 0;
    let mut run_start: Option<usize> = None;
    let words = |pieces: &mut Vec<_>, range: Range<usize>| {
        for (at, word) in folded[range.clone()].unicode_word_indices() {
            let start = range.start + at;
            pieces.push((Piece::Word, start..start + word.len()));
        }
    };
    for (at, c) in folded.char_indices() {
        match (is_cjk(c), run_start) {
            (true, None) => {
                words(&mut pieces, stretch_start..at);
                run_start = Some(at);
            }
            (false, Some(start)) => {
                pieces.push((Piece::Cjk, start..at));
                run_start = None;
                stretch_start = at;
            }
            _ => {}
        }
    }
    match run_start {
        Some(start) => pieces.push((Piece::Cjk, start..folded.len())),
        None => words(&mut pieces, stretch_start..folded.len()),
    }
    pieces
}

/// A word as it is indexed: cut to [`TERM_CHARS_MAX`] characters.
fn word_term(word: &str) -> &str {
    match word.char_indices().nth(TERM_CHARS_MAX) {
        Some((cut, _)) => &word[..cut],
        None => word,
    }
}

/// The terms `text` is indexed under, each once, in order.
pub fn index_terms(text: &str) -> BTreeSet<String> {
    let folded = fold(text);
    let mut terms = BTreeSet::new();
    for (piece, range) in pieces(&folded) {
        let piece_text = &folded[range];
        match piece {
            Piece::Word => {
                terms.insert(word_term(piece_text).to_owned());
            }
            Piece::Cjk => {
                let chars: Vec<(usize, char)> = piece_text.char_indices().collect();
                for (i, &(at, c)) in chars.iter().enumerate() {
                    terms.insert(c.to_string());
                    if let Some(&(next, next_c)) = chars.get(i + 1) {
                        terms.insert(piece_text[at..next + next_c.len_utf8()].to_owned());
                    }
                }
            }
        }
    }
    terms
}

/// What a query asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    parts: Vec<Part>,
}

/// One part of a query, all of which a hit holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// A word; `prefix`: or a longer word starting with it.
    Word { term: String, prefix: bool },
    /// A run of CJK characters, found anywhere in a run of the text.
    Cjk(String),
}

/// Why a query cannot be searched for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the query holds no word to search for")]
    Empty,
    #[error("the query is longer than {QUERY_CHARS_MAX} characters")]
    TooLong,
    #[error("the query has more than {QUERY_PARTS_MAX} words")]
    TooManyParts,
}

impl Query {
    pub fn parse(text: &str) -> Result<Query, QueryError> {
        if text.chars().count() > QUERY_CHARS_MAX {
            return Err(QueryError::TooLong);
        }
        let folded = fold(text);
        let mut parts: Vec<Part> = Vec::new();
        for (piece, range) in pieces(&folded) {
            let part = match piece {
                Piece::Word => Part::Word {
                    term: word_term(&folded[range]).to_owned(),
                    prefix: false,
                },
                Piece::Cjk => Part::Cjk(folded[range].to_owned()),
            };
            if !parts.contains(&part) {
                parts.push(part);
            }
        }
        if parts.len() > QUERY_PARTS_MAX {
            return Err(QueryError::TooManyParts);
        }
        let typing = !text.ends_with(char::is_whitespace);
        if let Some(Part::Word { term, prefix }) = parts.last_mut() {
            *prefix = typing && term.chars().count() >= PREFIX_CHARS_MIN;
        }
        if parts.is_empty() {
            return Err(QueryError::Empty);
        }
        Ok(Query { parts })
    }

    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Where `text` holds each part of the query, in the original text's
    /// bytes, merged and in order; `None` unless it holds every part.
    pub fn hits(&self, text: &str) -> Option<Vec<Range<usize>>> {
        let folded = Folded::new(text);
        let pieces = pieces(&folded.text);
        let mut hits: Vec<Range<usize>> = Vec::new();
        for part in &self.parts {
            let found = part_hits(part, &folded.text, &pieces);
            if found.is_empty() {
                return None;
            }
            hits.extend(found.iter().map(|range| folded.original(range)));
        }
        Some(merge(hits))
    }
}

/// Where the folded text holds one part of a query.
fn part_hits(part: &Part, folded: &str, pieces: &[(Piece, Range<usize>)]) -> Vec<Range<usize>> {
    match part {
        Part::Word { term, prefix } => pieces
            .iter()
            .filter(|(piece, _)| *piece == Piece::Word)
            .filter_map(|(_, range)| {
                let word = &folded[range.clone()];
                if word_term(word) == term {
                    Some(range.clone())
                } else if *prefix && word.starts_with(term.as_str()) {
                    Some(range.start..range.start + term.len())
                } else {
                    None
                }
            })
            .collect(),
        Part::Cjk(run) => folded
            .match_indices(run.as_str())
            .map(|(at, found)| at..at + found.len())
            .collect(),
    }
}

fn merge(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.sort_by_key(|range| (range.start, range.end));
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    merged
}

/// A piece of a snippet: text shown as it is, or a hit shown highlighted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnippetPart {
    pub text: String,
    pub hit: bool,
}

/// About [`SNIPPET_CHARS`] characters of `text` around its first hit,
/// cut with "…" where the text goes on, in parts marking the hits.
/// `hits` are byte ranges of `text` on character boundaries, in order.
pub fn snippet(text: &str, hits: &[Range<usize>]) -> Vec<SnippetPart> {
    let first = hits.first().map_or(0, |hit| hit.start);
    let starts: Vec<usize> = text.char_indices().map(|(at, _)| at).collect();
    let (from, to) = if starts.len() <= SNIPPET_CHARS {
        (0, text.len())
    } else {
        let first_char = starts.partition_point(|at| *at < first);
        let lead = first_char.saturating_sub(SNIPPET_LEAD_CHARS);
        let start = lead.min(starts.len() - SNIPPET_CHARS);
        let end = start + SNIPPET_CHARS;
        (
            starts[start],
            starts.get(end).copied().unwrap_or(text.len()),
        )
    };
    let mut parts = Vec::new();
    let mut push = |part: &str, hit: bool| {
        if !part.is_empty() {
            parts.push(SnippetPart {
                text: part.to_owned(),
                hit,
            });
        }
    };
    if from > 0 {
        push("…", false);
    }
    let mut at = from;
    for hit in hits {
        let (start, end) = (hit.start.clamp(from, to), hit.end.clamp(from, to));
        if start >= end {
            continue;
        }
        push(&text[at..start], false);
        push(&text[start..end], true);
        at = end;
    }
    push(&text[at..to], false);
    if to < text.len() {
        push("…", false);
    }
    parts
}

#[cfg(test)]
mod tests;
