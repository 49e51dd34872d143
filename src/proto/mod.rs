//! Sans-IO HTTP/1.1: bytes in, events and bytes out. Nothing here touches a socket,
//! a thread or a clock it was not handed.

pub(crate) mod date;
pub(crate) mod decode;
pub(crate) mod encode;
pub(crate) mod error;
pub(crate) mod head;
