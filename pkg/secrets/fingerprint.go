package secrets

import (
	"crypto/sha256"
	"encoding/hex"
)

// fingerprintDomain separates provider key fingerprints from any other
// SHA-256 of the same string, so a fingerprint cannot be matched against a
// table of plain hashes of leaked keys.
const fingerprintDomain = "sabe-provider-key:"

// KeyFingerprint returns the fingerprint of a provider API key: the first 16
// hex digits of SHA-256 over "sabe-provider-key:" and the key. The API returns
// it as a provider's api_key_fingerprint so that a client holding a key (sabe
// apply) can tell whether it is the one stored without the server ever
// returning the key; 64 bits say nothing useful about the key itself. The
// server and every client compute it here, so they cannot disagree.
func KeyFingerprint(key string) string {
	sum := sha256.Sum256([]byte(fingerprintDomain + key))
	return hex.EncodeToString(sum[:8])
}
