//! Where a lock's pid lives: the holder's identity after the pid (docs/protocol.md
//! §2.3 and §3; the format and the rules are in docs/holder-identity.md).
//!
//! A lock written with a pid records, on a second line, the host name,
//! the boot id and the PID namespace of the writer:
//!
//! ```text
//! 1234
//! lockid/1 host=alpha boot=6f1c0d9e-8a52-4b1e-9d0a-3c2f6f3b7a10 pidns=4026531836
//! ```
//!
//! The pid line is the one 1.17 writes, so readers that parse it like
//! `atoi` read the same pid. A reader trusts `kill(pid, 0)` only when the
//! boot id and the PID namespace are its own ([`Origin::Local`]).
//!
//! Everything here uses `core` and fixed stack buffers only; the few
//! system calls go through the core's libc layer, from the small
//! functions at the end (private module `sys`).
#![forbid(unsafe_code)]

use core::sync::atomic::{AtomicU64, Ordering, fence};

/// The first word of the identity line: the format and its version.
pub const TAG: &[u8] = b"lockid/1";
/// What every version's tag starts with.
const TAG_FAMILY: &[u8] = b"lockid/";
/// The longest host name Linux has (HOST_NAME_MAX).
pub const HOST_MAX: usize = 64;
/// The longest boot id accepted (the kernel's has 36 characters).
pub const BOOT_MAX: usize = 64;
/// The longest identity line, newline included: the tag, a host name of
/// which every byte is escaped (`%XX`), the longest boot id, a 20-digit
/// namespace inode.
pub const LINE_MAX: usize = TAG.len()
    + b" host=".len()
    + 3 * HOST_MAX
    + b" boot=".len()
    + BOOT_MAX
    + b" pidns=".len()
    + 20
    + 1;
/// The longest content we write: a pid line (an `int` and a newline) and
/// the identity line.
pub const WRITE_MAX: usize = 12 + LINE_MAX;

/// A short byte string of at most `N` bytes (`N` < 256).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Token<const N: usize> {
    buf: [u8; N],
    len: u8,
}

impl<const N: usize> Token<N> {
    /// The empty string.
    pub const EMPTY: Token<N> = Token {
        buf: [0; N],
        len: 0,
    };

    /// `bytes` if it fits.
    pub fn new(bytes: &[u8]) -> Option<Token<N>> {
        let mut t = Token::EMPTY;
        let dst = t.buf.get_mut(..bytes.len())?;
        dst.copy_from_slice(bytes);
        t.len = u8::try_from(bytes.len()).ok()?;
        Some(t)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn push(&mut self, b: u8) -> Option<()> {
        *self.buf.get_mut(usize::from(self.len))? = b;
        self.len += 1;
        Some(())
    }
}

impl<const N: usize> core::fmt::Debug for Token<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "\"{}\"", self.as_bytes().escape_ascii())
    }
}

/// A host name as recorded in a lock.
pub type Host = Token<HOST_MAX>;

/// Prints a host name for people: printable ASCII as it is, any other
/// byte escaped (`\xNN`), so a recorded name cannot send control
/// characters to a terminal.
impl<const N: usize> core::fmt::Display for Token<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.as_bytes().escape_ascii())
    }
}

/// Who wrote a lock, or who is reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// The host name (uname's nodename, in full).
    pub host: Host,
    /// The boot id, `/proc/sys/kernel/random/boot_id`: new at every boot.
    pub boot: Token<BOOT_MAX>,
    /// The inode of `/proc/self/ns/pid`: which PID namespace the pid is in.
    pub pidns: u64,
}

/// What a lock's content says about its writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Nothing after the pid line, or something that is not an identity:
    /// 1.17's format (and our older versions'), judged as 1.17 does.
    Bare,
    /// An identity line that cannot be read: cut short, an unknown
    /// version, a missing or doubled field, a bad value.
    Malformed,
    /// The writer's identity.
    Known(Identity),
}

