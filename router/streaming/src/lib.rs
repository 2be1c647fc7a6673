//! I2P streaming (spec/streaming.md). Work in progress.
