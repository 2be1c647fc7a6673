//! RouterInfo and keys-file helpers the harness needs without depending on the router crates:
//! I2P base64/base32, identity hashes (which name netDb files), a read-only RouterInfo summary,
//! netDb installation and reseed zips.
//!
//! Layouts: see spec/common-structures.md (RouterIdentity, Certificate, Mapping, RouterInfo) and
//! i2pd's PrivateKeys file (a Destination followed by the private keys). The identity hash is the
//! SHA-256 of the whole RouterIdentity: 384 bytes of keys/padding, then the certificate (type,
//! 2-byte length, payload).

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

const B64_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-~";
const B32_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// I2P's base64: the standard alphabet with `-` and `~` for `+` and `/`, padded with `=`.
pub fn base64_i2p(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(
                    B64_ALPHABET[((n >> (18 - 6 * i)) & 63) as usize],
                ));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes I2P base64 (padding optional).
pub fn base64_i2p_decode(s: &str) -> Result<Vec<u8>> {
    let s = s.trim().trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for (i, c) in s.bytes().enumerate() {
        let v = B64_ALPHABET
            .iter()
            .position(|&a| a == c)
            .ok_or_else(|| Error::parse("I2P base64", format!("invalid character at {i}")))?;
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

/// Lower-case RFC 4648 base32 without padding, as used by `.b32.i2p` names.
pub fn base32_lower(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for &b in data {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(B32_ALPHABET[((acc >> bits) & 31) as usize]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(
            B32_ALPHABET[((acc << (5 - bits)) & 31) as usize],
        ));
    }
    out
}

/// Length of the RouterIdentity / Destination at the start of `buf` (387 + certificate payload).
pub fn identity_len(buf: &[u8]) -> Result<usize> {
    let len_bytes = buf.get(385..387).ok_or_else(|| {
        Error::parse(
            "identity",
            format!("{} bytes, need at least 387", buf.len()),
        )
    })?;
    let len = 387 + usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
    if len > buf.len() {
        return Err(Error::parse(
            "identity",
            format!("certificate says {len} bytes, only {} present", buf.len()),
        ));
    }
    Ok(len)
}

/// The 32-byte identity hash (SHA-256 of the identity) of a RouterInfo or keys file.
pub fn ident_hash(buf: &[u8]) -> Result<[u8; 32]> {
    let len = identity_len(buf)?;
    Ok(Sha256::digest(&buf[..len]).into())
}

/// The `xxxx.b32.i2p` address of an i2pd keys file (e.g. `eepsite.dat`).
pub fn b32_address(keys_file: &[u8]) -> Result<String> {
    Ok(format!("{}.b32.i2p", base32_lower(&ident_hash(keys_file)?)))
}

/// The public Destination (I2P base64) of an i2pd keys file, as `hosts.txt` wants it.
pub fn destination_b64(keys_file: &[u8]) -> Result<String> {
    let len = identity_len(keys_file)?;
    Ok(base64_i2p(&keys_file[..len]))
}

/// One router address of a RouterInfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiAddress {
    /// Transport style (`NTCP2`, `SSU2`).
    pub style: String,
    /// Its options, in wire order.
    pub options: Vec<(String, String)>,
}

impl RiAddress {
    /// Value of one option.
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// What the harness needs to know about a RouterInfo; the signature is not checked here (that
/// is i2pd's job in the tests).
#[derive(Debug, Clone)]
pub struct RouterInfoSummary {
    /// Identity hash.
    pub hash: [u8; 32],
    /// Published timestamp (ms since the epoch).
    pub published_ms: u64,
    /// Router addresses.
    pub addresses: Vec<RiAddress>,
    /// Router properties (`netId`, `caps`, `router.version`, ...).
    pub properties: Vec<(String, String)>,
}

impl RouterInfoSummary {
    /// Parses the unsigned part of a RouterInfo.
    pub fn parse(buf: &[u8]) -> Result<Self> {
        let hash = ident_hash(buf)?;
        let mut r = Reader {
            buf,
            pos: identity_len(buf)?,
        };
        let published_ms = u64::from_be_bytes(r.array::<8>("published")?);
        let n = r.u8("address count")?;
        let mut addresses = Vec::with_capacity(n.into());
        for _ in 0..n {
            r.take(9, "address cost/expiration")?;
            let style = r.string("transport style")?;
            let options = r.mapping("address options")?;
            addresses.push(RiAddress { style, options });
        }
        let peers = r.u8("peer count")?;
        r.take(usize::from(peers) * 32, "peer hashes")?;
        let properties = r.mapping("properties")?;
        Ok(RouterInfoSummary {
            hash,
            published_ms,
            addresses,
            properties,
        })
    }

    /// Value of one property.
    pub fn property(&self, key: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Base64 of the identity hash (the netDb file name part).
    pub fn hash_b64(&self) -> String {
        base64_i2p(&self.hash)
    }

    /// The IPv4 hosts of all addresses with style `style`.
    pub fn hosts(&self, style: &str) -> Vec<Ipv4Addr> {
        self.addresses
            .iter()
            .filter(|a| a.style == style)
            .filter_map(|a| a.option("host")?.parse().ok())
            .collect()
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| {
                Error::parse(
                    "RouterInfo",
                    format!("{what}: truncated at offset {}", self.pos),
                )
            })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }
    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }
    fn string(&mut self, what: &str) -> Result<String> {
        let n = self.u8(what)?;
        Ok(String::from_utf8_lossy(self.take(n.into(), what)?).into_owned())
    }
    fn mapping(&mut self, what: &str) -> Result<Vec<(String, String)>> {
        let size = usize::from(u16::from_be_bytes(self.array::<2>(what)?));
        let end = self.pos + size;
        let mut out = Vec::new();
        while self.pos < end {
            let k = self.string(what)?;
            self.take(1, what)?; // '='
            let v = self.string(what)?;
            self.take(1, what)?; // ';'
            out.push((k, v));
        }
        if self.pos != end {
            return Err(Error::parse(
                "RouterInfo",
                format!("{what}: mapping overruns its size"),
            ));
        }
        Ok(out)
    }
}

/// Where a RouterInfo with this hash lives in an i2pd/Java netDb: `r<c>/routerInfo-<b64>.dat`.
pub fn netdb_relative_path(hash: &[u8; 32]) -> PathBuf {
    let b64 = base64_i2p(hash);
    let first = b64.chars().next().unwrap_or('A');
    PathBuf::from(format!("r{first}")).join(format!("routerInfo-{b64}.dat"))
}

/// Copies a RouterInfo into `netdb_dir` under its canonical name; returns the file's path.
pub fn install_into_netdb(netdb_dir: &Path, ri: &[u8]) -> Result<PathBuf> {
    let path = netdb_dir.join(netdb_relative_path(&ident_hash(ri)?));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::io(format!("create {}", parent.display()), e))?;
    }
    std::fs::write(&path, ri).map_err(|e| Error::io(format!("write {}", path.display()), e))?;
    Ok(path)
}

