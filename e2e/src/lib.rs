//! Harness for end-to-end tests against real i2pd routers inside a network namespace.
