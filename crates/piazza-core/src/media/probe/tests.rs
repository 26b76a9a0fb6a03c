use super::*;
use std::io::Cursor;

fn run(c: Container, bytes: &[u8]) -> Probe {
    probe(c, &mut Cursor::new(bytes))
}

fn dur(ms: u64) -> Probe {
    Probe {
        duration_ms: Some(ms),
        ..Probe::default()
    }
}

fn video(w: u32, h: u32, ms: Option<u64>) -> Probe {
    Probe {
        width: Some(w),
        height: Some(h),
        duration_ms: ms,
    }
}

/// xorshift64: deterministic pseudo-random bytes without crates.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A virtual stream of `len` zero bytes that counts the bytes read, to
/// show that a 200 MiB upload is probed by seeking, not by reading it.
struct Zeros {
    len: u64,
    pos: u64,
    read: u64,
}
impl Read for Zeros {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (self.len.saturating_sub(self.pos)).min(buf.len() as u64) as usize;
        buf[..n].fill(0);
        self.pos += n as u64;
        self.read += n as u64;
        Ok(n)
    }
}
impl Seek for Zeros {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.pos = match to {
            SeekFrom::Start(p) => p,
            SeekFrom::End(d) => self.len.saturating_add_signed(d),
            SeekFrom::Current(d) => self.pos.saturating_add_signed(d),
        };
        Ok(self.pos)
    }
}

// ---------- ISO BMFF builders ----------

fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    v.extend_from_slice(kind);
    v.extend_from_slice(body);
    v
}

