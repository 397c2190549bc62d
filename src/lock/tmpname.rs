//! The name of the temporary file (SPEC §2.4, §8).
#![forbid(unsafe_code)]

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
    if lock.len() + TMP_RESERVE > PATH_MAX {
        return Err(LockError::new(LCode::Error, Errno::ENAMETOOLONG));
    }
    let dir_len = lock.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
    let short_host = host.split(|&b| b == b'.').next().unwrap_or_default();
    let mut name = lock.get(..dir_len).unwrap_or_default().to_vec();
    let mut base = TMP_PREFIX.to_vec();
    base.extend_from_slice(format!("{id:05}{:x}", now & 15).as_bytes());
    base.extend_from_slice(short_host);
    base.truncate(TMP_NAME_MAX);
    name.extend_from_slice(&base);
    Ok(name)
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
    fn negative_time_still_gives_one_hex_digit() {
        assert_eq!(name("l", 1, -1, "h"), ".lk00001fh");
    }
}
