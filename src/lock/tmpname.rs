//! The name of the temporary file (SPEC §2.4, §8).
#![forbid(unsafe_code)]

use std::ffi::CStr;

use super::cpath::{Bytes, CPathBuf};
use crate::error::{Errno, LCode, LockError};

/// `PATH_MAX` of Linux: a lock path plus [`TMP_RESERVE`] must stay within it.
pub const PATH_MAX: usize = 4096;
/// Room the reference reserves for the temporary name (`.lk`, 5 digits,
/// 1 hex digit and 23 bytes of host name).
pub const TMP_RESERVE: usize = 32;
/// The longest basename of a temporary file.
pub const TMP_NAME_MAX: usize = TMP_RESERVE - 1;
/// Every temporary name starts with this.
pub const TMP_PREFIX: &[u8] = b".lk";

/// The temporary name for `lock`: the lock's directory, then `.lk`, `id` as
/// `%05d`, `now & 15` as one hex digit and the host name up to its first
/// dot, the basename cut to 31 bytes.
///
/// `id` is the thread id, which is the pid in a single-threaded program,
/// so such a program writes exactly the reference's name.
pub fn tmp_name(lock: &[u8], id: i32, now: i64, host: &[u8]) -> Result<Vec<u8>, LockError> {
    let (dir, base) = tmp_parts(lock, id, now, host)?;
    Ok([dir, base.as_bytes()].concat())
}

/// [`tmp_name`] as a C string in `buf`, without touching the heap.
pub(crate) fn tmp_name_in<'b>(
    buf: &'b mut CPathBuf,
    lock: &[u8],
    id: i32,
    now: i64,
    host: &[u8],
) -> Result<&'b CStr, LockError> {
    let (dir, base) = tmp_parts(lock, id, now, host)?;
    buf.join(&[dir, base.as_bytes()])
        .map_err(|e| LockError::new(LCode::TmpLock, e))
}

/// The lock's directory (with its slash) and the temporary basename.
fn tmp_parts<'l>(
    lock: &'l [u8],
    id: i32,
    now: i64,
    host: &[u8],
) -> Result<(&'l [u8], Bytes<TMP_NAME_MAX>), LockError> {
    if lock.len() + TMP_RESERVE > PATH_MAX {
        return Err(LockError::new(LCode::Error, Errno::ENAMETOOLONG));
    }
    let dir_len = lock.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
    let dir = lock.get(..dir_len).unwrap_or_default();
    let mut base = Bytes::<TMP_NAME_MAX>::new();
    base.push(TMP_PREFIX);
    base.push_int(i64::from(id), 5);
    // `now & 15` is 0..=15 even for a negative time.
    if let Some(&digit) = b"0123456789abcdef".get((now & 15) as usize) {
        base.push(&[digit]);
    }
    base.push(short_host(host));
    Ok((dir, base))
}

/// The host name up to its first dot.
pub(crate) fn short_host(host: &[u8]) -> &[u8] {
    host.split(|&b| b == b'.').next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(lock: &str, id: i32, now: i64, host: &str) -> String {
        String::from_utf8(tmp_name(lock.as_bytes(), id, now, host.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn reference_format() {
        assert_eq!(
            name("/var/mail/joe.lock", 42, 0x1234, "mx.example.org"),
            "/var/mail/.lk000424mx"
        );
        assert_eq!(name("joe.lock", 123456, 15, "box"), ".lk123456fbox");
        assert_eq!(name("a/b/", 7, 16, ""), "a/b/.lk000070");
    }

    #[test]
    fn basename_is_cut_to_31_bytes() {
        let n = name("d/x.lock", 1, 1, "averyveryveryveryverylonghostname.domain");
        let base = n.strip_prefix("d/").unwrap();
        assert_eq!(base.len(), 31);
        assert_eq!(base, ".lk000011averyveryveryveryveryl");
    }

    #[test]
    fn path_limit_is_path_max_minus_32() {
        let ok = "a".repeat(PATH_MAX - TMP_RESERVE);
        assert!(tmp_name(ok.as_bytes(), 1, 0, b"h").is_ok());
        let long = "a".repeat(PATH_MAX - TMP_RESERVE + 1);
        let err = tmp_name(long.as_bytes(), 1, 0, b"h").unwrap_err();
        assert_eq!(err, LockError::new(LCode::Error, Errno::ENAMETOOLONG));
    }

    #[test]
    fn stack_name_is_the_same_name() {
        let mut buf = CPathBuf::new();
        let cases: [(&[u8], i32, i64, &[u8]); 4] = [
            (b"/var/mail/joe.lock", 42, 0x1234, b"mx.example.org"),
            (b"joe.lock", 4_194_303, 15, b"averyveryveryveryverylonghost"),
            (b"a/b/", -3, -7, b""),
            (&[b'd'; 300], 1, 1, b"h"),
        ];
        for (lock, id, now, host) in cases {
            let c = tmp_name_in(&mut buf, lock, id, now, host).unwrap();
            assert_eq!(c.to_bytes(), tmp_name(lock, id, now, host).unwrap());
        }
        let err = tmp_name_in(&mut buf, b"a\0/x", 1, 1, b"h").unwrap_err();
        assert_eq!(err, LockError::new(LCode::TmpLock, Errno::EINVAL));
    }

    #[test]
    fn negative_time_still_gives_one_hex_digit() {
        assert_eq!(name("l", 1, -1, "h"), ".lk00001fh");
    }
}