fn bx_large(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut v = 1u32.to_be_bytes().to_vec();
    v.extend_from_slice(kind);
    v.extend_from_slice(&((body.len() + 16) as u64).to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn mvhd_v0(timescale: u32, duration: u32) -> Vec<u8> {
    let mut b = vec![0u8; 100];
    b[12..16].copy_from_slice(&timescale.to_be_bytes());
    b[16..20].copy_from_slice(&duration.to_be_bytes());
    bx(b"mvhd", &b)
}

fn mvhd_v1(timescale: u32, duration: u64) -> Vec<u8> {
    let mut b = vec![0u8; 112];
    b[0] = 1;
    b[20..24].copy_from_slice(&timescale.to_be_bytes());
    b[24..32].copy_from_slice(&duration.to_be_bytes());
    bx(b"mvhd", &b)
}

fn tkhd(version: u8, w: u32, h: u32) -> Vec<u8> {
    let off = if version == 0 { 76 } else { 88 };
    let mut b = vec![0u8; off + 8];
    b[0] = version;
    b[off..off + 4].copy_from_slice(&(w << 16).to_be_bytes());
    b[off + 4..off + 8].copy_from_slice(&(h << 16).to_be_bytes());
    bx(b"tkhd", &b)
}

fn trak(tkhd_box: Vec<u8>) -> Vec<u8> {
    bx(b"trak", &[tkhd_box, bx(b"mdia", &[0; 16])].concat())
}

fn sample_mp4() -> Vec<u8> {
    let moov = bx(
        b"moov",
        &[
            mvhd_v0(1000, 1000),
            trak(tkhd(0, 0, 0)),
            trak(tkhd(0, 64, 48)),
        ]
        .concat(),
    );
    [bx(b"ftyp", b"isomiso2"), moov, bx(b"mdat", &[7; 300])].concat()
}

#[test]
fn mp4_moov_first() {
    assert_eq!(
        run(Container::Mp4, &sample_mp4()),
        video(64, 48, Some(1000))
    );
}

#[test]
fn mp4_mdat_before_moov_and_largesize() {
    let moov = bx(
        b"moov",
        &[mvhd_v1(48_000, 72_000), trak(tkhd(1, 1920, 1080))].concat(),
    );
    let f = [bx(b"ftyp", b"M4A "), bx_large(b"mdat", &[1; 5000]), moov].concat();
    assert_eq!(run(Container::Mp4, &f), video(1920, 1080, Some(1500)));
}

#[test]
fn mp4_audio_only_and_size_zero_boxes() {
    // moov with size 0 runs to EOF; an audio-only track has no size.
    let mut moov = bx(
        b"moov",
        &[mvhd_v0(44_100, 44_100 * 3), trak(tkhd(0, 0, 0))].concat(),
    );
    moov[..4].copy_from_slice(&[0; 4]);
    let f = [bx(b"ftyp", b"M4A "), moov].concat();
    assert_eq!(run(Container::Mp4, &f), dur(3000));
    // mdat with size 0 after moov is fine too.
    let mut mdat = bx(b"mdat", &[0; 64]);
    mdat[..4].copy_from_slice(&[0; 4]);
    let f = [sample_mp4(), mdat].concat();
    assert_eq!(run(Container::Mp4, &f), video(64, 48, Some(1000)));
}

#[test]
fn mp4_bad_durations() {
    let with = |mvhd: Vec<u8>| run(Container::Mp4, &bx(b"moov", &mvhd)).duration_ms;
    assert_eq!(with(mvhd_v0(0, 1000)), None, "timescale 0");
    assert_eq!(with(mvhd_v0(1000, u32::MAX)), None, "unknown duration");
    assert_eq!(with(mvhd_v1(1000, u64::MAX)), None, "unknown duration v1");
    assert_eq!(with(mvhd_v1(1, u64::MAX - 1)), None, "overflowing ms");
    assert_eq!(
        with(mvhd_v1(1_000_000, u64::MAX - 1)),
        Some((u64::MAX - 1) / 1000)
    );
    assert_eq!(with(bx(b"mvhd", &[0; 10])), None, "truncated mvhd");
    assert_eq!(with(bx(b"mvhd", &[])), None, "empty mvhd");
    let mut v2 = mvhd_v0(1000, 1000);
    v2[8] = 2;
    assert_eq!(with(v2), None, "unknown version");
}

#[test]
fn mp4_fragmented_uses_mehd() {
    let mehd = |v: u8, d: u64| {
        let mut b = vec![v, 0, 0, 0];
        if v == 0 {
            b.extend((d as u32).to_be_bytes())
        } else {
            b.extend(d.to_be_bytes())
        }
        bx(b"mvex", &[bx(b"mehd", &b), bx(b"trex", &[0; 24])].concat())
    };
    let m = bx(
        b"moov",
        &[
            mvhd_v0(90_000, 0),
            trak(tkhd(0, 320, 240)),
            mehd(0, 180_000),
        ]
        .concat(),
    );
    assert_eq!(run(Container::Mp4, &m), video(320, 240, Some(2000)));
    let m = bx(b"moov", &[mvhd_v1(1000, 0), mehd(1, 1500)].concat());
    assert_eq!(run(Container::Mp4, &m), dur(1500));
    // Fragmented without mehd (e.g. live MediaRecorder): no duration.
    let m = bx(
        b"moov",
        &[mvhd_v0(1000, 0), trak(tkhd(0, 320, 240))].concat(),
    );
    assert_eq!(run(Container::Mp4, &m), video(320, 240, None));
    let m = bx(b"moov", &[mvhd_v0(1000, 0), mehd(0, 0)].concat());
    assert_eq!(run(Container::Mp4, &m), Probe::default());
}

#[test]
fn mp4_malformed_sizes() {
    let moov = bx(b"moov", &mvhd_v0(1000, 1000));
    // size 1 with largesize 0 / below 16: must stop, not loop.
    let mut large0 = bx_large(b"free", &[]);
    large0[8..16].copy_from_slice(&0u64.to_be_bytes());
    assert_eq!(
        run(Container::Mp4, &[large0, moov.clone()].concat()),
        Probe::default()
    );
    // size 4 (< header): stop.
    let mut tiny = bx(b"free", &[]);
    tiny[..4].copy_from_slice(&4u32.to_be_bytes());
    assert_eq!(
        run(Container::Mp4, &[tiny, moov.clone()].concat()),
        Probe::default()
    );
    // huge size before moov hides it.
    let mut huge = bx(b"mdat", &[0; 8]);
    huge[..4].copy_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(
        run(Container::Mp4, &[huge, moov.clone()].concat()),
        Probe::default()
    );
    let mut huge64 = bx_large(b"mdat", &[0; 8]);
    huge64[8..16].copy_from_slice(&u64::MAX.to_be_bytes());
    assert_eq!(
        run(Container::Mp4, &[huge64, moov.clone()].concat()),
        Probe::default()
    );
    // tkhd too short for width/height.
    let m = bx(b"moov", &trak(bx(b"tkhd", &[0; 40])));
    assert_eq!(run(Container::Mp4, &m), Probe::default());
    // nothing at all.
    assert_eq!(run(Container::Mp4, &[]), Probe::default());
    assert_eq!(run(Container::Mp4, &[0, 0, 0]), Probe::default());
}

#[test]
fn mp4_truncated_everywhere() {
    let f = sample_mp4();
    for cut in 0..f.len() {
        let p = run(Container::Mp4, &f[..cut]);
        assert!(p.width.is_none() || p == video(64, 48, Some(1000)) || p.duration_ms == Some(1000));
    }
}

// ---------- EBML builders ----------

fn ebml_id(id: u32) -> Vec<u8> {
    let b = id.to_be_bytes();
    let skip = b.iter().position(|&x| x != 0).unwrap_or(3);
    b[skip..].to_vec()
}

/// 8-byte size vint, as some muxers write; tests the long form.
fn ebml_size(n: u64) -> Vec<u8> {
    let mut v = (n | (1u64 << 56)).to_be_bytes().to_vec();
    v[0] = 0x01;
    v
}

fn el(id: u32, body: &[u8]) -> Vec<u8> {
    [ebml_id(id), ebml_size(body.len() as u64), body.to_vec()].concat()
}

/// Element with the 1-byte size form.
fn el1(id: u32, body: &[u8]) -> Vec<u8> {
    assert!(body.len() < 127);
    [ebml_id(id), vec![0x80 | body.len() as u8], body.to_vec()].concat()
}

fn el_unknown(id: u32, body: &[u8]) -> Vec<u8> {
    [
        ebml_id(id),
        vec![0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
        body.to_vec(),
    ]
    .concat()
}

fn uint_el(id: u32, v: u64) -> Vec<u8> {
    let b = v.to_be_bytes();
    let skip = b.iter().position(|&x| x != 0).unwrap_or(7);
    el1(id, &b[skip..])
}

fn ebml_header() -> Vec<u8> {
    el(
        0x1A45_DFA3,
        &[el1(0x4286, &[1]), el1(0x4282, b"webm")].concat(),
    )
}

fn info(scale: Option<u64>, duration: Option<Vec<u8>>) -> Vec<u8> {
    let mut b = Vec::new();
    if let Some(s) = scale {
        b.extend(uint_el(0x2A_D7B1, s));
    }
    if let Some(d) = duration {
        b.extend(el1(0x4489, &d));
    }
    b.extend(el1(0x4D80, b"test"));
    el(0x1549_A966, &b)
}

fn track(kind: u64, w: u64, h: u64) -> Vec<u8> {
    let mut b = [uint_el(0xD7, 1), uint_el(0x83, kind)].concat();
    if kind == 1 {
        b.extend(el(0xE0, &[uint_el(0xB0, w), uint_el(0xBA, h)].concat()));
    } else {
        b.extend(el(0xE1, &uint_el(0xB5, 48_000)));
    }
    el1(0xAE, &b)
}

fn cluster() -> Vec<u8> {
    el_unknown(
        0x1F43_B675,
        &[uint_el(0xE7, 0), el1(0xA3, &[0x81, 0, 0, 0x80, 1, 2])].concat(),
    )
}

fn sample_webm(segment_unknown: bool, dur: Option<Vec<u8>>) -> Vec<u8> {
    let tracks = el(0x1654_AE6B, &[track(2, 0, 0), track(1, 640, 360)].concat());
    let body = [el(0xEC, &[0; 20]), info(None, dur), tracks, cluster()].concat();
    let seg = if segment_unknown {
        el_unknown(0x1853_8067, &body)
    } else {
        el(0x1853_8067, &body)
    };
    [ebml_header(), seg].concat()
}

#[test]
fn webm_known_sizes_with_duration() {
    let f = sample_webm(false, Some(1234.0f64.to_be_bytes().to_vec()));
    assert_eq!(run(Container::WebM, &f), video(640, 360, Some(1234)));
    let f = sample_webm(false, Some(1000.5f32.to_be_bytes().to_vec()));
    assert_eq!(run(Container::WebM, &f), video(640, 360, Some(1001)));
}

#[test]
fn webm_timecode_scale_after_duration() {
    // Duration 2.5 ticks of 1 s each, scale written after Duration.
    let info_el = el(
        0x1549_A966,
        &[
            el1(0x4489, &2.5f64.to_be_bytes()),
            uint_el(0x2A_D7B1, 1_000_000_000),
        ]
        .concat(),
    );
    let f = [ebml_header(), el(0x1853_8067, &info_el)].concat();
    assert_eq!(run(Container::WebM, &f), dur(2500));
    let zero_scale = el(
        0x1549_A966,
        &[el1(0x4489, &2.5f64.to_be_bytes()), uint_el(0x2A_D7B1, 0)].concat(),
    );
    let f = [ebml_header(), el(0x1853_8067, &zero_scale)].concat();
    assert_eq!(run(Container::WebM, &f), Probe::default());
}

#[test]
fn webm_media_recorder_style() {
    // Unknown-size Segment and Cluster, and no Duration: size only.
    let f = sample_webm(true, None);
    assert_eq!(run(Container::WebM, &f), video(640, 360, None));
}

#[test]
fn webm_nested_unknown_sizes_and_cluster_stop() {
    // Unknown-size Info containing (by the unknown-size rule) Tracks.
    let tracks = el(0x1654_AE6B, &track(1, 32, 16));
    let info_unknown = el_unknown(
        0x1549_A966,
        &[el1(0x4489, &500.0f64.to_be_bytes()), tracks.clone()].concat(),
    );
    let f = [ebml_header(), el_unknown(0x1853_8067, &info_unknown)].concat();
    assert_eq!(run(Container::WebM, &f), video(32, 16, Some(500)));
    // Tracks after the first Cluster are not looked at.
    let body = [
        info(None, Some(9.0f64.to_be_bytes().to_vec())),
        cluster(),
        tracks,
    ]
    .concat();
    let f = [ebml_header(), el_unknown(0x1853_8067, &body)].concat();
    assert_eq!(run(Container::WebM, &f), dur(9));
    // Deeply nested unknown-size Segments: bounded recursion.
    let mut nest = info(None, Some(7.0f64.to_be_bytes().to_vec()));
    for _ in 0..200 {
        nest = el_unknown(0x1853_8067, &nest);
    }
    assert_eq!(
        run(Container::WebM, &[ebml_header(), nest].concat()),
        Probe::default()
    );
}

#[test]
fn webm_malformed() {
    let good = sample_webm(false, Some(1234.0f64.to_be_bytes().to_vec()));
    assert_eq!(
        run(Container::WebM, &good[4..]),
        Probe::default(),
        "no EBML magic"
    );
    assert_eq!(run(Container::WebM, &[]), Probe::default());
    assert_eq!(
        run(Container::WebM, &[0x1A, 0x45, 0xDF, 0xA3, 0x00]),
        Probe::default(),
        "9-byte vint"
    );
    // Segment claiming a huge size: still read as far as the file goes.
    let mut f = ebml_header();
    let hl = f.len();
    f.extend(el(
        0x1853_8067,
        &info(None, Some(5.0f64.to_be_bytes().to_vec())),
    ));
    f[hl + 5..hl + 12].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE]);
    assert_eq!(run(Container::WebM, &f), dur(5));
    // Void with a huge size before Info hides it.
    let mut void = el(0xEC, &[0; 4]);
    void[1..9].copy_from_slice(&[0x01, 0x7F, 0, 0, 0, 0, 0, 0]);
    let seg = el_unknown(
        0x1853_8067,
        &[void, info(None, Some(5.0f64.to_be_bytes().to_vec()))].concat(),
    );
    assert_eq!(
        run(Container::WebM, &[ebml_header(), seg].concat()),
        Probe::default()
    );
    for cut in 0..good.len() {
        run(Container::WebM, &good[..cut]);
    }
}

#[test]
fn webm_bad_leaves() {
    // Bad float sizes, NaN, negative and absurd durations.
    for d in [
        vec![0u8; 3],
        f64::NAN.to_be_bytes().to_vec(),
        (-5.0f64).to_be_bytes().to_vec(),
        1e300f64.to_be_bytes().to_vec(),
    ] {
        let f = [ebml_header(), el(0x1853_8067, &info(None, Some(d)))].concat();
        assert_eq!(run(Container::WebM, &f).duration_ms, None);
    }
    // PixelWidth wider than 8 bytes, and zero sizes.
    let v = el(0xE0, &[el1(0xB0, &[1; 9]), uint_el(0xBA, 5)].concat());
    let f = [
        ebml_header(),
        el(0x1853_8067, &el(0x1654_AE6B, &el(0xAE, &v))),
    ]
    .concat();
    assert_eq!(run(Container::WebM, &f), Probe::default());
    let f = [
        ebml_header(),
        el(0x1853_8067, &el(0x1654_AE6B, &track(1, 0, 10))),
    ]
    .concat();
    assert_eq!(run(Container::WebM, &f), Probe::default());
}

// ---------- Ogg builders ----------

/// Builds one page with a correct CRC (the reader verifies it).
fn ogg_page(flags: u8, granule: i64, serial: u32, seq: u32, packets: &[&[u8]]) -> Vec<u8> {
    let mut lacing = Vec::new();
    for p in packets {
        lacing.extend(std::iter::repeat_n(255u8, p.len() / 255));
        lacing.push((p.len() % 255) as u8);
    }
    let mut v = b"OggS\0".to_vec();
    v.push(flags);
    v.extend(granule.to_le_bytes());
    v.extend(serial.to_le_bytes());
    v.extend(seq.to_le_bytes());
    v.extend([0; 4]);
    v.push(lacing.len() as u8);
    v.extend(lacing);
    for p in packets {
        v.extend_from_slice(p);
    }
    let crc = v.iter().fold(0u32, |c, &b| ogg_crc_bitwise(c, b));
    v[22..26].copy_from_slice(&crc.to_le_bytes());
    v
}

/// Independent bit-by-bit CRC to cross-check the reader's table.
fn ogg_crc_bitwise(mut crc: u32, byte: u8) -> u32 {
    crc ^= u32::from(byte) << 24;
    for _ in 0..8 {
        crc = if crc & 0x8000_0000 != 0 {
            (crc << 1) ^ 0x04C1_1DB7
        } else {
            crc << 1
        };
    }
    crc
}

fn opus_head(pre_skip: u16) -> Vec<u8> {
    let mut h = b"OpusHead".to_vec();
    h.extend([1, 2]);
    h.extend(pre_skip.to_le_bytes());
    h.extend(48_000u32.to_le_bytes());
    h.extend([0, 0, 0]);
    h
}

fn vorbis_id(rate: u32) -> Vec<u8> {
    let mut h = b"\x01vorbis".to_vec();
    h.extend(0u32.to_le_bytes());
    h.push(2);
    h.extend(rate.to_le_bytes());
    h.extend([0; 12]);
    h.extend([0xB8, 1]);
    h
}

fn sample_opus(serial: u32, last_granule: i64) -> Vec<u8> {
    let big = vec![0x55u8; 700];
    [
        ogg_page(2, 0, serial, 0, &[&opus_head(312)]),
        ogg_page(0, 0, serial, 1, &[b"OpusTags\0\0\0\0\0\0\0\0"]),
        ogg_page(0, 24_000, serial, 2, &[&big, &[1; 30]]),
        ogg_page(4, last_granule, serial, 3, &[&[2; 40]]),
    ]
    .concat()
}

#[test]
fn ogg_crc_table_matches_bitwise() {
    for b in 0..=255u8 {
        assert_eq!(
            ogg::crc_step_for_test(0x1234_5678, b),
            ogg_crc_bitwise(0x1234_5678, b)
        );
    }
}

#[test]
fn ogg_opus_and_vorbis() {
    assert_eq!(
        run(Container::Ogg, &sample_opus(7, 48_000 + 312)),
        dur(1000)
    );
    let f = [
        ogg_page(2, 0, 9, 0, &[&vorbis_id(44_100)]),
        ogg_page(0, 22_050, 9, 1, &[&[3; 100]]),
        ogg_page(4, 88_200, 9, 2, &[&[3; 100]]),
    ]
    .concat();
    assert_eq!(run(Container::Ogg, &f), dur(2000));
}

#[test]
fn ogg_last_page_selection() {
    let base = sample_opus(7, 96_312);
    // Another stream's page last: ignored.
    let f = [base.clone(), ogg_page(4, 999_999, 8, 0, &[&[1; 10]])].concat();
    assert_eq!(run(Container::Ogg, &f), dur(2000));
    // A trailing page with granule -1 (no packet ends): ignored.
    let f = [base.clone(), ogg_page(0, -1, 7, 4, &[&[1; 255]])].concat();
    assert_eq!(run(Container::Ogg, &f), dur(2000));
    // Corrupt CRC on the last page: falls back to the one before.
    let mut f = base.clone();
    let n = f.len();
    f[n - 1] ^= 0xFF;
    assert_eq!(run(Container::Ogg, &f), dur((24_000 - 312) / 48));
    // Truncated last page: same.
    assert_eq!(
        run(Container::Ogg, &base[..base.len() - 5]),
        dur((24_000 - 312) / 48)
    );
    // "OggS" inside packet data after the real last page's start.
    let fake = [
        b"OggS\0\0".as_slice(),
        &[0xFF; 8],
        &7u32.to_le_bytes(),
        &[0; 9],
    ]
    .concat();
    let f = [sample_opus(7, 96_312), ogg_page(4, 144_312, 7, 4, &[&fake])].concat();
    assert_eq!(run(Container::Ogg, &f), dur(3000));
    // Last page more than the window from the end: not found.
    let pad = vec![0u8; 70_000];
    assert_eq!(run(Container::Ogg, &[base, pad].concat()), Probe::default());
}

#[test]
fn ogg_malformed() {
    assert_eq!(run(Container::Ogg, &[]), Probe::default());
    assert_eq!(run(Container::Ogg, b"OggS"), Probe::default());
    // Granule below pre-skip.
    assert_eq!(run(Container::Ogg, &sample_opus(7, 100)), Probe::default());
    // Vorbis with rate 0.
    let f = [
        ogg_page(2, 0, 9, 0, &[&vorbis_id(0)]),
        ogg_page(4, 100, 9, 1, &[&[3; 10]]),
    ]
    .concat();
    assert_eq!(run(Container::Ogg, &f), Probe::default());
    // Unknown codec (e.g. Theora/FLAC).
    let f = [
        ogg_page(2, 0, 9, 0, &[b"\x80theora_____________"]),
        ogg_page(4, 100, 9, 1, &[&[3; 10]]),
    ]
    .concat();
    assert_eq!(run(Container::Ogg, &f), Probe::default());
    // First page with a bad CRC.
    let mut f = sample_opus(7, 48_312);
    f[30] ^= 1;
    assert_eq!(run(Container::Ogg, &f), Probe::default());
    // OpusHead cut short by the lacing value.
    let f = [
        ogg_page(2, 0, 7, 0, &[&opus_head(312)[..10]]),
        ogg_page(4, 48_312, 7, 1, &[&[1; 3]]),
    ]
    .concat();
    assert_eq!(run(Container::Ogg, &f), Probe::default());
    // Hostile tail full of capture patterns.
    let tail: Vec<u8> = b"OggS\0".iter().copied().cycle().take(100_000).collect();
    run(Container::Ogg, &[sample_opus(7, 48_312), tail].concat());
    let good = sample_opus(7, 48_312);
    for cut in 0..good.len() {
        run(Container::Ogg, &good[..cut]);
    }
}

// ---------- MP3 builders ----------

/// MPEG-1 Layer III, 128 kbps, 44.1 kHz, stereo: 417-byte frames.
const MP3_V1_128: [u8; 4] = [0xFF, 0xFB, 0x90, 0x00];
/// MPEG-2 Layer III, 64 kbps, 22.05 kHz, mono: 208-byte frames.
const MP3_V2_64_MONO: [u8; 4] = [0xFF, 0xF3, 0x80, 0xC0];

fn mp3_frame(h: [u8; 4], len: usize, extra: Option<(usize, &[u8])>) -> Vec<u8> {
    let mut f = vec![0u8; len];
    f[..4].copy_from_slice(&h);
    if let Some((off, bytes)) = extra {
        f[off..off + bytes.len()].copy_from_slice(bytes);
    }
    f
}

fn id3v2(size: usize) -> Vec<u8> {
    let s = size as u32;
    let mut v = b"ID3\x04\x00\x00".to_vec();
    v.extend([
        (s >> 21) as u8 & 0x7F,
        (s >> 14) as u8 & 0x7F,
        (s >> 7) as u8 & 0x7F,
        s as u8 & 0x7F,
    ]);
    v.extend(vec![0u8; size]);
    v
}

fn id3v1() -> Vec<u8> {
    let mut v = b"TAG".to_vec();
    v.resize(128, b' ');
    v
}

fn xing(tag: &[u8; 4], flags: u32, frames: u32) -> Vec<u8> {
    [tag.as_slice(), &flags.to_be_bytes(), &frames.to_be_bytes()].concat()
}

#[test]
fn mp3_cbr_estimate() {
    let frames: Vec<u8> = (0..38)
        .flat_map(|_| mp3_frame(MP3_V1_128, 417, None))
        .collect();
    // 38 × 417 bytes × 8 / 128 kbps = 990 ms, with or without tags.
    assert_eq!(run(Container::Mp3, &frames), dur(990));
    let f = [id3v2(300), frames.clone(), id3v1()].concat();
    assert_eq!(run(Container::Mp3, &f), dur(990));
    // Junk between the tag and the first frame is skipped.
    let f = [id3v2(10), vec![0xFF, 0x00, 0x12], frames].concat();
    assert_eq!(run(Container::Mp3, &f), dur(990));
}

#[test]
fn mp3_xing_info_vbri() {
    let rest: Vec<u8> = (0..3)
        .flat_map(|_| mp3_frame(MP3_V1_128, 417, None))
        .collect();
    let x = xing(b"Xing", 1, 100);
    let f = [mp3_frame(MP3_V1_128, 417, Some((36, &x))), rest.clone()].concat();
    assert_eq!(run(Container::Mp3, &f), dur(100 * 1152 * 1000 / 44_100));
    // MPEG-2 mono: side info is 9 bytes; 576 samples per frame.
    let x = xing(b"Info", 3, 50);
    let f = [
        mp3_frame(MP3_V2_64_MONO, 208, Some((13, &x))),
        mp3_frame(MP3_V2_64_MONO, 208, None),
    ]
    .concat();
    assert_eq!(run(Container::Mp3, &f), dur(50 * 576 * 1000 / 22_050));
    // VBRI: frame count 14 bytes into the header, 32 bytes after the frame header.
    let mut v = b"VBRI".to_vec();
    v.extend([0, 1, 0, 0, 0, 0x4B, 0, 0, 0x10, 0, 0, 0, 0, 200]);
    let f = [mp3_frame(MP3_V1_128, 417, Some((36, &v))), rest.clone()].concat();
    assert_eq!(run(Container::Mp3, &f), dur(200 * 1152 * 1000 / 44_100));
    // Xing without a frame count: VBR, unknown duration.
    let x = xing(b"Xing", 0, 0);
    let f = [mp3_frame(MP3_V1_128, 417, Some((36, &x))), rest.clone()].concat();
    assert_eq!(run(Container::Mp3, &f), Probe::default());
    // Info without a frame count: CBR estimate over all 4 frames.
    let x = xing(b"Info", 0, 0);
    let f = [mp3_frame(MP3_V1_128, 417, Some((36, &x))), rest].concat();
    assert_eq!(run(Container::Mp3, &f), dur(4 * 417 * 8 / 128));
}

#[test]
fn mp3_lame_gapless_trim() {
    // Info with frames+bytes+TOC+quality, then a LAME extension whose
    // bytes 21..24 hold delay 576 and padding 1404 (as LAME writes).
    let mut x = xing(b"Info", 0x0F, 40);
    x.extend([0u8; 4 + 100 + 4]);
    let mut lame = b"LAME3.100".to_vec();
    lame.resize(21, 0);
    lame.extend([0x24, 0x05, 0x7C]);
    x.extend(&lame);
    let f = [
        mp3_frame(MP3_V1_128, 417, Some((36, &x))),
        mp3_frame(MP3_V1_128, 417, None),
    ]
    .concat();
    assert_eq!(run(Container::Mp3, &f), dur(1000));
    // Non-text encoder string: no trim.
    let at = 36 + 8 + 108 + 4;
    let mut g = f.clone();
    g[at] = 0;
    assert_eq!(run(Container::Mp3, &g), dur(40 * 1152 * 1000 / 44_100));
    // Trim larger than the audio: ignored rather than giving 0.
    let mut g = f;
    g[at + 21..at + 24].copy_from_slice(&[0xFF; 3]);
    let x = xing(b"Info", 0x0F, 1);
    g[36..48].copy_from_slice(&x);
    assert_eq!(run(Container::Mp3, &g), dur(1152 * 1000 / 44_100));
}

#[test]
fn mp3_malformed() {
    assert_eq!(run(Container::Mp3, &[]), Probe::default());
    assert_eq!(run(Container::Mp3, &[0xFF, 0xFB]), Probe::default());
    // ID3v2 size pointing past the end.
    let mut tag = id3v2(0);
    tag[6..10].copy_from_slice(&[0x7F; 4]);
    let f = [tag, mp3_frame(MP3_V1_128, 417, None)].concat();
    assert_eq!(run(Container::Mp3, &f), Probe::default());
    // Non-synchsafe size bytes: not a tag, and no frame either.
    let mut tag = id3v2(4);
    tag[9] = 0x80;
    assert_eq!(run(Container::Mp3, &tag), Probe::default());
    // Reserved version, Layer I/II, free-format and bad bitrate/rate indexes.
    for h in [
        [0xFF, 0xEB, 0x90, 0],
        [0xFF, 0xFD, 0x90, 0],
        [0xFF, 0xFB, 0x00, 0],
        [0xFF, 0xFB, 0xF0, 0],
        [0xFF, 0xFB, 0x9C, 0],
    ] {
        let f: Vec<u8> = (0..4).flat_map(|_| mp3_frame(h, 417, None)).collect();
        assert_eq!(run(Container::Mp3, &f), Probe::default(), "{h:?}");
    }
    // Xing frame count overflowing the millisecond computation.
    let x = xing(b"Xing", 1, u32::MAX);
    let f = mp3_frame(MP3_V1_128, 417, Some((36, &x)));
    assert_eq!(
        run(Container::Mp3, &f),
        dur(u64::from(u32::MAX) * 1152 * 1000 / 44_100)
    );
    // Random junk with no sync: None.
    assert_eq!(run(Container::Mp3, &[0x42; 100_000]), Probe::default());
}

// ---------- all containers ----------

const ALL: [Container; 4] = [
    Container::Mp4,
    Container::WebM,
    Container::Ogg,
    Container::Mp3,
];

/// Iterations per container for the fuzz loops; raise with
/// `PROBE_FUZZ_ITERS=1000000 cargo test --release` for a longer run.
fn fuzz_iters() -> usize {
    std::env::var("PROBE_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for c in ALL {
        for _ in 0..fuzz_iters() {
            let len = rng.below(600);
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            run(c, &bytes);
        }
    }
}

#[test]
fn mutated_samples_never_panic() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let frames: Vec<u8> = (0..6)
        .flat_map(|_| mp3_frame(MP3_V1_128, 417, None))
        .collect();
    let samples = [
        (Container::Mp4, sample_mp4()),
        (
            Container::WebM,
            sample_webm(true, Some(3.0f64.to_be_bytes().to_vec())),
        ),
        (Container::Ogg, sample_opus(7, 48_312)),
        (Container::Mp3, [id3v2(20), frames].concat()),
    ];
    for (c, good) in samples {
        for _ in 0..fuzz_iters() {
            let mut b = good.clone();
            for _ in 0..=rng.below(8) {
                let i = rng.below(b.len());
                b[i] = match rng.below(4) {
                    0 => 0,
                    1 => 0xFF,
                    2 => b[i] ^ (1 << rng.below(8)),
                    _ => rng.next() as u8,
                };
            }
            b.truncate(rng.below(b.len() + 1).max(b.len() / 2));
            run(c, &b);
        }
    }
}

