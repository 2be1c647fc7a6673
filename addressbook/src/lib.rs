//! Human names for destinations: local/private/subscribed books in hosts.txt format, signed
//! subscription feeds, and a DNS server mapping `.i2p` names to virtual addresses
//! (issue "Address book with subscriptions"). Nothing is implemented here yet.
