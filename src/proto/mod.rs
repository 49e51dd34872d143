//! Sans-IO HTTP/1.1: bytes in, events and bytes out. Nothing here touches a socket,
//! a thread or a clock it was not handed.
