//! Generated blocks inside hand-written documents: the lines between a BEGIN and an END marker
//! belong to the tool that computes them. The tool writes them with [`splice`]; a test reads them
//! back with [`block`] and compares them with what the stored record renders to, so that the
//! document cannot drift from the record.

/// A block's pair of marker lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Markers {
    pub begin: &'static str,
    pub end: &'static str,
}

/// Why a document's block cannot be replaced.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MarkedError {
    #[error("no line {0:?}")]
    NoBegin(&'static str),
    #[error("no line {0:?} after the BEGIN line")]
    NoEnd(&'static str),
}

impl Markers {
    /// `text` with the part between the marker lines replaced by `body` (which should end with
    /// a newline); the rest of `text` is kept byte for byte.
    pub fn splice(&self, text: &str, body: &str) -> Result<String, MarkedError> {
        let (head, rest) = text
            .split_once(self.begin)
            .ok_or(MarkedError::NoBegin(self.begin))?;
        let (_, tail) = rest
            .split_once(self.end)
            .ok_or(MarkedError::NoEnd(self.end))?;
        Ok(format!("{head}{}\n{body}{}{tail}", self.begin, self.end))
    }

    /// The part of `text` between the marker lines, or `None` where either is missing.
    pub fn block<'a>(&self, text: &'a str) -> Option<&'a str> {
        let (_, rest) = text.split_once(self.begin)?;
        let (inner, _) = rest.split_once(self.end)?;
        inner.strip_prefix('\n')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: Markers = Markers {
        begin: "<!-- BEGIN t -->",
        end: "<!-- END t -->",
    };

    #[test]
    fn splice_replaces_only_the_block_and_block_reads_it_back() {
        let text = format!("intro\n{}\nold\n{}\nrest\n", M.begin, M.end);
        let new = M.splice(&text, "new 1\nnew 2\n").unwrap();
        assert_eq!(
            new,
            format!("intro\n{}\nnew 1\nnew 2\n{}\nrest\n", M.begin, M.end)
        );
        assert_eq!(M.block(&new), Some("new 1\nnew 2\n"));
        // splicing what is there changes nothing
        assert_eq!(M.splice(&new, M.block(&new).unwrap()).unwrap(), new);
    }

    #[test]
    fn missing_markers_are_named() {
        assert_eq!(M.splice("x\n", "b\n"), Err(MarkedError::NoBegin(M.begin)));
        let only_begin = format!("{}\nx\n", M.begin);
        assert_eq!(M.splice(&only_begin, "b\n"), Err(MarkedError::NoEnd(M.end)));
        assert_eq!(M.block(&only_begin), None);
    }
}