/// Where a lock was written, seen from the reader; decides how it is
/// judged (docs/protocol.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// No identity recorded (a bare pid, "0", or no pid): the rule of 1.17.
    Bare,
    /// The reader's own PID namespace on the reader's boot: the pid can be
    /// looked up.
    Local,
    /// This host's name, another boot id, and last changed before this
    /// boot began: left by an earlier boot, stale at once.
    EarlierBoot,
    /// Another host or another PID namespace, or it cannot be told (an
    /// unreadable identity, or a reader that cannot read its own): the
    /// pid means nothing here, the age rule decides.
    Foreign,
    /// Not judged: the pid was not asked to count.
    Unjudged,
}

/// The identity line for `id`, appended to `out` by `push`.
pub fn write_line(id: &Identity, mut push: impl FnMut(&[u8])) {
    push(TAG);
    push(b" host=");
    for &b in id.host.as_bytes() {
        if plain(b) {
            push(&[b]);
        } else {
            push(&[b'%', hex(b >> 4), hex(b & 15)]);
        }
    }
    push(b" boot=");
    push(id.boot.as_bytes());
    push(b" pidns=");
    let mut digits = [0u8; 20];
    push(decimal(id.pidns, &mut digits));
    push(b"\n");
}

/// A byte written as it is in a field: printable ASCII but the space
/// (the field separator) and `%` (the escape).
fn plain(b: u8) -> bool {
    b.is_ascii_graphic() && b != b'%'
}

fn hex(n: u8) -> u8 {
    b"0123456789ABCDEF"
        .get(usize::from(n & 15))
        .copied()
        .unwrap_or(b'0')
}

fn unhex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        if let Some(d) = buf.get_mut(at) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    buf.get(at..).unwrap_or_default()
}

/// Read the identity that follows the pid line of `content` (the bytes
/// read from the lock; a longer lock is cut, which reads as malformed).
// Not inlined, here and in the cache and the system calls below: one copy
// each keeps the C library within its size (check-abi).
#[inline(never)]
pub fn parse(content: &[u8]) -> Recorded {
    let Some(nl) = content.iter().position(|&b| b == b'\n') else {
        return Recorded::Bare;
    };
    let rest = content.get(nl + 1..).unwrap_or_default();
    if !rest.starts_with(TAG_FAMILY) {
        // Empty, or garbage after the pid: not ours to interpret.
        return Recorded::Bare;
    }
    let Some(end) = rest.iter().position(|&b| b == b'\n') else {
        return Recorded::Malformed;
    };
    match parse_line(rest.get(..end).unwrap_or_default()) {
        Some(id) => Recorded::Known(id),
        None => Recorded::Malformed,
    }
}

fn parse_line(line: &[u8]) -> Option<Identity> {
    let mut fields = line.split(|&b| b == b' ');
    if fields.next()? != TAG {
        // Another version: its fields may mean something else.
        return None;
    }
    let (mut host, mut boot, mut pidns) = (None, None, None);
    for field in fields {
        let eq = field.iter().position(|&b| b == b'=')?;
        let key = field.get(..eq)?;
        let value = field.get(eq + 1..)?;
        let slot_was_empty = match key {
            b"host" => host.replace(unescape(value)?).is_none(),
            b"boot" => boot.replace(boot_token(value)?).is_none(),
            b"pidns" => pidns.replace(number(value)?).is_none(),
            // A field a later revision of version 1 added: skipped.
            _ if !key.is_empty() && key.iter().all(u8::is_ascii_lowercase) => true,
            _ => false,
        };
        if !slot_was_empty {
            return None;
        }
    }
    Some(Identity {
        host: host?,
        boot: boot?,
        pidns: pidns?,
    })
}

