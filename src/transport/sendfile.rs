//! `sendfile(2)` on Linux (placeholder until the rustix-based implementation lands).

use std::fs::File;
use std::io;

use super::socket::Socket;

/// Whether `file` can be sent with `sendfile(2)`.
pub(crate) fn probe(_file: &File) -> bool {
    false
}

/// Sends up to `max` bytes of `file` from its position.
pub(crate) fn send(_socket: &Socket, _file: &File, _max: u64) -> Option<io::Result<u64>> {
    None
}
