//! The rating component's API errors: it only reads, and agency staff see their own figures only.

api_plumbing::read_only_api_error!(
    "rating",
    /// Agency staff asking for figures other than their own agency's.
    Forbidden => (
        StatusCode::FORBIDDEN,
        codes::FORBIDDEN,
        "承办单位只能查看本单位的指标 (an agency sees its own figures only)"
    ),
);
