//! Standard Webhooks signing (<https://www.standardwebhooks.com>), which the
//! contract's webhook notifier uses so receivers can check with any of the
//! scheme's libraries that a throttle order really came from us.

use std::fmt;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::NotifyError;

const SECRET_PREFIX: &str = "whsec_";

/// Secrets are accepted with or without `=` padding, as the reference
/// libraries accept them, so a secret that works in a receiver works here.
const SECRET_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Signs webhook bodies with the key of a `whsec_` secret.
#[derive(Clone)]
pub struct WebhookSigner {
    key: Vec<u8>,
}

impl WebhookSigner {
    /// Reads a secret written as Standard Webhooks does: `whsec_` followed by
    /// the base64 of the key. `notifier` only names the notifier in errors.
    pub fn from_secret(notifier: &str, secret: &str) -> Result<WebhookSigner, NotifyError> {
        let invalid = |problem| NotifyError::InvalidSecret {
            notifier: notifier.to_string(),
            problem,
        };
        // A raw key without the prefix would also decode as base64 by
        // accident; refusing it catches a secret pasted from the wrong place.
        let encoded = secret
            .strip_prefix(SECRET_PREFIX)
            .ok_or_else(|| invalid("it does not start with `whsec_`"))?;
        let key = SECRET_BASE64
            .decode(encoded.trim_end())
            .map_err(|_| invalid("the part after `whsec_` is not base64"))?;
        if key.is_empty() {
            return Err(invalid("the key is empty"));
        }
        Ok(WebhookSigner { key })
    }

    /// The `webhook-signature` header value: `v1,` and the base64
    /// HMAC-SHA256 of `{id}.{timestamp}.{body}`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("hmac takes keys of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

impl fmt::Debug for WebhookSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSigner { key: <redacted> }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of the Standard Webhooks reference libraries.
    #[test]
    fn signs_the_reference_vector() {
        let signer =
            WebhookSigner::from_secret("hook", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = signer.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn accepts_unpadded_secrets() {
        let padded = WebhookSigner::from_secret("hook", "whsec_c2VjcmV0").unwrap();
        let unpadded = WebhookSigner::from_secret("hook", "whsec_c2VjcmV0MQ").unwrap();
        assert_eq!(padded.key, b"secret");
        assert_eq!(unpadded.key, b"secret1");
    }

    #[test]
    fn rejects_secrets_not_in_whsec_form() {
        for (secret, problem) in [
            ("c2VjcmV0", "does not start with `whsec_`"),
            ("WHSEC_c2VjcmV0", "does not start with `whsec_`"),
            ("whsec_not base64!", "is not base64"),
            ("whsec_", "the key is empty"),
        ] {
            let error = WebhookSigner::from_secret("hook", secret)
                .unwrap_err()
                .to_string();
            assert!(
                error.starts_with("notifier hook: the secret must be `whsec_`"),
                "{error}"
            );
            assert!(error.contains(problem), "{secret}: {error}");
            assert!(
                !error.contains("c2VjcmV0"),
                "the secret leaks into: {error}"
            );
        }
    }

    #[test]
    fn debug_does_not_show_the_key() {
        let signer = WebhookSigner::from_secret("hook", "whsec_c2VjcmV0").unwrap();
        assert_eq!(format!("{signer:?}"), "WebhookSigner { key: <redacted> }");
    }
}
