//! Parser for the header of a `.npy` file: a Python dict literal such as
//! `{'descr': '<f4', 'fortran_order': False, 'shape': (6, 3), }`
//! (numpy `lib/format.py`, versions 1.0–3.0).

use crate::dtype::{ElemKind, Endian};

/// The three fields numpy writes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NpyHeader {
    /// The `descr` string, e.g. `<f4` (or a description of a structured dtype).
    pub descr: String,
    /// `true` when the data is stored column-major.
    pub fortran_order: bool,
    /// Dimensions as written in the header.
    pub shape: Vec<u64>,
}

/// A Python literal of the subset used by numpy headers.
#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Str(String),
    Bool(bool),
    Int(u64),
    None,
    Seq(Vec<Lit>),
    Dict(Vec<(Lit, Lit)>),
}

/// Deepest nesting accepted, so a hostile header cannot overflow the stack.
const MAX_DEPTH: usize = 16;

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self
            .s
            .get(self.pos)
            .is_some_and(|c| c.is_ascii_whitespace())
        {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.pos).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        match self.peek() {
            Some(x) if x == c => {
                self.pos += 1;
                Ok(())
            }
            Some(x) => Err(format!(
                "expected '{}' at byte {}, found '{}'",
                c as char, self.pos, x as char
            )),
            None => Err(format!(
                "expected '{}' at byte {}, found end of header",
                c as char, self.pos
            )),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Lit, String> {
        if depth > MAX_DEPTH {
            return Err("header literal nested too deeply".into());
        }
        match self.peek() {
            Some(q @ (b'\'' | b'"')) => self.string(q),
            Some(b'(') => self.sequence(b'(', b')', depth),
            Some(b'[') => self.sequence(b'[', b']', depth),
            Some(b'{') => self.dict(depth),
            Some(c) if c.is_ascii_digit() => self.int(),
            Some(c) if c.is_ascii_alphabetic() => self.word(),
            Some(c) => Err(format!(
                "unexpected character '{}' at byte {}",
                c as char, self.pos
            )),
            None => Err("unexpected end of header".into()),
        }
    }

    fn string(&mut self, quote: u8) -> Result<Lit, String> {
        self.pos += 1;
        let start = self.pos;
        while let Some(&c) = self.s.get(self.pos) {
            if c == b'\\' {
                return Err("escape sequences in header strings are not supported".into());
            }
            if c == quote {
                let text = String::from_utf8_lossy(&self.s[start..self.pos]).into_owned();
                self.pos += 1;
                return Ok(Lit::Str(text));
            }
            self.pos += 1;
        }
        Err("unterminated string in header".into())
    }

    fn int(&mut self) -> Result<Lit, String> {
        let start = self.pos;
        while self.s.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.pos]).expect("ASCII digits");
        // Python 2 wrote long integers as `3L`.
        if self.s.get(self.pos) == Some(&b'L') {
            self.pos += 1;
        }
        text.parse::<u64>()
            .map(Lit::Int)
            .map_err(|_| format!("dimension {text} does not fit in 64 bits"))
    }

    fn word(&mut self) -> Result<Lit, String> {
        let start = self.pos;
        while self
            .s
            .get(self.pos)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            self.pos += 1;
        }
        match &self.s[start..self.pos] {
            b"True" => Ok(Lit::Bool(true)),
            b"False" => Ok(Lit::Bool(false)),
            b"None" => Ok(Lit::None),
            w => Err(format!(
                "unexpected word '{}' in header",
                String::from_utf8_lossy(w)
            )),
        }
    }

    fn sequence(&mut self, open: u8, close: u8, depth: usize) -> Result<Lit, String> {
        self.expect(open)?;
        let mut items = Vec::new();
        loop {
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok(Lit::Seq(items));
            }
            items.push(self.value(depth + 1)?);
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(c) if c == close => {}
                _ => {
                    return Err(format!(
                        "expected ',' or '{}' at byte {}",
                        close as char, self.pos
                    ))
                }
            }
        }
    }

    fn dict(&mut self, depth: usize) -> Result<Lit, String> {
        self.expect(b'{')?;
        let mut items = Vec::new();
        loop {
            if self.peek() == Some(b'}') {
                self.pos += 1;
                return Ok(Lit::Dict(items));
            }
            let key = self.value(depth + 1)?;
            self.expect(b':')?;
            let value = self.value(depth + 1)?;
            items.push((key, value));
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {}
                _ => return Err(format!("expected ',' or '}}' at byte {}", self.pos)),
            }
        }
    }
}

