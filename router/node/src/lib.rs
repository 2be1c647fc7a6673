//! The router's IO shell: configuration, identity and key files, persistence, and (in later
//! layers) the tokio tasks that drive the sans-IO protocol state machines.
