package provider

import (
	"strings"
)

// minHeaderSecret is the length from which any header value counts as a
// secret for Scrub.
const minHeaderSecret = minFragment

// Secrets lists what Scrub must remove from any message about a call to
// ep: the key and the header values. Header values are credentials as
// often as not (Azure's api-key, Proxy-Authorization, cookies), so every
// one counts, whatever its header's name, except a value shorter than six
// bytes of a header whose name does not look like a credential's: too
// short to be one, and scrubbing it ("1", "true") would cut up every
// message it occurs in.
func (e Endpoint) Secrets() []string {
	secrets := []string{e.APIKey}
	for k, v := range e.Headers {
		if len(v) >= minHeaderSecret || credentialName(k) {
			secrets = append(secrets, v)
		}
	}
	return secrets
}

// Secrets is the Secrets of r's endpoint.
func (r Request) Secrets() []string { return r.endpoint().Secrets() }

// credentialName reports whether a header's name says it carries a
// credential.
func credentialName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"auth", "key", "token", "secret", "cookie", "session", "pass", "signature"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}