fn unescape(value: &[u8]) -> Option<Host> {
    let mut host = Host::EMPTY;
    let mut bytes = value.iter();
    while let Some(&b) = bytes.next() {
        let b = if b == b'%' {
            let hi = unhex(*bytes.next()?)?;
            let lo = unhex(*bytes.next()?)?;
            hi << 4 | lo
        } else if plain(b) {
            b
        } else {
            return None;
        };
        host.push(b)?;
    }
    (!host.is_empty()).then_some(host)
}

fn boot_token(value: &[u8]) -> Option<Token<BOOT_MAX>> {
    if value.is_empty() || !value.iter().all(|&b| plain(b)) {
        return None;
    }
    Token::new(value)
}

fn number(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 20 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    value.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// The rule of docs/protocol.md §3: where a lock with `recorded` identity and
/// modification time `mtime` was written, seen by a reader of identity
/// `reader` (`None`: unknown). `boot_start` says when the reader's boot
/// began (seconds since the epoch), asked only for a lock of this host's
/// name from another boot.
pub fn origin(
    recorded: &Recorded,
    reader: Option<&Identity>,
    mtime: i64,
    boot_start: impl FnOnce() -> Option<i64>,
) -> Origin {
    let id = match recorded {
        Recorded::Bare => return Origin::Bare,
        Recorded::Malformed => return Origin::Foreign,
        Recorded::Known(id) => id,
    };
    let Some(reader) = reader else {
        return Origin::Foreign;
    };
    if id.boot == reader.boot && id.pidns == reader.pidns {
        Origin::Local
    } else if id.host == reader.host
        && id.boot != reader.boot
        && boot_start().is_some_and(|start| mtime < start)
    {
        Origin::EarlierBoot
    } else {
        Origin::Foreign
    }
}

/// This process's identity, `pid` being its pid as getpid() says now.
/// Read once and kept; read again in a child after fork() (its pid
/// differs), whose PID namespace may differ from its parent's. `None` when
/// it cannot be read (no /proc): locks are then written with a bare pid,
/// and identities read count as foreign.
///
/// Never blocks and takes no lock (async-signal-safe): a reader that
/// finds the cache being filled reads the identity itself.
pub fn own(pid: i32) -> Option<Identity> {
    if let Some(id) = CACHE.get(pid) {
        return Some(id);
    }
    let id = sys::read_identity()?;
    CACHE.put(pid, &id);
    Some(id)
}

/// This process's identity, read now or kept from before.
pub fn own_now() -> Option<Identity> {
    own(sys::getpid())
}

/// When this boot began, in seconds since the epoch: the real-time clock
/// less the time since boot.
pub fn boot_start() -> Option<i64> {
    let (real, boot) = sys::real_and_boot_time()?;
    real.checked_sub(boot)
}

// The cache of [`own`]: a sequence lock over atomic words, so that it is
// written by one caller at a time, read by any without waiting, and safe
// code throughout. An even sequence number means the words are stable.

/// Words of the cache that come before the two buffers: the pid, the
/// namespace, the two lengths.
const HEAD: usize = 3;
/// Words of the cache: the head, then the host name's and the boot id's
/// buffers, whole.
const WORDS: usize = HEAD + (HOST_MAX + BOOT_MAX) / 8;

struct Cache {
    seq: AtomicU64,
    words: [AtomicU64; WORDS],
}

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU64 = AtomicU64::new(0);

static CACHE: Cache = Cache::new();

impl Cache {
    const fn new() -> Cache {
        Cache {
            seq: AtomicU64::new(0),
            words: [ZERO; WORDS],
        }
    }

    /// The identity kept for process `pid`, if one is kept and no one is
    /// writing it.
    #[inline(never)]
    fn get(&self, pid: i32) -> Option<Identity> {
        let seq = self.seq.load(Ordering::Acquire);
        if seq == 0 || seq % 2 == 1 {
            return None;
        }
        let mut id = Identity {
            host: Token::EMPTY,
            boot: Token::EMPTY,
            pidns: 0,
        };
        let mut head = [0u64; HEAD];
        for (w, a) in head.iter_mut().zip(&self.words) {
            *w = a.load(Ordering::Relaxed);
        }
        let bufs = id.host.buf.chunks_exact_mut(8);
        let bufs = bufs.chain(id.boot.buf.chunks_exact_mut(8));
        for (c, a) in bufs.zip(self.words.get(HEAD..).unwrap_or_default()) {
            c.copy_from_slice(&a.load(Ordering::Relaxed).to_le_bytes());
        }
        fence(Ordering::Acquire);
        let [kept_pid, pidns, lens] = head;
        let (host_len, boot_len) = (lens as u8, (lens >> 8) as u8);
        if self.seq.load(Ordering::Relaxed) != seq
            || kept_pid != u64::from(pid as u32)
            || usize::from(host_len) > HOST_MAX
            || usize::from(boot_len) > BOOT_MAX
        {
            return None;
        }
        (id.host.len, id.boot.len, id.pidns) = (host_len, boot_len, pidns);
        Some(id)
    }

    /// Keep `id` for process `pid`, unless someone else is writing.
    #[inline(never)]
    fn put(&self, pid: i32, id: &Identity) {
        let seq = self.seq.load(Ordering::Relaxed);
        if seq % 2 == 1
            || self
                .seq
                .compare_exchange(seq, seq + 1, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
        {
            // Someone else is writing it (another thread, or the code this
            // signal handler interrupted): leave it to them.
            return;
        }
        fence(Ordering::Release);
        let head = [
            u64::from(pid as u32),
            id.pidns,
            u64::from(id.host.len) | u64::from(id.boot.len) << 8,
        ];
        let bufs = id
            .host
            .buf
            .chunks_exact(8)
            .chain(id.boot.buf.chunks_exact(8));
        let bufs = bufs.map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()));
        for (a, w) in self.words.iter().zip(head.into_iter().chain(bufs)) {
            a.store(w, Ordering::Relaxed);
        }
        self.seq.store(seq + 2, Ordering::Release);
    }
}

