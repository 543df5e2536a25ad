//! Loopback ports for the servers the tests start (also what the hosts benchmark takes for
//! tests/e2e/wash.rs, as its `common`).

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
