//! Wall-clock time as the engine stores it: milliseconds since the Unix epoch.

/// Milliseconds since the Unix epoch, now (0 if the system clock is set before 1970).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
