//! The public's query code (查询码): what an applicant is given with their case number to look
//! up the progress of their application without signing in. It is the first 6 bytes (12 hex
//! digits) of HMAC-SHA256 under the console's secret of `"egov-console query\0" + case number`:
//! anyone holding the secret can compute it (the console and the demo do; a CLI command to
//! print one is still to come), no one can guess it from the case number, and it needs no
//! storage. Changing the secret changes every code, so production sets one
//! (`--console-secret`) and keeps it.

use hmac::{KeyInit, Mac};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// How many bytes of the MAC a code carries: 48 bits, far beyond guessing through a lookup
/// form.
const CODE_BYTES: usize = 6;

fn mac(secret: &[u8], case_no: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(b"egov-console query\0");
    mac.update(case_no.as_bytes());
    mac
}

/// The query code of `case_no`.
pub fn query_code(secret: &[u8], case_no: &str) -> String {
    let bytes = mac(secret, case_no).finalize().into_bytes();
    crate::session::hex(&bytes[..CODE_BYTES])
}

/// Whether `code` is the query code of `case_no` (any case of hex digits, spaces and dashes
/// ignored; compared in constant time).
pub fn verify(secret: &[u8], case_no: &str, code: &str) -> bool {
    let code: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_lowercase();
    let Some(bytes) = crate::session::unhex(&code) else {
        return false;
    };
    bytes.len() == CODE_BYTES && mac(secret, case_no).verify_truncated_left(&bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_opens_its_own_case_only() {
        let code = query_code(b"secret", "C-1");
        assert_eq!(code.len(), 12);
        assert!(verify(b"secret", "C-1", &code));
        assert!(verify(b"secret", "C-1", &code.to_uppercase()));
        assert!(!verify(b"secret", "C-2", &code));
        assert!(!verify(b"other", "C-1", &code));
        assert!(!verify(b"secret", "C-1", &code[..10]));
        assert!(!verify(b"secret", "C-1", ""));
    }
}
