//! Reads a few basic facts (video size, duration) from uploaded media
//! containers without decoding them.
//!
//! The input is hostile (a user upload), so every reader here:
//! - seeks and reads small windows into fixed stack buffers, never the whole
//!   file and never a heap allocation sized by the input;
//! - bounds every loop by both file position progress and an iteration cap,
//!   and the whole probe by a read budget ([`MAX_READS`]);
//! - uses checked arithmetic and `get` on slices, so malformed sizes turn
//!   into `None` fields instead of panics.

use std::io::{ErrorKind, Read, Seek, SeekFrom};

/// Facts reported to the chat server; `None` where the container does not
/// say, or says it in a malformed way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Probe {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u64>,
}

/// The container family the caller believes the upload to be (from its
/// MIME type / sniffing). `Mp4` covers MP4/M4A/MOV (ISO BMFF); `WebM`
/// covers Matroska.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Mp4,
    WebM,
    Ogg,
    Mp3,
}

/// Never panics, never loops forever, never allocates more than a few KiB
/// whatever the bytes (the input is hostile: an upload). Reads with seeks,
/// never the whole file (files may be 200 MiB). Returns Probe::default()
/// fields as None where the container does not say or is malformed.
pub fn probe<R: Read + Seek>(container: Container, reader: &mut R) -> Probe {
    let Some(mut src) = Src::new(reader) else {
        return Probe::default();
    };
    match container {
        Container::Mp4 => mp4::probe(&mut src),
        Container::WebM => webm::probe(&mut src),
        Container::Ogg => ogg::probe(&mut src),
        Container::Mp3 => mp3::probe(&mut src),
    }
}

/// Upper bound on positioned reads per probe. Each read is at most 4 KiB, so
/// this caps the I/O of a pathological file at ~16 MiB and its time at a few
/// thousand seeks, whatever structure the bytes pretend to have.
const MAX_READS: u32 = 4096;

/// Size of the largest stack buffer used for scanning.
const CHUNK: usize = 4096;

/// A positioned reader over the upload with a fixed read budget. All
/// container readers go through it so that I/O errors, EOF and an exhausted
/// budget all look the same: a short read.
struct Src<'a, R> {
    r: &'a mut R,
    len: u64,
    budget: u32,
}

impl<'a, R: Read + Seek> Src<'a, R> {
    /// Learns the stream length once, by seeking to the end, because every
    /// reader needs it to bound sizes (and MP3/Ogg need the tail).
    fn new(r: &'a mut R) -> Option<Self> {
        let len = r.seek(SeekFrom::End(0)).ok()?;
        Some(Self {
            r,
            len,
            budget: MAX_READS,
        })
    }

