//! Bounded line reading over any buffered async stream.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// Reads bytes into `buf` (cleared first) up to and including the next LF, or until `max` bytes
/// have been read, whichever comes first. Returns the number of bytes read; 0 means EOF.
///
/// A result without a trailing LF and of length `max` is a piece of an over-long line.
///
/// # Errors
/// I/O errors of the underlying stream.
pub async fn read_chunk<R: AsyncBufRead + Unpin>(reader: &mut R, buf: &mut Vec<u8>, max: usize) -> std::io::Result<usize> {
    buf.clear();
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(buf.len());
        }
        let room = max - buf.len();
        let window = &available[..available.len().min(room)];
        match memchr_lf(window) {
            Some(pos) => {
                buf.extend_from_slice(&window[..=pos]);
                reader.consume(pos + 1);
                return Ok(buf.len());
            }
            None => {
                let n = window.len();
                buf.extend_from_slice(window);
                reader.consume(n);
                if buf.len() >= max {
                    return Ok(buf.len());
                }
            }
        }
    }
}

fn memchr_lf(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn splits_lines_and_caps_long_ones() {
        let mut input: &[u8] = b"short\r\nabcdefghij\r\nz";
        let mut buf = Vec::new();
        assert_eq!(read_chunk(&mut input, &mut buf, 8).await.unwrap(), 7);
        assert_eq!(buf, b"short\r\n");
        read_chunk(&mut input, &mut buf, 8).await.unwrap();
        assert_eq!(buf, b"abcdefgh");
        read_chunk(&mut input, &mut buf, 8).await.unwrap();
        assert_eq!(buf, b"ij\r\n");
        read_chunk(&mut input, &mut buf, 8).await.unwrap();
        assert_eq!(buf, b"z");
        assert_eq!(read_chunk(&mut input, &mut buf, 8).await.unwrap(), 0);
    }
}
