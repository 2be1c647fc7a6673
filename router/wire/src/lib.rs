//! I2P wire formats, parsed from and encoded to bytes without keys, sockets or clocks.
