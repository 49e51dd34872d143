/work/main/target/debug/deps/tiny_http-608e58917871632d.d: src/lib.rs src/proto/mod.rs src/proto/date.rs src/proto/decode.rs src/proto/encode.rs src/proto/error.rs src/proto/head.rs src/response.rs src/types/mod.rs src/types/header.rs src/types/method.rs src/types/status.rs src/types/version.rs

/work/main/target/debug/deps/libtiny_http-608e58917871632d.rlib: src/lib.rs src/proto/mod.rs src/proto/date.rs src/proto/decode.rs src/proto/encode.rs src/proto/error.rs src/proto/head.rs src/response.rs src/types/mod.rs src/types/header.rs src/types/method.rs src/types/status.rs src/types/version.rs

/work/main/target/debug/deps/libtiny_http-608e58917871632d.rmeta: src/lib.rs src/proto/mod.rs src/proto/date.rs src/proto/decode.rs src/proto/encode.rs src/proto/error.rs src/proto/head.rs src/response.rs src/types/mod.rs src/types/header.rs src/types/method.rs src/types/status.rs src/types/version.rs

src/lib.rs:
src/proto/mod.rs:
src/proto/date.rs:
src/proto/decode.rs:
src/proto/encode.rs:
src/proto/error.rs:
src/proto/head.rs:
src/response.rs:
src/types/mod.rs:
src/types/header.rs:
src/types/method.rs:
src/types/status.rs:
src/types/version.rs:
