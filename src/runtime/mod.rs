//! The event-driven core: the event loop (the driver) over `mio`, run by whichever thread
//! calls `recv()` when nobody else does (the hub), the connection state shared with handler
//! threads, and the read buffer that travels with a connection's read side.

pub(crate) mod conn;
pub(crate) mod driver;
pub(crate) mod hub;
pub(crate) mod readbuf;