/// Parses the header text (without magic and length prefix).
pub(crate) fn parse_header(text: &[u8]) -> Result<NpyHeader, String> {
    let mut p = Parser { s: text, pos: 0 };
    let Lit::Dict(items) = p.value(0)? else {
        return Err("header is not a dict".into());
    };
    if p.peek().is_some() {
        return Err(format!(
            "unexpected text after the header dict at byte {}",
            p.pos
        ));
    }
    let field = |name: &str| {
        items
            .iter()
            .find(|(k, _)| matches!(k, Lit::Str(s) if s == name))
            .map(|(_, v)| v)
            .ok_or_else(|| format!("header has no '{name}' field"))
    };
    let descr = match field("descr")? {
        Lit::Str(s) => s.clone(),
        other => format!("structured dtype {other:?}"),
    };
    let fortran_order = match field("fortran_order")? {
        Lit::Bool(b) => *b,
        other => {
            return Err(format!(
                "'fortran_order' is {other:?}, expected True or False"
            ))
        }
    };
    let shape = match field("shape")? {
        Lit::Seq(dims) => dims
            .iter()
            .map(|d| match d {
                Lit::Int(n) => Ok(*n),
                other => Err(format!(
                    "shape entry {other:?} is not a non-negative integer"
                )),
            })
            .collect::<Result<Vec<u64>, String>>()?,
        other => return Err(format!("'shape' is {other:?}, expected a tuple")),
    };
    Ok(NpyHeader {
        descr,
        fortran_order,
        shape,
    })
}

/// Maps a numpy `descr` such as `<f4`, `>i2` or `|u1` to an element type and byte order;
/// `None` for anything layerlaw does not read (bool, complex, strings, datetimes, ...).
pub(crate) fn parse_descr(descr: &str) -> Option<(ElemKind, Endian)> {
    let b = descr.as_bytes();
    let (endian, rest) = match b.first()? {
        b'<' | b'|' => (Endian::Little, &b[1..]),
        b'>' => (Endian::Big, &b[1..]),
        b'=' if cfg!(target_endian = "big") => (Endian::Big, &b[1..]),
        b'=' => (Endian::Little, &b[1..]),
        _ => (Endian::Little, b),
    };
    let kind = match rest {
        b"f2" | b"e" => ElemKind::F16,
        b"f4" => ElemKind::F32,
        b"f8" => ElemKind::F64,
        b"i1" => ElemKind::I8,
        b"i2" => ElemKind::I16,
        b"i4" => ElemKind::I32,
        b"i8" => ElemKind::I64,
        b"u1" => ElemKind::U8,
        b"u2" => ElemKind::U16,
        b"u4" => ElemKind::U32,
        b"u8" => ElemKind::U64,
        _ => return None,
    };
    Some((kind, endian))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numpy_header() {
        let h = parse_header(b"{'descr': '<f4', 'fortran_order': False, 'shape': (6, 3), }    \n")
            .unwrap();
        assert_eq!(
            h,
            NpyHeader {
                descr: "<f4".into(),
                fortran_order: false,
                shape: vec![6, 3]
            }
        );
        let h = parse_header(b"{\"shape\": (5,), \"fortran_order\": True, \"descr\": \">i2\"}")
            .unwrap();
        assert_eq!(h.shape, vec![5]);
        assert!(h.fortran_order);
        assert_eq!(
            parse_header(b"{'descr':'|u1','fortran_order':False,'shape':()}")
                .unwrap()
                .shape,
            Vec::<u64>::new()
        );
        assert_eq!(
            parse_header(b"{'descr':'<f8','fortran_order':False,'shape':(3L, 2L)}")
                .unwrap()
                .shape,
            vec![3, 2]
        );
    }

    #[test]
    fn rejects_malformed_headers() {
        for bad in [
            &b"{'descr': '<f4', 'fortran_order': False}"[..],
            b"{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}",
            b"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",
            b"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
            b"{'descr': '<f4', 'fortran_order': False, 'shape': (1,) junk",
            b"['descr']",
            b"{'descr': '<f4",
            b"",
        ] {
            assert!(
                parse_header(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let deep = "[".repeat(100);
        let text = format!("{{'descr': {deep}, 'fortran_order': False, 'shape': ()}}");
        assert!(parse_header(text.as_bytes())
            .unwrap_err()
            .contains("nested"));
    }

    #[test]
    fn maps_descr_strings() {
        assert_eq!(parse_descr("<f4"), Some((ElemKind::F32, Endian::Little)));
        assert_eq!(parse_descr(">f8"), Some((ElemKind::F64, Endian::Big)));
        assert_eq!(parse_descr("|u1"), Some((ElemKind::U8, Endian::Little)));
        assert_eq!(parse_descr("<f2"), Some((ElemKind::F16, Endian::Little)));
        for unsupported in ["|b1", "<c8", "<U3", "|S4", "<M8[ns]", "<f16", "O"] {
            assert_eq!(parse_descr(unsupported), None, "{unsupported}");
        }
    }
}
