//! How front-ends map a virtual IP address (handed out by the DNS server) back to the `.i2p`
//! name it stands for. The router implements this with the address book's virtual map; tests
//! use a plain table.

use std::collections::HashMap;
use std::net::IpAddr;

pub trait VirtualNames: Send + Sync {
    fn name_for_ip(&self, ip: IpAddr) -> Option<String>;
}

/// No virtual addresses at all.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoVirtualNames;

impl VirtualNames for NoVirtualNames {
    fn name_for_ip(&self, _: IpAddr) -> Option<String> {
        None
    }
}

impl VirtualNames for HashMap<IpAddr, String> {
    fn name_for_ip(&self, ip: IpAddr) -> Option<String> {
        self.get(&ip).cloned()
    }
}
