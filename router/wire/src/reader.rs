//! Byte-level reading and writing: the position-tracking [`Reader`], the [`Sink`] that
//! encoders write to (a `Vec<u8>`, a fixed `&mut [u8]` via [`SliceSink`], or a length
//! counter), and the [`Decode`] / [`Encode`] traits every structure implements.
//!
//! All integers are big-endian ("network byte order"), as the common-structures spec
//! (spec/common-structures.md, "Integer") requires.

use crate::error::{Error, ErrorKind, Field, Result, ResultExt, clamp_u32};

/// A cursor over an input buffer. Every read checks bounds and returns
/// [`ErrorKind::Truncated`] with the absolute offset instead of panicking.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// absolute offset of `buf[0]` in the outermost input, for error messages
    base: usize,
}

/// A saved position, see [`Reader::mark`] / [`Reader::since`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark(usize);

impl<'a> Reader<'a> {
    /// A reader over `buf`, offsets counted from its start.
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader {
            buf,
            pos: 0,
            base: 0,
        }
    }

    /// A reader over `buf` whose error offsets start at `base` (for embedded data).
    pub fn with_base_offset(buf: &'a [u8], base: usize) -> Reader<'a> {
        Reader { buf, pos: 0, base }
    }

    /// Absolute position (offset from the start of the outermost input).
    pub fn position(&self) -> usize {
        self.base.saturating_add(self.pos)
    }

    /// Bytes left to read.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// True when nothing is left.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    fn truncated(&self, needed: usize) -> Error {
        Error::new(
            ErrorKind::Truncated {
                needed: clamp_u32(needed),
                available: clamp_u32(self.remaining()),
            },
            self.position(),
        )
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or_else(|| self.truncated(n))?;
        let out = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| self.truncated(n))?;
        self.pos = end;
        Ok(out)
    }

    /// The next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.bytes(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8> {
        let [b] = self.array::<1>()?;
        Ok(b)
    }

    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// The next byte without consuming it.
    pub fn peek_u8(&self) -> Result<u8> {
        self.buf
            .get(self.pos)
            .copied()
            .ok_or_else(|| self.truncated(1))
    }

    /// Everything that is left (consumes it).
    pub fn rest(&mut self) -> &'a [u8] {
        let out = self.buf.get(self.pos..).unwrap_or(&[]);
        self.pos = self.buf.len();
        out
    }

    /// Consume the next `n` bytes and return a reader over exactly those bytes (offsets stay
    /// absolute). Used for length-prefixed sections.
    pub fn sub(&mut self, n: usize) -> Result<Reader<'a>> {
        let start = self.position();
        let buf = self.bytes(n)?;
        Ok(Reader::with_base_offset(buf, start))
    }

    /// Fail with [`ErrorKind::TrailingBytes`] unless everything was consumed.
    pub fn finish(&self) -> Result<()> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(Error::new(
                ErrorKind::TrailingBytes {
                    count: clamp_u32(n),
                },
                self.position(),
            )),
        }
    }

    /// Remember the current position.
    pub fn mark(&self) -> Mark {
        Mark(self.pos)
    }

    /// The bytes consumed since `mark`.
    pub fn since(&self, mark: Mark) -> &'a [u8] {
        self.buf.get(mark.0..self.pos).unwrap_or(&[])
    }
}

/// Where encoders write bytes.
pub trait Sink {
    fn put(&mut self, bytes: &[u8]);