#[test]
fn mutated_fixtures_never_panic() {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    for (name, c) in FIXTURES {
        let path = format!("{}/fixtures/media/{name}", env!("CARGO_MANIFEST_DIR"));
        let good = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        for _ in 0..fuzz_iters() / 4 {
            let mut b = good.clone();
            for _ in 0..=rng.below(4) {
                let i = rng.below(b.len());
                b[i] = rng.next() as u8;
            }
            b.truncate(rng.below(b.len() + 1).max(b.len() / 3));
            run(c, &b);
        }
    }
}

#[test]
fn huge_stream_is_not_read_whole() {
    for c in ALL {
        let mut z = Zeros {
            len: 200 << 20,
            pos: 0,
            read: 0,
        };
        assert_eq!(probe(c, &mut z), Probe::default());
        assert!(z.read < 1 << 20, "{c:?} read {} bytes", z.read);
    }
}

#[test]
fn failing_reader_gives_defaults() {
    struct Broken;
    impl Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::new(ErrorKind::Interrupted, "again"))
        }
    }
    impl Seek for Broken {
        fn seek(&mut self, _: SeekFrom) -> std::io::Result<u64> {
            Ok(1000)
        }
    }
    for c in ALL {
        assert_eq!(probe(c, &mut Broken), Probe::default());
    }
}

