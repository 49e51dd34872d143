//! The event-driven core: one I/O thread (the driver) over `mio`, the connection state shared
//! with handler threads, and the queue `recv()` pops.

pub(crate) mod conn;
pub(crate) mod driver;
pub(crate) mod queue;
pub(crate) mod readbuf;
