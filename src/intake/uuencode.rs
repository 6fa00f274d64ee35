//! uuencoded files inside text bodies (`begin 644 name` … `end`), still sent by old clients.

/// One file found in a text body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UuFile {
    pub name: String,
    pub data: Vec<u8>,
}

/// Limit on the number of uuencoded files taken from one body.
const MAX_FILES: usize = 32;

/// Finds and decodes every `begin MODE NAME` … `end` block.
pub fn files(text: &str) -> Vec<UuFile> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(rest) = line.strip_prefix("begin ") else { continue };
        let Some((mode, name)) = rest.split_once(' ') else { continue };
        if mode.len() != 3 || !mode.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            continue;
        }
        let mut data = Vec::new();
        for body in lines.by_ref() {
            if body == "end" || body.starts_with("end ") {
                break;
            }
            decode_line(body.as_bytes(), &mut data);
        }
        out.push(UuFile { name: name.trim().to_owned(), data });
        if out.len() >= MAX_FILES {
            break;
        }
    }
    out
}

fn decode_line(line: &[u8], out: &mut Vec<u8>) {
    let Some((&first, rest)) = line.split_first() else { return };
    let count = usize::from(first.wrapping_sub(b' ') & 0x3F);
    let value = |c: u8| c.wrapping_sub(b' ') & 0x3F;
    let mut produced = 0;
    for chunk in rest.chunks(4) {
        let c: Vec<u8> = (0..4).map(|i| value(*chunk.get(i).unwrap_or(&b'`'))).collect();
        for byte in [c[0] << 2 | c[1] >> 4, c[1] << 4 | c[2] >> 2, c[2] << 6 | c[3]] {
            if produced < count {
                out.push(byte);
                produced += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn decodes_a_block_between_text() {
        // "Cat" uuencoded.
        let text = "Hello\r\nbegin 644 cat.txt\r\n#0V%T\r\n`\r\nend\r\nBye";
        let files = super::files(&text.replace("\r\n", "\n"));
        assert_eq!(files, vec![super::UuFile { name: "cat.txt".into(), data: b"Cat".to_vec() }]);
        assert!(super::files("begin the meeting at 10\nend").is_empty());
    }
}
