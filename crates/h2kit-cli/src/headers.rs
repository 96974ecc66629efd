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
        check_value(&name, &value).map_err(|why| format!("-H '{h}': {why}"))?;
        headers.append(name, value);
    }
    Ok(headers)
}

/// Header values whose meaning we know are checked as a server would read them: a
/// `priority` that a server would ignore (RFC 9218 §4) is a typo worth saying.
pub fn check_value(name: &http::HeaderName, value: &http::HeaderValue) -> Result<(), String> {
    if name == "priority" {
        h2kit::proto::priority::Priority::parse_strict(value.as_bytes())
            .map_err(|why| format!("a server would ignore this priority: {why}"))?;
    }
    Ok(())
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
        assert!(super::parse(&["priority: u=1, i".into()]).is_ok());
        assert_eq!(
            super::parse(&["Priority: u=8".into()]).unwrap_err(),
            "-H 'Priority: u=8': a server would ignore this priority: u must be an integer \
             from 0 to 7 (RFC 9218 §4.1)"
        );
    }
}
