//! Request headers given on the command line.

/// Parses `-H` values ("Name: value", repeatable) into a header map; errors name the flag.
pub fn parse(values: &[String]) -> Result<http::HeaderMap, String> {
    let mut headers = http::HeaderMap::new();
    for h in values {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| format!("-H '{h}' must look like 'Name: value'"))?;
        let name = http::HeaderName::from_bytes(name.trim().to_ascii_lowercase().as_bytes())
            .map_err(|_| format!("-H '{h}': invalid header name"))?;
        let value = http::HeaderValue::from_str(value.trim())
            .map_err(|_| format!("-H '{h}': invalid header value"))?;
        headers.append(name, value);
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_lowercased_and_bad_input_names_the_flag() {
        let h = super::parse(&["X-Test: 1".into(), "x-test: 2".into()]).unwrap();
        assert_eq!(h.get_all("x-test").iter().count(), 2);
        assert!(super::parse(&["nocolon".into()])
            .unwrap_err()
            .starts_with("-H 'nocolon'"));
    }
}