    /// Reads up to `buf.len()` bytes at `pos` and returns how many were read
    /// (short at EOF, on error, or once the budget is spent).
    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> usize {
        if self.budget == 0 || pos >= self.len || self.r.seek(SeekFrom::Start(pos)).is_err() {
            return 0;
        }
        self.budget -= 1;
        let mut n = 0;
        // Bounded even if the reader keeps returning `Interrupted`.
        for _ in 0..64 {
            let Some(rest) = buf.get_mut(n..) else { break };
            if rest.is_empty() {
                break;
            }
            match self.r.read(rest) {
                Ok(0) => break,
                // `min` guards against a reader that claims more than it was given.
                Ok(k) => n += k.min(rest.len()),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        n
    }

    /// Reads exactly `buf.len()` bytes at `pos`, or None.
    fn read_exact_at(&mut self, pos: u64, buf: &mut [u8]) -> Option<()> {
        (self.read_at(pos, buf) == buf.len()).then_some(())
    }
}

/// Big-endian unsigned integer of `n` (≤ 8) bytes at `off`, or None if the
/// slice is too short.
fn be(b: &[u8], off: usize, n: usize) -> Option<u64> {
    let s = b.get(off..off.checked_add(n)?)?;
    (n <= 8).then(|| s.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
}

/// Little-endian unsigned integer of `n` (≤ 8) bytes at `off`.
fn le(b: &[u8], off: usize, n: usize) -> Option<u64> {
    let s = b.get(off..off.checked_add(n)?)?;
    (n <= 8).then(|| {
        s.iter()
            .rev()
            .fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
    })
}

/// `units * 1000 / per_second`, without overflow, None if the rate is 0 or
/// the result does not fit (such a duration is nonsense anyway).
fn to_ms(units: u64, per_second: u64) -> Option<u64> {
    if per_second == 0 {
        return None;
    }
    u64::try_from(u128::from(units) * 1000 / u128::from(per_second)).ok()
}

/// ISO BMFF (MP4, M4A, MOV).
mod mp4 {
    use super::{Probe, Read, Seek, Src, be, to_ms};

    /// Cap on boxes visited per level; real files have a handful.
    const MAX_BOXES: u32 = 1024;

    /// A box whose body is `[body, end)`; `end` is clamped to the parent so
    /// that a truncated file (claimed size past EOF) is read as far as it goes.
    struct BoxHdr {
        kind: [u8; 4],
        body: u64,
        end: u64,
    }

    /// Decodes the box header at `pos`. Handles `size == 1` (64-bit
    /// largesize follows) and `size == 0` (box runs to the parent's end).
    /// A size smaller than the header is malformed: None, which stops the
    /// walk rather than looping on a zero-length box.
    fn header<R: Read + Seek>(src: &mut Src<R>, pos: u64, parent_end: u64) -> Option<BoxHdr> {
        let mut h = [0u8; 16];
        src.read_exact_at(pos, &mut h[..8])?;
        let kind = [h[4], h[5], h[6], h[7]];
        let (size, hlen) = match be(&h, 0, 4)? {
            0 => (parent_end.checked_sub(pos)?, 8),
            1 => {
                src.read_exact_at(pos.checked_add(8)?, &mut h[8..])?;
                (be(&h, 8, 8)?, 16)
            }
            s => (s, 8),
        };
        if size < hlen {
            return None;
        }
        let body = pos.checked_add(hlen)?;
        let end = pos.saturating_add(size).min(parent_end);
        (body <= end).then_some(BoxHdr { kind, body, end })
    }

    /// Visits the child boxes of `[start, end)` in order until `visit`
    /// returns false or a header is malformed. Progress is guaranteed since
    /// every box is at least 8 bytes, and the count is capped too.
    fn walk<R: Read + Seek>(
        src: &mut Src<R>,
        start: u64,
        end: u64,
        mut visit: impl FnMut(&mut Src<R>, &BoxHdr) -> bool,
    ) {
        let mut pos = start;
        for _ in 0..MAX_BOXES {
            if end.saturating_sub(pos) < 8 {
                break;
            }
            let Some(b) = header(src, pos, end) else {
                break;
            };
            if !visit(src, &b) || b.end <= pos {
                break;
            }
            pos = b.end;
        }
    }

    /// Walks the top level to `moov`, skipping everything else (`ftyp`,
    /// `free`, `mdat` before or after `moov`) by its size without reading it.
    pub(super) fn probe<R: Read + Seek>(src: &mut Src<R>) -> Probe {
        let mut p = Probe::default();
        let len = src.len;
        walk(src, 0, len, |src, b| {
            if &b.kind == b"moov" {
                read_moov(src, b, &mut p);
                return false;
            }
            true
        });
        p
    }

    /// Takes the duration from `mvhd` (or, for fragmented MP4 whose `mvhd`
    /// says 0, from `mvex/mehd`) and the size from the first `trak` whose
    /// `tkhd` has a non-zero width and height (audio tracks have 0x0).
    fn read_moov<R: Read + Seek>(src: &mut Src<R>, moov: &BoxHdr, p: &mut Probe) {
        let mut mvhd = None;
        let mut fragments = None;
        walk(src, moov.body, moov.end, |src, b| {
            match &b.kind {
                b"mvhd" if mvhd.is_none() => mvhd = mvhd_fields(src, b),
                b"mvex" => fragments = child(src, b, b"mehd", mehd_duration),
                b"trak" if p.width.is_none() => {
                    if let Some((w, h)) = child(src, b, b"tkhd", tkhd_size) {
                        p.width = Some(w);
                        p.height = Some(h);
                    }
                }
                _ => {}
            }
            true
        });
        p.duration_ms = mvhd.and_then(|(timescale, d)| to_ms(d.or(fragments)?, timescale));
    }

    /// Applies `read` to the first child box of `parent` of the given kind.
    fn child<R: Read + Seek, T>(
        src: &mut Src<R>,
        parent: &BoxHdr,
        kind: &[u8; 4],
        read: fn(&mut Src<R>, &BoxHdr) -> Option<T>,
    ) -> Option<T> {
        let mut found = None;
        walk(src, parent.body, parent.end, |src, b| {
            if &b.kind != kind {
                return true;
            }
            found = read(src, b);
            false
        });
        found
    }

    /// Reads the body of a full box (version byte first) up to 32 bytes,
    /// never past the box end.
    fn full_box<R: Read + Seek>(src: &mut Src<R>, b: &BoxHdr, d: &mut [u8; 32]) -> usize {
        let n = src.read_at(b.body, d);
        usize::try_from(b.end - b.body).unwrap_or(usize::MAX).min(n)
    }

    /// `mvhd` v0 has 32-bit times, v1 64-bit: (timescale, duration). A
    /// duration of 0 (fragmented files) or all-ones ("unknown" per the
    /// spec) is None; a zero timescale makes the whole box useless.
    fn mvhd_fields<R: Read + Seek>(src: &mut Src<R>, b: &BoxHdr) -> Option<(u64, Option<u64>)> {
        let mut buf = [0u8; 32];
        let n = full_box(src, b, &mut buf);
        let d = buf.get(..n)?;
        let (timescale, duration, unknown) = match d.first()? {
            0 => (be(d, 12, 4)?, be(d, 16, 4)?, u64::from(u32::MAX)),
            1 => (be(d, 20, 4)?, be(d, 24, 8)?, u64::MAX),
            _ => return None,
        };
        let duration = (duration != 0 && duration != unknown).then_some(duration);
        (timescale != 0).then_some((timescale, duration))
    }

    /// `mehd` fragment_duration (32 or 64 bits by version), in the movie
    /// timescale: the total length of a fragmented MP4.
    fn mehd_duration<R: Read + Seek>(src: &mut Src<R>, b: &BoxHdr) -> Option<u64> {
        let mut buf = [0u8; 32];
        let n = full_box(src, b, &mut buf);
        let d = buf.get(..n)?;
        let duration = match d.first()? {
            0 => be(d, 4, 4)?,
            1 => be(d, 4, 8)?,
            _ => return None,
        };
        (duration != 0).then_some(duration)
    }

    /// `tkhd` width/height are 16.16 fixed point at the end of the box;
    /// their offset depends on the version (64-bit times in v1).
    fn tkhd_size<R: Read + Seek>(src: &mut Src<R>, b: &BoxHdr) -> Option<(u32, u32)> {
        let mut v = [0u8; 1];
        src.read_exact_at(b.body, &mut v)?;
        let off: u64 = match v[0] {
            0 => 76,
            1 => 88,
            _ => return None,
        };
        let at = b.body.checked_add(off)?;
        if b.end.checked_sub(at)? < 8 {
            return None;
        }
        let mut wh = [0u8; 8];
        src.read_exact_at(at, &mut wh)?;
        let w = u32::try_from(be(&wh, 0, 4)? >> 16).ok()?;
        let h = u32::try_from(be(&wh, 4, 4)? >> 16).ok()?;
        (w > 0 && h > 0).then_some((w, h))
    }
}

/// WebM / Matroska (EBML).
mod webm {
    use super::{Probe, Read, Seek, Src, be};

    const EBML: u64 = 0x1A45_DFA3;
    const SEGMENT: u64 = 0x1853_8067;
    const INFO: u64 = 0x1549_A966;
    const TRACKS: u64 = 0x1654_AE6B;
    const TRACK_ENTRY: u64 = 0xAE;
    const VIDEO: u64 = 0xE0;
    const CLUSTER: u64 = 0x1F43_B675;
    const TIMECODE_SCALE: u64 = 0x2A_D7B1;
    const DURATION: u64 = 0x4489;
    const PIXEL_WIDTH: u64 = 0xB0;
    const PIXEL_HEIGHT: u64 = 0xBA;

    /// Total elements visited per probe; headers before the first Cluster
    /// are a few dozen elements in practice.
    const MAX_ELEMS: u32 = 2048;
    /// Segment > Tracks > TrackEntry > Video is depth 4; allow some slack
    /// for unknown-size nesting but bound the recursion.
    const MAX_DEPTH: u32 = 8;

    /// An element header: `size` is None for the reserved all-ones
    /// "unknown size" (live/MediaRecorder output), whose end is the parent's.
    struct Elem {
        id: u64,
        data: u64,
        size: Option<u64>,
    }

    /// What has been learned so far; `duration` stays in TimecodeScale
    /// units because the scale may come after it inside Info.
    struct State {
        scale: u64,
        duration: Option<f64>,
        width: Option<u32>,
        height: Option<u32>,
        elems: u32,
        stop: bool,
    }

    /// Decodes the EBML variable-length integer at `off`: (value, length,
    /// all data bits set). IDs keep their marker bit, sizes drop it.
    fn vint(b: &[u8], off: usize, max_len: u32, keep_marker: bool) -> Option<(u64, usize, bool)> {
        let first = *b.get(off)?;
        let len = first.leading_zeros() + 1;
        if len > max_len {
            return None;
        }
        let n = usize::try_from(len).ok()?;
        let raw = be(b, off, n)?;
        let mask = (1u64 << (7 * len)) - 1;
        let value = if keep_marker { raw } else { raw & mask };
        Some((value, n, raw & mask == mask))
    }

    /// Reads the element header at `pos` (ID ≤ 4 bytes, size ≤ 8 bytes).
    fn element<R: Read + Seek>(src: &mut Src<R>, pos: u64) -> Option<Elem> {
        let mut b = [0u8; 12];
        let n = src.read_at(pos, &mut b);
        let b = b.get(..n)?;
        let (id, il, _) = vint(b, 0, 4, true)?;
        let (size, sl, unknown) = vint(b, il, 8, false)?;
        let data = pos.checked_add(u64::try_from(il + sl).ok()?)?;
        let size = (!unknown).then_some(size);
        Some(Elem { id, data, size })
    }

    /// Requires the EBML header first (so that random bytes are rejected
    /// early), then walks the rest of the file for the Segment.
    pub(super) fn probe<R: Read + Seek>(src: &mut Src<R>) -> Probe {
        let mut st = State {
            scale: 1_000_000,
            duration: None,
            width: None,
            height: None,
            elems: 0,
            stop: false,
        };
        let header_end = element(src, 0)
            .filter(|e| e.id == EBML)
            .and_then(|e| e.data.checked_add(e.size?));
        if let Some(start) = header_end {
            let len = src.len;
            walk(src, &mut st, start, len, 0, 0);
        }
        let duration_ms = st.duration.and_then(|d| {
            // TimecodeScale is in ns per tick; Duration is in ticks.
            let ms = (d * st.scale as f64 / 1e6).round();
            (st.scale > 0 && ms.is_finite() && ms > 0.0 && ms < 1.8e19).then_some(ms as u64)
        });
        Probe {
            width: st.width,
            height: st.height,
            duration_ms,
        }
    }

    /// Walks the children of a master element `[start, end)` whose ID is
    /// `parent`. Descends into the masters on the path to what we need,
    /// including unknown-size ones (their end is the parent's, and since we
    /// cannot skip them, the parent's walk ends with them). Stops the whole
    /// probe at the first Cluster: everything we want comes before media.
    fn walk<R: Read + Seek>(
        src: &mut Src<R>,
        st: &mut State,
        start: u64,
        end: u64,
        parent: u64,
        depth: u32,
    ) {
        let mut pos = start;
        while pos < end && !st.stop {
            st.elems += 1;
            if st.elems > MAX_ELEMS {
                st.stop = true;
            }
            let Some(e) = element(src, pos).filter(|_| !st.stop) else {
                return;
            };
            let known_end = e.size.and_then(|s| e.data.checked_add(s));
            let child_end = known_end.map_or(end, |k| k.min(end));
            match e.id {
                CLUSTER => st.stop = true,
                SEGMENT | INFO | TRACKS | TRACK_ENTRY if depth < MAX_DEPTH => {
                    walk(src, st, e.data, child_end, e.id, depth + 1);
                }
                VIDEO if parent == TRACK_ENTRY => video(src, st, e.data, child_end),
                TIMECODE_SCALE if parent == INFO => {
                    st.scale = uint(src, e.data, e.size).unwrap_or(0);
                }
                DURATION if parent == INFO => st.duration = float(src, e.data, e.size),
                _ => {}
            }
            match known_end {
                Some(k) if k > pos => pos = k,
                _ => return,
            }
        }
    }

    /// Reads PixelWidth/PixelHeight of one Video element and keeps them only
    /// if both are non-zero and no earlier video track set them, so width
    /// and height always come from the same track.
    fn video<R: Read + Seek>(src: &mut Src<R>, st: &mut State, start: u64, end: u64) {
        let (mut w, mut h) = (None, None);
        let mut pos = start;
        while pos < end && st.elems < MAX_ELEMS {
            st.elems += 1;
            let Some(e) = element(src, pos) else { break };
            let Some(size) = e.size else { break };
            match e.id {
                PIXEL_WIDTH => w = uint(src, e.data, Some(size)),
                PIXEL_HEIGHT => h = uint(src, e.data, Some(size)),
                _ => {}
            }
            match e.data.checked_add(size) {
                Some(k) if k > pos => pos = k,
                _ => break,
            }
        }
        let w = w.and_then(|v| u32::try_from(v).ok()).filter(|&v| v > 0);
        let h = h.and_then(|v| u32::try_from(v).ok()).filter(|&v| v > 0);
        if let (Some(w), Some(h), None) = (w, h, st.width) {
            st.width = Some(w);
            st.height = Some(h);
        }
    }

    /// EBML unsigned integer: 0–8 bytes big-endian (0 bytes means 0).
    fn uint<R: Read + Seek>(src: &mut Src<R>, pos: u64, size: Option<u64>) -> Option<u64> {
        let n = usize::try_from(size?).ok().filter(|&n| n <= 8)?;
        let mut b = [0u8; 8];
        src.read_exact_at(pos, &mut b[..n])?;
        be(&b, 0, n)
    }

    /// EBML float: 4 or 8 bytes IEEE 754 big-endian (0 bytes means 0.0).
    fn float<R: Read + Seek>(src: &mut Src<R>, pos: u64, size: Option<u64>) -> Option<f64> {
        match size? {
            0 => Some(0.0),
            4 => {
                let bits = u32::try_from(uint(src, pos, Some(4))?).ok()?;
                Some(f64::from(f32::from_bits(bits)))
            }
            8 => Some(f64::from_bits(uint(src, pos, Some(8))?)),
            _ => None,
        }
    }
}

/// Ogg with an Opus or Vorbis first stream.
mod ogg {
    use super::{CHUNK, Probe, Read, Seek, Src, le, to_ms};

    /// How far back from EOF to look for the last page. A page is at most
    /// 65,307 bytes, so the last page always starts inside this window.
    const TAIL_WINDOW: u64 = 64 * 1024 + 512;
    /// Fixed header bytes before the lacing table.
    const FIXED: usize = 27;

    /// The fields of a page header we use. `first_packet` is the length of
    /// the first packet
    /// (saturating at the page end when it continues on the next page).
    struct Page {
        granule: u64,
        serial: u32,
        header_len: u64,
        first_packet: u64,
    }

    /// The stream's codec, as learned from its first packet.
    enum Codec {
        /// Opus: granule is always at 48 kHz; pre-skip samples are dropped.
        Opus { pre_skip: u64 },
        /// Vorbis: granule is in samples at the stream's rate.
        Vorbis { rate: u64 },
    }

    /// Reads the first page (must be at offset 0), identifies the codec from
    /// its first packet, then finds the last page of the same stream.
    pub(super) fn probe<R: Read + Seek>(src: &mut Src<R>) -> Probe {
        let duration_ms = (|| {
            let first = page(src, 0)?;
            let codec = codec(src, &first)?;
            let granule = last_granule(src, first.serial)?;
            match codec {
                Codec::Opus { pre_skip } => to_ms(granule.checked_sub(pre_skip)?, 48_000),
                Codec::Vorbis { rate } => to_ms(granule, rate),
            }
        })();
        Probe {
            duration_ms,
            ..Probe::default()
        }
    }

    /// Parses and CRC-checks the page at `pos`. The CRC check is what lets
    /// the backward scan trust an "OggS" it found inside packet data.
    fn page<R: Read + Seek>(src: &mut Src<R>, pos: u64) -> Option<Page> {
        let mut h = [0u8; FIXED + 255];
        let n = src.read_at(pos, &mut h);
        let h = h.get(..n)?;
        if h.get(..5)? != b"OggS\0" {
            return None;
        }
        let nsegs = usize::from(*h.get(26)?);
        let lacing = h.get(FIXED..FIXED + nsegs)?;
        let body_len: u64 = lacing.iter().map(|&l| u64::from(l)).sum();
        let first_packet = lacing.iter().position(|&l| l < 255).map_or(body_len, |i| {
            lacing.iter().take(i + 1).map(|&l| u64::from(l)).sum()
        });
        let header_len = u64::try_from(FIXED + nsegs).ok()?;
        let pg = Page {
            granule: le(h, 6, 8)?,
            serial: u32::try_from(le(h, 14, 4)?).ok()?,
            header_len,
            first_packet,
        };
        let stored = u32::try_from(le(h, 22, 4)?).ok()?;
        (crc_of_page(src, pos, h.get(..FIXED + nsegs)?, body_len)? == stored).then_some(pg)
    }

    /// CRC-32 of a page as Ogg defines it (CRC field taken as zero), the
    /// body streamed through a stack buffer.
    fn crc_of_page<R: Read + Seek>(
        src: &mut Src<R>,
        pos: u64,
        header: &[u8],
        body_len: u64,
    ) -> Option<u32> {
        let mut crc = 0u32;
        for (i, &b) in header.iter().enumerate() {
            crc = crc_step(crc, if (22..26).contains(&i) { 0 } else { b });
        }
        let mut at = pos.checked_add(u64::try_from(header.len()).ok()?)?;
        let end = at.checked_add(body_len)?;
        let mut buf = [0u8; CHUNK];
        while at < end {
            let want = usize::try_from(end - at).unwrap_or(CHUNK).min(CHUNK);
            let chunk = buf.get_mut(..want)?;
            src.read_exact_at(at, chunk)?;
            crc = chunk.iter().fold(crc, |c, &b| crc_step(c, b));
            at += want as u64;
        }
        Some(crc)
    }

    /// Ogg's CRC-32: polynomial 0x04C11DB7, MSB-first, no reflection, initial
    /// value 0, no final xor.
    fn crc_step(crc: u32, byte: u8) -> u32 {
        (crc << 8) ^ CRC_TABLE[usize::from(((crc >> 24) as u8) ^ byte)]
    }

    /// Exposes [`crc_step`] to the tests, which check it bit by bit.
    #[cfg(test)]
    pub(super) fn crc_step_for_test(crc: u32, byte: u8) -> u32 {
        crc_step(crc, byte)
    }

    /// Byte-wise lookup table for [`crc_step`], built at compile time.
    const CRC_TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut r = (i as u32) << 24;
            let mut k = 0;
            while k < 8 {
                r = if r & 0x8000_0000 != 0 {
                    (r << 1) ^ 0x04C1_1DB7
                } else {
                    r << 1
                };
                k += 1;
            }
            t[i] = r;
            i += 1;
        }
        t
    };

    /// Identifies Opus (`OpusHead`, 19 bytes) or Vorbis (`\x01vorbis`
    /// identification header, 30 bytes) from the first packet.
    fn codec<R: Read + Seek>(src: &mut Src<R>, first: &Page) -> Option<Codec> {
        let mut b = [0u8; 30];
        let avail = usize::try_from(first.first_packet)
            .unwrap_or(usize::MAX)
            .min(b.len());
        let n = src.read_at(first.header_len, &mut b[..avail]);
        let b = b.get(..n)?;
        if b.starts_with(b"OpusHead") && n >= 19 {
            return Some(Codec::Opus {
                pre_skip: le(b, 10, 2)?,
            });
        }
        if b.starts_with(b"\x01vorbis") && n >= 30 && le(b, 7, 4)? == 0 {
            return Some(Codec::Vorbis {
                rate: le(b, 12, 4)?,
            });
        }
        None
    }

    /// Scans the tail window backwards, in stack-sized chunks, for the last
    /// valid page of `serial` that ends a packet (granule != -1).
    fn last_granule<R: Read + Seek>(src: &mut Src<R>, serial: u32) -> Option<u64> {
        let floor = src.len.saturating_sub(TAIL_WINDOW);
        let mut buf = [0u8; CHUNK];
        let step = (CHUNK - 3) as u64;
        let mut chunk_end = src.len;
        while chunk_end > floor {
            // Candidate starts in [cs, chunk_end); read 3 more bytes so a
            // capture pattern straddling chunks is still seen.
            let cs = chunk_end.saturating_sub(step).max(floor);
            let want = usize::try_from(chunk_end - cs + 3)
                .unwrap_or(CHUNK)
                .min(CHUNK);
            let n = src.read_at(cs, &mut buf[..want]);
            let hits = buf.get(..n).unwrap_or(&[]);
            for i in (0..n.saturating_sub(3)).rev() {
                if hits.get(i..i + 4) == Some(b"OggS") && quick_match(hits, i, serial) {
                    let pg = page(src, cs + i as u64).filter(|p| p.serial == serial);
                    if let Some(g) = pg.map(|p| p.granule).filter(|&g| g <= i64::MAX as u64) {
                        return Some(g);
                    }
                }
            }
            if src.budget == 0 {
                return None;
            }
            chunk_end = cs;
        }
        None
    }

    /// Cheap pre-filter on bytes already in the buffer (version 0, serial)
    /// so that hostile "OggSOggS…" tails do not cost a read per match.
    fn quick_match(b: &[u8], i: usize, serial: u32) -> bool {
        let version_ok = b.get(i + 4).is_none_or(|&v| v == 0);
        let serial_ok = le(b, i + 14, 4).is_none_or(|s| s == u64::from(serial));
        version_ok && serial_ok
    }
}

/// MPEG-1/2/2.5 Layer III.
mod mp3 {
    use super::{CHUNK, Probe, Read, Seek, Src, be, to_ms};