/// The system calls of this module, over the core's libc layer.
mod sys {
    use super::{BOOT_MAX, HOST_MAX, Identity, Token, plain};
    use crate::sys;

    /// Uname's nodename, the boot id and the PID namespace.
    #[inline(never)]
    pub(super) fn read_identity() -> Option<Identity> {
        // gethostname() is uname()'s nodename, copied in full when it fits.
        let mut name = [0u8; HOST_MAX + 1];
        let host = Token::new(sys::gethostname(&mut name).ok()?)?;
        if host.is_empty() {
            return None;
        }
        let flags = libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY;
        let fd = sys::open(c"/proc/sys/kernel/random/boot_id", flags, 0).ok()?;
        let mut buf = [0u8; BOOT_MAX + 1];
        let n = sys::read(&fd, &mut buf).ok()?;
        drop(fd);
        let text = buf.get(..n)?;
        let text = text.strip_suffix(b"\n").unwrap_or(text);
        if text.is_empty() || !text.iter().all(|&b| plain(b)) {
            return None;
        }
        let boot = Token::new(text)?;
        let pidns = sys::stat(c"/proc/self/ns/pid").ok()?.st_ino;
        Some(Identity { host, boot, pidns })
    }

    /// This process's pid.
    pub(super) fn getpid() -> i32 {
        sys::getpid()
    }

