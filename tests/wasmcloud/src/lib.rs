//! No library: the tests in `tests/` run faas artifacts on wasmCloud's runtime (wash-runtime).