    /// How far past the ID3v2 tag to look for the first frame sync.
    const SYNC_WINDOW: u64 = 64 * 1024;
    /// ID3v1 tag size at the end of the file.
    const ID3V1: u64 = 128;

    /// A decoded Layer III frame header.
    #[derive(Clone, Copy)]
    struct Frame {
        mpeg1: bool,
        mono: bool,
        kbps: u64,
        rate: u64,
        samples: u64,
        len: u64,
    }

    /// Duration from a Xing/Info or VBRI header if the first frame has
    /// one, else a constant-bitrate estimate from the audio byte count.
    pub(super) fn probe<R: Read + Seek>(src: &mut Src<R>) -> Probe {
        let duration_ms = (|| {
            let start = skip_id3v2(src);
            let (pos, f) = first_frame(src, start)?;
            match vbr_frames(src, pos, f) {
                VbrInfo::Frames { frames, trim } => {
                    let samples = frames.checked_mul(f.samples)?;
                    // Only trim when it leaves audio: a bogus tag must not zero it.
                    let samples = samples
                        .checked_sub(trim)
                        .filter(|&s| s > 0)
                        .unwrap_or(samples);
                    to_ms(samples, f.rate)
                }
                VbrInfo::NoCount => None,
                VbrInfo::Absent => cbr_estimate(src, pos, f),
            }
        })();
        Probe {
            duration_ms,
            ..Probe::default()
        }
    }