// ---------- real files made by ffmpeg (fixtures/) ----------

fn fixture(name: &str, c: Container) -> Probe {
    let path = format!("{}/fixtures/media/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut f = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    probe(c, &mut f)
}

fn assert_about_1s(p: Probe, name: &str) {
    let ms = p
        .duration_ms
        .unwrap_or_else(|| panic!("{name}: no duration"));
    assert!(ms.abs_diff(1000) <= 50, "{name}: {ms} ms");
}

const FIXTURES: [(&str, Container); 8] = [
    ("a.ogg", Container::Ogg),
    ("a_vorbis.ogg", Container::Ogg),
    ("a.m4a", Container::Mp4),
    ("a.mp3", Container::Mp3),
    ("a_cbr_noxing.mp3", Container::Mp3),
    ("v.mp4", Container::Mp4),
    ("v_faststart.mp4", Container::Mp4),
    ("v.webm", Container::WebM),
];

#[test]
fn real_audio_files() {
    for (name, c) in [
        ("a.ogg", Container::Ogg),
        ("a_vorbis.ogg", Container::Ogg),
        ("a.m4a", Container::Mp4),
        ("a.mp3", Container::Mp3),
        ("a_cbr_noxing.mp3", Container::Mp3),
    ] {
        let p = fixture(name, c);
        assert_eq!((p.width, p.height), (None, None), "{name}");
        assert_about_1s(p, name);
    }
}

#[test]
fn real_exact_values() {
    // ffmpeg's mp3 has a LAME extension, so gapless trim gives exactly 1 s.
    assert_eq!(fixture("a.mp3", Container::Mp3), dur(1000));
    assert_eq!(fixture("a.ogg", Container::Ogg), dur(1000));
    assert_eq!(
        fixture("v.webm", Container::WebM),
        video(64, 48, Some(1000))
    );
}

#[test]
fn real_video_files() {
    for (name, c) in [
        ("v.mp4", Container::Mp4),
        ("v_faststart.mp4", Container::Mp4),
        ("v.webm", Container::WebM),
    ] {
        let p = fixture(name, c);
        assert_eq!((p.width, p.height), (Some(64), Some(48)), "{name}");
        assert_about_1s(p, name);
    }
}