/// A stored (uncompressed) zip of RouterInfos named `routerInfo-<b64>.dat`, the format of
/// i2pd's `reseed.zipfile`. RouterInfos that arrive this way go through i2pd's signature check
/// (files already in a netDb directory do not, see the e2e tests).
pub fn reseed_zip(ris: &[&[u8]]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for ri in ris {
        let name = format!("routerInfo-{}.dat", base64_i2p(&ident_hash(ri)?));
        let crc = crc32(ri);
        let size =
            u32::try_from(ri.len()).map_err(|_| Error::parse("reseed zip", "entry too big"))?;
        let offset = u32::try_from(out.len()).map_err(|_| Error::parse("reseed zip", "too big"))?;
        let name_len = u16::try_from(name.len()).map_err(|_| Error::parse("reseed zip", "name"))?;
        // local file header
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        // version needed, flags, method 0 (stored), time, date (1980-01-01)
        out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(ri);
        // central directory entry
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        // version made by, version needed, flags, method, time, date
        central.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&name_len.to_le_bytes());
        central.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attrs
        central.extend_from_slice(&[0; 4]); // external attrs
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let count = u16::try_from(ris.len()).map_err(|_| Error::parse("reseed zip", "count"))?;
    let cd_offset = u32::try_from(out.len()).map_err(|_| Error::parse("reseed zip", "too big"))?;
    let cd_len = u32::try_from(central.len()).map_err(|_| Error::parse("reseed zip", "too big"))?;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&cd_len.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    Ok(out)
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_i2p_uses_dash_and_tilde() {
        // RFC 4648 vectors, then the two I2P-specific characters.
        assert_eq!(base64_i2p(b""), "");
        assert_eq!(base64_i2p(b"f"), "Zg==");
        assert_eq!(base64_i2p(b"fo"), "Zm8=");
        assert_eq!(base64_i2p(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_i2p(&[0xfb, 0xff]), "-~8=");
        assert_eq!(base64_i2p_decode("-~8=").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(base64_i2p_decode("Zm9vYmFy").unwrap(), b"foobar");
        assert!(base64_i2p_decode("ab+c").is_err());
    }

    #[test]
    fn base32_rfc4648_vectors() {
        assert_eq!(base32_lower(b"f"), "my");
        assert_eq!(base32_lower(b"fo"), "mzxq");
        assert_eq!(base32_lower(b"foobar"), "mzxw6ytboi");
    }

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn identity_len_reads_certificate_length() {
        let mut buf = vec![0u8; 391];
        buf[384] = 5; // key certificate
        buf[386] = 4;
        assert_eq!(identity_len(&buf).unwrap(), 391);
        buf[386] = 5;
        assert!(identity_len(&buf).is_err());
        assert!(identity_len(&buf[..100]).is_err());
    }

    fn captured(rel: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../router/wire/tests/data/i2pd-2.45.1")
            .join(rel)
    }

    /// i2pd named the files of its netDb after the identity hash: our hash must give the same
    /// names for the same bytes.
    #[test]
    fn hash_matches_i2pd_netdb_file_names() {
        let dir = captured("r5-netDb");
        let mut checked = 0;
        for sub in std::fs::read_dir(&dir).unwrap() {
            for f in std::fs::read_dir(sub.unwrap().path()).unwrap() {
                let path = f.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                let rel = path.strip_prefix(&dir).unwrap();
                assert_eq!(netdb_relative_path(&ident_hash(&bytes).unwrap()), rel);
                checked += 1;
            }
        }
        assert_eq!(checked, 4);
    }

    #[test]
    fn summary_of_captured_i2pd_routerinfo() {
        let ri =
            RouterInfoSummary::parse(&std::fs::read(captured("r1.router.info")).unwrap()).unwrap();
        assert_eq!(ri.property("netId"), Some("17"));
        assert_eq!(ri.hosts("NTCP2"), vec![Ipv4Addr::new(198, 18, 0, 1)]);
        assert_eq!(ri.hosts("SSU2"), vec![Ipv4Addr::new(198, 18, 0, 1)]);
        assert!(ri.property("caps").unwrap().contains('f'));
        assert!(ri.published_ms > 1_600_000_000_000);
    }

    #[test]
    fn eepsite_destination_matches_captured_hosts_txt() {
        let keys = std::fs::read(captured("eepsite.dat")).unwrap();
        let hosts = std::fs::read_to_string(captured("hosts.txt")).unwrap();
        let dest = hosts.trim().strip_prefix("eepsite.testnet.i2p=").unwrap();
        assert_eq!(destination_b64(&keys).unwrap(), dest);
        assert_eq!(base64_i2p(&base64_i2p_decode(dest).unwrap()), dest);
        let b32 = b32_address(&keys).unwrap();
        assert_eq!(b32.len(), 52 + 8);
    }

    #[test]
    fn reseed_zip_layout() {
        let a = std::fs::read(captured("r1.router.info")).unwrap();
        let b = std::fs::read(captured("r2.router.info")).unwrap();
        let zip = reseed_zip(&[&a, &b]).unwrap();
        let u16_at = |o: usize| usize::from(u16::from_le_bytes([zip[o], zip[o + 1]]));
        let u32_at = |o: usize| u32::from_le_bytes(zip[o..o + 4].try_into().unwrap()) as usize;
        // first local header: sizes at 18/22, name length at 26, data after the 30-byte header
        assert_eq!(u32_at(0), 0x0403_4b50);
        assert_eq!((u32_at(18), u32_at(22)), (a.len(), a.len()));
        assert_eq!(u32_at(14), crc32(&a) as usize);
        let name_len = u16_at(26);
        let name = std::str::from_utf8(&zip[30..30 + name_len]).unwrap();
        assert_eq!(
            name,
            format!("routerInfo-{}.dat", base64_i2p(&ident_hash(&a).unwrap()))
        );
        assert_eq!(&zip[30 + name_len..30 + name_len + a.len()], a.as_slice());
        assert_eq!(u32_at(30 + name_len + a.len()), 0x0403_4b50);
        // end of central directory: 2 entries, directory offset points at a central header
        let eocd = zip.len() - 22;
        assert_eq!(u32_at(eocd), 0x0605_4b50);
        assert_eq!((u16_at(eocd + 8), u16_at(eocd + 10)), (2, 2));
        let cd = u32_at(eocd + 16);
        assert_eq!(u32_at(cd), 0x0201_4b50);
        assert_eq!(u32_at(eocd + 12), eocd - cd);
        // second central entry's local header offset
        let second = cd + 46 + name_len;
        assert_eq!(u32_at(second), 0x0201_4b50);
        assert_eq!(u32_at(second + 42), 30 + name_len + a.len());
    }

    #[test]
    fn netdb_path_uses_first_base64_char() {
        let h = [0u8; 32];
        assert_eq!(
            netdb_relative_path(&h),
            PathBuf::from("rA/routerInfo-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=.dat")
        );
    }
}
