//! Bounded capture of a remote command's output. A handler that prints
//! 50 MB must not cost 50 MB (or three copies of it) on the bridge, nor
//! end up in the log or the JSON report: the stream is read to the end, so
//! the command finishes normally, but only its first and last bytes are
//! kept, with a count of what was left out.

use std::collections::VecDeque;

use tokio::io::{AsyncRead, AsyncReadExt as _};

/// How much of each output stream to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keep {
    /// Bytes kept from the start.
    pub head: usize,
    /// Bytes kept from the end (after the head).
    pub tail: usize,
}

impl Keep {
    /// certbridge's own scripts (probe, switch): their output grows with
    /// the number of certificates on a host, so keep plenty, from the start.
    pub const OWN_SCRIPT: Keep = Keep {
        head: 16 << 20,
        tail: 0,
    };
}

/// One stream, kept within [`Keep`].
#[derive(Debug)]
pub struct Capture {
    keep: Keep,
    head: Vec<u8>,
    tail: VecDeque<u8>,
    total: u64,
}

impl Capture {
    /// An empty capture.
    pub fn new(keep: Keep) -> Capture {
        Capture {
            keep,
            head: Vec::new(),
            tail: VecDeque::new(),
            total: 0,
        }
    }

    /// Add bytes read from the stream.
    pub fn push(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let room = self.keep.head.saturating_sub(self.head.len());
        let n = room.min(bytes.len());
        self.head.extend_from_slice(&bytes[..n]);
        bytes = &bytes[n..];
        if self.keep.tail == 0 || bytes.is_empty() {
            return;
        }
        if bytes.len() >= self.keep.tail {
            self.tail.clear();
            bytes = &bytes[bytes.len() - self.keep.tail..];
        }
        self.tail.extend(bytes);
        let over = self.tail.len().saturating_sub(self.keep.tail);
        self.tail.drain(..over);
    }

    /// Bytes the stream carried in all.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Bytes read but not kept.
    pub fn omitted(&self) -> u64 {
        self.total - (self.head.len() + self.tail.len()) as u64
    }

    /// The kept text (lossy UTF-8), with a marker where bytes were left out.
    pub fn text(&self) -> String {
        let mut text = String::from_utf8_lossy(&self.head).into_owned();
        let omitted = self.omitted();
        if omitted > 0 {
            text.push_str(&format!("\n[... {omitted} bytes not kept ...]\n"));
        }
        let (a, b) = self.tail.as_slices();
        text.push_str(&String::from_utf8_lossy(&[a, b].concat()));
        text
    }

    /// Read `stream` to its end into a capture.
    pub async fn read(stream: Option<impl AsyncRead + Unpin>, keep: Keep) -> Capture {
        let mut cap = Capture::new(keep);
        let Some(mut stream) = stream else {
            return cap;
        };
        let mut buf = vec![0u8; 64 << 10];
        // A read error ends the stream; the exit status tells what happened.
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0 {
                break;
            }
            cap.push(&buf[..n]);
        }
        cap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_head_and_tail_and_counts_the_rest() {
        let mut c = Capture::new(Keep { head: 4, tail: 3 });
        c.push(b"ab");
        c.push(b"cdefg");
        c.push(b"hij");
        c.push(b"k");
        assert_eq!(c.total(), 11);
        assert_eq!(c.omitted(), 4);
        assert_eq!(c.text(), "abcd\n[... 4 bytes not kept ...]\nijk");
    }

    #[test]
    fn small_output_is_kept_whole() {
        let mut c = Capture::new(Keep { head: 8, tail: 8 });
        c.push(b"hello");
        assert_eq!(c.omitted(), 0);
        assert_eq!(c.text(), "hello");
    }

    #[test]
    fn head_only_drops_the_rest() {
        let mut c = Capture::new(Keep { head: 2, tail: 0 });
        c.push(b"hello");
        assert_eq!(c.text(), "he\n[... 3 bytes not kept ...]\n");
    }

    #[test]
    fn a_large_chunk_keeps_only_its_end_in_the_tail() {
        let mut c = Capture::new(Keep { head: 1, tail: 2 });
        c.push(b"0123456789");
        assert_eq!(c.text(), "0\n[... 7 bytes not kept ...]\n89");
    }
}