    /// Decodes a 4-byte header; None unless it is a valid Layer III frame
    /// (free-format and reserved values rejected: no way to size them).
    fn parse(h: &[u8]) -> Option<Frame> {
        const KBPS_V1: [u64; 15] = [
            0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
        ];
        const KBPS_V2: [u64; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
        let (b0, b1, b2, b3) = (*h.first()?, *h.get(1)?, *h.get(2)?, *h.get(3)?);
        if b0 != 0xFF || b1 & 0xE0 != 0xE0 || (b1 >> 1) & 3 != 1 {
            return None;
        }
        let version = (b1 >> 3) & 3; // 0 = 2.5, 1 = reserved, 2 = 2, 3 = 1
        let mpeg1 = version == 3;
        let br_idx = usize::from(b2 >> 4);
        let rates: [u64; 3] = match version {
            3 => [44_100, 48_000, 32_000],
            2 => [22_050, 24_000, 16_000],
            0 => [11_025, 12_000, 8_000],
            _ => return None,
        };
        let rate = *rates.get(usize::from((b2 >> 2) & 3))?;
        let kbps = *if mpeg1 { &KBPS_V1 } else { &KBPS_V2 }
            .get(br_idx)
            .filter(|&&k| k > 0)?;
        let samples = if mpeg1 { 1152 } else { 576 };
        let len = samples / 8 * kbps * 1000 / rate + u64::from((b2 >> 1) & 1);
        let mono = b3 >> 6 == 3;
        Some(Frame {
            mpeg1,
            mono,
            kbps,
            rate,
            samples,
            len,
        })
    }

    /// Skips any ID3v2 tags (there may be several back to back). Their size
    /// is synchsafe: 4 bytes of 7 bits; a byte ≥ 0x80 means it is not a tag.
    fn skip_id3v2<R: Read + Seek>(src: &mut Src<R>) -> u64 {
        let mut pos = 0u64;
        for _ in 0..4 {
            let mut h = [0u8; 10];
            if src.read_exact_at(pos, &mut h).is_none()
                || &h[..3] != b"ID3"
                || h[6..].iter().any(|&b| b >= 0x80)
            {
                break;
            }
            let size = h[6..]
                .iter()
                .fold(0u64, |acc, &b| (acc << 7) | u64::from(b));
            let footer = if h[5] & 0x10 != 0 { 10 } else { 0 };
            pos = pos.saturating_add(10 + size + footer);
        }
        pos
    }

    /// Finds the first frame at or after `start`, within a bounded window.
    /// A candidate away from `start` must be followed by another frame
    /// header (or EOF / ID3v1) so that a stray 0xFFE in junk is not taken.
    fn first_frame<R: Read + Seek>(src: &mut Src<R>, start: u64) -> Option<(u64, Frame)> {
        let end = start.saturating_add(SYNC_WINDOW).min(src.len);
        let mut buf = [0u8; CHUNK];
        let mut cs = start;
        while cs < end {
            let n = src.read_at(cs, &mut buf);
            if n < 4 {
                return None;
            }
            for i in 0..n - 3 {
                let Some(f) = buf.get(i..i + 4).and_then(parse) else {
                    continue;
                };
                let pos = cs + i as u64;
                if pos == start || followed_by_frame(src, pos, f) {
                    return Some((pos, f));
                }
            }
            cs += (n - 3) as u64;
        }
        None
    }

    /// True if the bytes after this frame look like the next frame of the
    /// same stream, an ID3v1 tag, or the end of the file.
    fn followed_by_frame<R: Read + Seek>(src: &mut Src<R>, pos: u64, f: Frame) -> bool {
        let Some(next) = pos.checked_add(f.len) else {
            return false;
        };
        let mut h = [0u8; 4];
        let n = src.read_at(next, &mut h);
        n < 4
            || h.starts_with(b"TAG")
            || parse(&h).is_some_and(|g| g.rate == f.rate && g.mpeg1 == f.mpeg1)
    }

    /// Outcome of looking for a VBR header in the first frame.
    enum VbrInfo {
        /// Audio frames (the tag frame excluded) and gapless trim: encoder
        /// delay + padding samples from a LAME-style extension, else 0.
        Frames {
            frames: u64,
            trim: u64,
        },
        /// A Xing (VBR) header without a frame count: the CBR estimate
        /// would be wrong, so the duration is unknown.
        NoCount,
        Absent,
    }

    /// Xing/Info sits after the side info (17/32 bytes for MPEG-1
    /// mono/stereo, 9/17 for MPEG-2/2.5); VBRI always 32 bytes in.
    fn vbr_frames<R: Read + Seek>(src: &mut Src<R>, pos: u64, f: Frame) -> VbrInfo {
        let side = match (f.mpeg1, f.mono) {
            (true, false) => 32,
            (true, true) | (false, false) => 17,
            (false, true) => 9,
        };
        let mut x = [0u8; 12];
        if src
            .read_exact_at(pos.saturating_add(4 + side), &mut x)
            .is_some()
        {
            let tag = &x[..4];
            if tag == b"Xing" || tag == b"Info" {
                let flags = be(&x, 4, 4).unwrap_or(0);
                return match be(&x, 8, 4) {
                    Some(frames) if flags & 1 != 0 => {
                        let trim = lame_trim(src, pos.saturating_add(4 + side), flags);
                        VbrInfo::Frames { frames, trim }
                    }
                    _ if tag == b"Info" => VbrInfo::Absent,
                    _ => VbrInfo::NoCount,
                };
            }
        }
        let mut v = [0u8; 18];
        if src
            .read_exact_at(pos.saturating_add(4 + 32), &mut v)
            .is_some()
            && &v[..4] == b"VBRI"
        {
            return be(&v, 14, 4).map_or(VbrInfo::NoCount, |frames| VbrInfo::Frames {
                frames,
                trim: 0,
            });
        }
        VbrInfo::Absent
    }

    /// The Xing frame count includes the encoder's delay and end padding
    /// (≈ 45 ms at 44.1 kHz for LAME), which the LAME extension after the
    /// Xing fields records (LAME, and ffmpeg's "Lavc"/"Lavf"). Subtracting
    /// them gives the real length, as gapless players do. The extension is
    /// only trusted when its 9-byte encoder string starts with 4 ASCII
    /// alphanumerics; otherwise no trim.
    fn lame_trim<R: Read + Seek>(src: &mut Src<R>, xing: u64, flags: u64) -> u64 {
        let fields = [(1, 4), (2, 4), (4, 100), (8, 4)];
        let skip: u64 = 8 + fields
            .iter()
            .filter(|(bit, _)| flags & bit != 0)
            .map(|(_, n)| n)
            .sum::<u64>();
        let mut t = [0u8; 24];
        if src
            .read_exact_at(xing.saturating_add(skip), &mut t)
            .is_none()
            || !t[..4].iter().all(u8::is_ascii_alphanumeric)
        {
            return 0;
        }
        let v = be(&t, 21, 3).unwrap_or(0);
        (v >> 12) + (v & 0xFFF)
    }

    /// Constant bitrate: audio bytes (after ID3v2, before a trailing ID3v1
    /// "TAG") × 8 / kbps gives milliseconds directly (kbps = bits per ms).
    fn cbr_estimate<R: Read + Seek>(src: &mut Src<R>, pos: u64, f: Frame) -> Option<u64> {
        let mut tag = [0u8; 3];
        let has_v1 = src.len >= ID3V1
            && src.read_exact_at(src.len - ID3V1, &mut tag).is_some()
            && &tag == b"TAG";
        let end = if has_v1 { src.len - ID3V1 } else { src.len };
        let bytes = end.checked_sub(pos)?;
        Some(bytes.checked_mul(8)? / f.kbps)
    }
}

#[cfg(test)]
mod tests;
