package secrets

import "github.com/sabe-dev/sabe/internal/envconf"

// EnvVar is the variable that holds the keyring.
const EnvVar = "SABE_ENCRYPTION_KEY"

// FromEnv reads and parses the keyring from SABE_ENCRYPTION_KEY. Processes
// refuse to start without a valid one; the error says what is wrong but
// never repeats the key.
func FromEnv(r *envconf.Reader) *Keyring {
	v := r.Secret(EnvVar)
	if v == "" {
		r.Fail(EnvVar, "is required: one or more id:base64key entries (run `sabe keygen` to make one)")
		return nil
	}
	k, err := ParseKeyring(v)
	if err != nil {
		r.Fail(EnvVar, "%v", err)
		return nil
	}
	return k
}