    fn put_u8(&mut self, v: u8) {
        self.put(&[v]);
    }
    fn put_u16(&mut self, v: u16) {
        self.put(&v.to_be_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.put(&v.to_be_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.put(&v.to_be_bytes());
    }
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Counts bytes instead of storing them (for [`Encode::encoded_len`]).
#[derive(Debug, Default)]
pub struct LenCounter(pub usize);

impl Sink for LenCounter {
    fn put(&mut self, bytes: &[u8]) {
        self.0 = self.0.saturating_add(bytes.len());
    }
}

/// Writes into a fixed buffer; remembers (instead of panicking) if the buffer was too small.
#[derive(Debug)]
pub struct SliceSink<'b> {
    buf: &'b mut [u8],
    pos: usize,
    overflow: bool,
}

impl<'b> SliceSink<'b> {
    pub fn new(buf: &'b mut [u8]) -> SliceSink<'b> {
        SliceSink {
            buf,
            pos: 0,
            overflow: false,
        }
    }
    /// Bytes written so far.
    pub fn written(&self) -> usize {
        self.pos
    }
    /// True if some write did not fit.
    pub fn overflowed(&self) -> bool {
        self.overflow
    }
}

impl Sink for SliceSink<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let end = self.pos.saturating_add(bytes.len());
        match self.buf.get_mut(self.pos..end) {
            Some(dst) if !self.overflow => {
                dst.copy_from_slice(bytes);
                self.pos = end;
            }
            _ => self.overflow = true,
        }
    }
}

/// Structures that can be written back to bytes. Encoding never fails: constructors and
/// parsers only produce values that are representable.
pub trait Encode {
    /// Append the encoding to `out`.
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S);

    /// Length of the encoding in bytes.
    fn encoded_len(&self) -> usize {
        let mut c = LenCounter(0);
        self.encode_to(&mut c);
        c.0
    }

    /// The encoding as a new vector.
    fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.encoded_len());
        self.encode_to(&mut v);
        v
    }

    /// Write the encoding to the start of `buf`, returning the number of bytes written.
    fn encode_into(&self, buf: &mut [u8]) -> Result<usize> {
        let needed = self.encoded_len();
        let available = buf.len();
        let too_small = || {
            Error::new(
                ErrorKind::BufferTooSmall {
                    needed: clamp_u32(needed),
                    available: clamp_u32(available),
                },
                0,
            )
        };
        let dst = buf.get_mut(..needed).ok_or_else(too_small)?;
        let mut sink = SliceSink::new(dst);
        self.encode_to(&mut sink);
        if sink.overflowed() {
            return Err(too_small());
        }
        Ok(sink.written())
    }
}

/// Structures that can be read from bytes.
pub trait Decode: Sized {
    /// Name used in error paths (e.g. for trailing bytes after a top-level parse).
    const NAME: Field;

    /// Read one value from `r`, leaving the reader after it (for embedded use).
    fn read(r: &mut Reader<'_>) -> Result<Self>;

    /// Parse exactly one value from `bytes`; trailing bytes are an error.
    fn parse(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let v = Self::read(&mut r)?;
        r.finish().at(Self::NAME)?;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_big_endian_and_tracks_position() {
        let data = [1u8, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 4, 9, 9];
        let mut r = Reader::new(&data);
        assert_eq!(r.u8().unwrap(), 1);
        assert_eq!(r.u16().unwrap(), 2);
        assert_eq!(r.u32().unwrap(), 3);
        assert_eq!(r.u64().unwrap(), 4);
        assert_eq!(r.position(), 15);
        assert_eq!(r.remaining(), 2);
        let e = r.u32().unwrap_err();
        assert_eq!(e.offset(), 15);
        assert_eq!(
            e.kind(),
            &ErrorKind::Truncated {
                needed: 4,
                available: 2
            }
        );
        // a failed read does not consume
        assert_eq!(r.rest(), &[9, 9]);
        assert!(r.finish().is_ok());
    }

    #[test]
    fn sub_reader_keeps_absolute_offsets() {
        let data = [0u8; 10];
        let mut r = Reader::new(&data);
        r.bytes(3).unwrap();
        let mut s = r.sub(4).unwrap();
        assert_eq!(s.position(), 3);
        s.u16().unwrap();
        let e = s.u32().unwrap_err();
        assert_eq!(e.offset(), 5);
        assert_eq!(r.position(), 7);
        let e = r.finish().unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::TrailingBytes { count: 3 });
    }

    #[test]
    fn slice_sink_never_overflows_silently() {
        let mut buf = [0u8; 3];
        let mut s = SliceSink::new(&mut buf);
        s.put_u16(0x0102);
        s.put_u16(0x0304);
        assert!(s.overflowed());
        assert_eq!(s.written(), 2);
        assert_eq!(buf, [1, 2, 0]);
    }
}
