//! Share links: the playground state in the URL fragment.
//!
//! `#f1=DATA`, where `f1` is the format version and `DATA` is the state as
//! JSON, deflated (raw DEFLATE, RFC 1951) and written in unpadded base64url.
//! The link never holds trace data. Links longer than [`MAX_FRAGMENT`]
//! characters are refused both ways, so that a link always fits in chat
//! messages and server logs.

use crate::protocol::PlaygroundState;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use std::fmt;

/// The fragment key of the format this viewer writes.
pub const KEY: &str = "f1";

/// The longest fragment accepted or produced, in characters.
pub const MAX_FRAGMENT: usize = 8 * 1024;

/// The most bytes a fragment may inflate to.
const MAX_INFLATED: usize = 1024 * 1024;

/// Why a share link cannot be made or read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShareError {
    /// The state, encoded, is longer than [`MAX_FRAGMENT`].
    TooLong {
        /// Its length in characters.
        length: usize,
    },
    /// The fragment names a format this viewer does not read.
    UnknownVersion {
        /// The key found (`f2`, …).
        found: String,
    },
    /// The fragment is ours but damaged.
    Damaged {
        /// What is wrong.
        reason: String,
    },
}

impl fmt::Display for ShareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShareError::TooLong { length } => write!(
                f,
                "the share link is too long ({length} characters; at most {MAX_FRAGMENT}): \
                 download the filter as a file instead"
            ),
            ShareError::UnknownVersion { found } => write!(
                f,
                "this share link has format '{found}', which this viewer does not read \
                 (it reads '{KEY}'): it was probably made by a newer tracesieve"
            ),
            ShareError::Damaged { reason } => write!(
                f,
                "this share link is damaged ({reason}): ask for a fresh link"
            ),
        }
    }
}

/// The fragment (without `#`) for `state`.
pub fn encode(state: &PlaygroundState) -> Result<String, ShareError> {
    let json = serde_json::to_vec(state).map_err(|e| ShareError::Damaged {
        reason: e.to_string(),
    })?;
    let deflated = miniz_oxide::deflate::compress_to_vec(&json, 9);
    let fragment = format!("{KEY}={}", URL_SAFE_NO_PAD.encode(deflated));
    if fragment.len() > MAX_FRAGMENT {
        return Err(ShareError::TooLong {
            length: fragment.len(),
        });
    }
    Ok(fragment)
}

/// The state in `fragment` (with or without its `#`): `Ok(None)` when the
/// fragment holds no playground state (empty, or something else).
pub fn decode(fragment: &str) -> Result<Option<PlaygroundState>, ShareError> {
    let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
    let Some((key, data)) = fragment.split_once('=') else {
        return Ok(None);
    };
    if !is_version_key(key) {
        return Ok(None);
    }
    if key != KEY {
        return Err(ShareError::UnknownVersion { found: key.into() });
    }
    if fragment.len() > MAX_FRAGMENT {
        return Err(ShareError::TooLong {
            length: fragment.len(),
        });
    }
    let damaged = |reason: String| ShareError::Damaged { reason };
    let deflated = URL_SAFE_NO_PAD
        .decode(data.trim_end_matches('='))
        .map_err(|e| damaged(format!("not base64url: {e}")))?;
    let json = miniz_oxide::inflate::decompress_to_vec_with_limit(&deflated, MAX_INFLATED)
        .map_err(|e| damaged(format!("cannot inflate it: {:?}", e.status)))?;
    let state = serde_json::from_slice(&json).map_err(|e| damaged(format!("bad content: {e}")))?;
    Ok(Some(state))
}

/// `f` followed by one or more digits.
fn is_version_key(key: &str) -> bool {
    key.strip_prefix('f')
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracesieve_engine::{Framework, NamingMode};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn state() -> PlaygroundState {
        PlaygroundState {
            filters: vec![
                "[meta]\nname = \"shop\"\nversion = 1\n\n[[scope.rules]]\nselector = \"pkg:shop.*\"\n"
                    .into(),
                String::new(),
            ],
            naming: NamingMode::Paths,
            roots: vec!["/proj/src".into(), "/ü/ünï cødé".into()],
            framework: Some(Framework::Unittest),
        }
    }

    #[test]
    fn round_trips() {
        let fragment = encode(&state()).unwrap();
        assert!(fragment.starts_with("f1="));
        assert!(fragment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_=".contains(&b)));
        assert_eq!(decode(&fragment).unwrap(), Some(state()));
        assert_eq!(decode(&format!("#{fragment}")).unwrap(), Some(state()));
    }

    #[test]
    fn other_fragments_are_not_ours() {
        assert_eq!(decode("").unwrap(), None);
        assert_eq!(decode("#section-2").unwrap(), None);
        assert_eq!(decode("#x=1").unwrap(), None);
        assert_eq!(decode("#f=1").unwrap(), None);
    }

    #[test]
    fn unknown_versions_are_named() {
        let err = decode("#f2=abc").unwrap_err();
        assert_eq!(err, ShareError::UnknownVersion { found: "f2".into() });
        assert!(err.to_string().contains("newer tracesieve"));
    }

    #[test]
    fn damage_is_reported() {
        assert!(matches!(decode("#f1=!!!"), Err(ShareError::Damaged { .. })));
        let not_deflate = URL_SAFE_NO_PAD.encode(b"hello");
        assert!(matches!(
            decode(&format!("f1={not_deflate}")),
            Err(ShareError::Damaged { .. })
        ));
        let not_state = URL_SAFE_NO_PAD.encode(miniz_oxide::deflate::compress_to_vec(b"[1]", 6));
        let err = decode(&format!("f1={not_state}")).unwrap_err();
        assert!(err.to_string().contains("bad content"), "{err}");
    }

    #[test]
    fn long_states_are_refused() {
        // Incompressible text: a long run of pseudo-random characters.
        let mut seed = 7u64;
        let noise: String = (0..20_000)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                char::from(b'!' + ((seed >> 33) % 90) as u8)
            })
            .collect();
        let big = PlaygroundState {
            filters: vec![noise],
            ..PlaygroundState::default()
        };
        assert!(matches!(encode(&big), Err(ShareError::TooLong { .. })));
        let long = format!("f1={}", "A".repeat(MAX_FRAGMENT));
        assert!(matches!(decode(&long), Err(ShareError::TooLong { .. })));
    }
}