    /// CLOCK_REALTIME and CLOCK_BOOTTIME, in whole seconds.
    pub(super) fn real_and_boot_time() -> Option<(i64, i64)> {
        Some((sys::wall_secs(), sys::boot_secs()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(host: &[u8], boot: &[u8], pidns: u64) -> Identity {
        Identity {
            host: Token::new(host).unwrap(),
            boot: Token::new(boot).unwrap(),
            pidns,
        }
    }

    fn line(id: &Identity) -> Vec<u8> {
        let mut out = Vec::new();
        write_line(id, |b| out.extend_from_slice(b));
        out
    }

    const BOOT: &[u8] = b"6f1c0d9e-8a52-4b1e-9d0a-3c2f6f3b7a10";

    #[test]
    fn writes_one_short_line() {
        let a = id(b"alpha", BOOT, 4026531836);
        assert_eq!(
            line(&a),
            b"lockid/1 host=alpha boot=6f1c0d9e-8a52-4b1e-9d0a-3c2f6f3b7a10 pidns=4026531836\n"
        );
    }

    #[test]
    fn round_trips_through_the_parser() {
        for host in [
            &b"alpha"[..],
            b"mail.example.org",
            b"a b",
            b"100%",
            b"\n\x00\xff",
            &[b'h'; HOST_MAX],
            &[b' '; HOST_MAX],
        ] {
            let a = id(host, BOOT, u64::MAX);
            let mut content = b"1234\n".to_vec();
            content.extend(line(&a));
            assert!(content.len() <= WRITE_MAX);
            assert_eq!(parse(&content), Recorded::Known(a), "{host:?}");
        }
    }

    #[test]
    fn bare_pids_and_garbage_keep_the_old_rule() {
        for content in [
            &b""[..],
            b"0\n",
            b"1234\n",
            b"1234",
            b"1234\n\n",
            b"1234\nhello world\n",
            b"1234\nlockid",
            b"\x00\xff\n\x01",
        ] {
            assert_eq!(parse(content), Recorded::Bare, "{content:?}");
        }
    }

    #[test]
    fn broken_identities_are_malformed() {
        let good = b"1234\nlockid/1 host=alpha boot=b pidns=7\n";
        assert!(matches!(parse(good), Recorded::Known(_)));
        // Every cut of a good line is malformed (or bare, before the tag).
        for cut in 5..good.len() {
            let got = parse(&good[..cut]);
            assert!(
                matches!(got, Recorded::Malformed | Recorded::Bare),
                "{cut}: {got:?}"
            );
        }
        for content in [
            &b"1\nlockid/2 host=alpha boot=b pidns=7\n"[..],
            b"1\nlockid/1\n",
            b"1\nlockid/1 host=alpha boot=b\n",
            b"1\nlockid/1 host=alpha host=beta boot=b pidns=7\n",
            b"1\nlockid/1 host=alpha boot=b pidns=7 pidns=7\n",
            b"1\nlockid/1 host=alpha  boot=b pidns=7\n",
            b"1\nlockid/1 host= boot=b pidns=7\n",
            b"1\nlockid/1 host=alpha boot= pidns=7\n",
            b"1\nlockid/1 host=alpha boot=b pidns=\n",
            b"1\nlockid/1 host=alpha boot=b pidns=-7\n",
            b"1\nlockid/1 host=alpha boot=b pidns=99999999999999999999\n",
            b"1\nlockid/1 host=al%zzpha boot=b pidns=7\n",
            b"1\nlockid/1 host=alpha% boot=b pidns=7\n",
            b"1\nlockid/1 host=al\x01pha boot=b pidns=7\n",
            b"1\nlockid/1 host=alpha boot=b pidns=7 =x\n",
            b"1\nlockid/1 host=alpha boot=b pidns=7 X=x\n",
            b"1\nlockid/1 host=alpha boot=b pidns=7 junk\n",
        ] {
            assert_eq!(parse(content), Recorded::Malformed, "{content:?}");
        }
        // A host name longer than Linux allows.
        let mut long = b"1\nlockid/1 host=".to_vec();
        long.extend([b'h'; HOST_MAX + 1]);
        long.extend(b" boot=b pidns=7\n");
        assert_eq!(parse(&long), Recorded::Malformed);
        let mut long = b"1\nlockid/1 host=h boot=".to_vec();
        long.extend([b'b'; BOOT_MAX + 1]);
        long.extend(b" pidns=7\n");
        assert_eq!(parse(&long), Recorded::Malformed);
    }

    #[test]
    fn later_fields_are_skipped_and_anything_after_the_line_ignored() {
        let got = parse(b"1\nlockid/1 start=99 host=alpha boot=b pidns=7\ntrailing");
        assert_eq!(got, Recorded::Known(id(b"alpha", b"b", 7)));
    }

    #[test]
    fn the_pid_counts_only_in_our_namespace_on_our_boot() {
        let me = id(b"alpha", b"boot-1", 10);
        let never = || -> Option<i64> { panic!("boot start asked") };
        let rec = |h: &[u8], b: &[u8], n: u64| Recorded::Known(id(h, b, n));
        assert_eq!(origin(&Recorded::Bare, Some(&me), 0, never), Origin::Bare);
        assert_eq!(origin(&Recorded::Bare, None, 0, never), Origin::Bare);
        assert_eq!(
            origin(&rec(b"alpha", b"boot-1", 10), Some(&me), 0, never),
            Origin::Local
        );
        // A container with another host name on our boot, our namespace
        // (unshare -u only): the pid is ours to look up.
        assert_eq!(
            origin(&rec(b"beta", b"boot-1", 10), Some(&me), 0, never),
            Origin::Local
        );
        // Another PID namespace on this boot: foreign.
        assert_eq!(
            origin(&rec(b"alpha", b"boot-1", 11), Some(&me), 0, never),
            Origin::Foreign
        );
        // Another host.
        assert_eq!(
            origin(&rec(b"beta", b"boot-2", 10), Some(&me), 0, || Some(1000)),
            Origin::Foreign
        );
        assert_eq!(
            origin(&Recorded::Malformed, Some(&me), 0, never),
            Origin::Foreign
        );
        assert_eq!(
            origin(&rec(b"alpha", b"boot-1", 10), None, 0, never),
            Origin::Foreign
        );
    }

    #[test]
    fn our_host_name_from_another_boot() {
        let me = id(b"alpha", b"boot-2", 10);
        let old = Recorded::Known(id(b"alpha", b"boot-1", 10));
        // Changed before this boot began: an earlier boot's.
        assert_eq!(
            origin(&old, Some(&me), 999, || Some(1000)),
            Origin::EarlierBoot
        );
        // Changed after: another host of the same name (or a clock that
        // cannot be trusted): foreign.
        assert_eq!(
            origin(&old, Some(&me), 1000, || Some(1000)),
            Origin::Foreign
        );
        assert_eq!(origin(&old, Some(&me), 0, || None), Origin::Foreign);
    }

    #[test]
    fn own_identity_is_read_and_kept() {
        let pid = std::process::id() as i32;
        let Some(a) = own(pid) else {
            // No /proc here: nothing to compare.
            return;
        };
        assert_eq!(a.boot.as_bytes().len(), 36);
        assert_eq!(CACHE.get(pid), Some(a));
        assert_eq!(CACHE.get(pid + 1), None, "another pid re-reads");
        assert_eq!(own(pid), Some(a));
        let start = boot_start().unwrap();
        assert!(start > 0 && start <= crate::sys::wall_secs());
    }

    #[test]
    fn cache_round_trips_and_is_keyed_by_pid() {
        let cache = Cache::new();
        assert_eq!(cache.get(7), None, "nothing kept yet");
        let a = id(&[b'x'; HOST_MAX], &[b'y'; BOOT_MAX], u64::MAX);
        cache.put(-5, &a);
        assert_eq!(cache.get(-5), Some(a));
        assert_eq!(cache.get(5), None);
        let b = id(b"h", b"b", 0);
        cache.put(7, &b);
        assert_eq!(cache.get(7), Some(b));
        assert_eq!(cache.get(-5), None);
    }
}
