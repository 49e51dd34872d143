use ascii::AsciiString;

/// A header field name, compared case-insensitively.
#[derive(Debug, Clone)]
pub struct HeaderField(AsciiString);

/// A header: a field name and its value.
#[derive(Debug, Clone)]
pub struct Header {
    /// The field name.
    pub field: HeaderField,
    /// The field value.
    pub value: AsciiString,
}
