// Package secrets encrypts provider API keys at rest with AES-256-GCM.
//
// The operator supplies a keyring in SABE_ENCRYPTION_KEY as comma-separated
// "id:base64key" entries. The first entry is the primary: everything new is
// encrypted with it. The others stay only to decrypt what was written before a
// rotation, which is why every ciphertext is stored next to the id of the key
// that sealed it.
//
// Nothing in this package ever prints key material: parse errors name the
// entry by position, and a Keyring formats as its ids only, so an accidental
// log line of the ring or of an error is safe.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
)

// KeySize is the length in bytes of every key in a keyring (AES-256).
const KeySize = 32

// nonceSize is the standard GCM nonce length; random nonces of this size are
// safe for far more encryptions than SABE will ever make with one key.
const nonceSize = 12

// ErrUnknownKey reports a ciphertext sealed with a key id that is not in the
// ring, typically because the key was removed before its ciphertexts were
// re-encrypted.
var ErrUnknownKey = errors.New("secrets: unknown key id")

// ErrDecrypt reports a ciphertext that does not open with its key: it was
// corrupted, truncated, or bound to different associated data. It says no
// more on purpose, so it cannot become an oracle.
var ErrDecrypt = errors.New("secrets: decrypt failed")

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Keyring is a set of named AES-256-GCM keys, one of them primary. It is
// safe for concurrent use and immutable once parsed.
type Keyring struct {
	primary string
	ids     []string
	aeads   map[string]cipher.AEAD
}

// ParseKeyring parses "id:base64key[,id:base64key...]". Keys are 32 bytes in
// standard base64; raw (unpadded) and URL-safe base64 are accepted too. Ids
// match [A-Za-z0-9_.-]{1,64} and must be unique. Errors identify the entry by
// its 1-based position and never quote the entry, since a misplaced colon
// could put key material in the id; the caller adds the variable name.
func ParseKeyring(s string) (*Keyring, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("no keys: want one or more id:base64key entries separated by commas")
	}
	k := &Keyring{aeads: make(map[string]cipher.AEAD)}
	seen := make(map[string]int)
	for i, entry := range strings.Split(s, ",") {
		n := i + 1
		entry = strings.TrimSpace(entry)
		if entry == "" {
			return nil, fmt.Errorf("entry %d: empty", n)
		}
		id, encoded, ok := strings.Cut(entry, ":")
		if !ok {
			return nil, fmt.Errorf("entry %d: want id:base64key", n)
		}
		id = strings.TrimSpace(id)
		if !idPattern.MatchString(id) {
			return nil, fmt.Errorf("entry %d: key id must match [A-Za-z0-9_.-]{1,64}", n)
		}
		if first, dup := seen[id]; dup {
			return nil, fmt.Errorf("entry %d: duplicate key id (same as entry %d)", n, first)
		}
		key, err := decodeKey(strings.TrimSpace(encoded))
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", n, err)
		}
		aead, err := newAEAD(key)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", n, err)
		}
		seen[id] = n
		k.ids = append(k.ids, id)
		k.aeads[id] = aead
	}
	k.primary = k.ids[0]
	return k, nil
}

// decodeKey accepts the base64 variants an operator is likely to paste. Its
// errors describe the problem without echoing the input.
func decodeKey(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("key is empty")
	}
	var key []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		key, err = enc.DecodeString(s)
		if err == nil {
			break
		}
	}
	if err != nil {
		return nil, errors.New("key is not valid base64")
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("key must be %d bytes, got %d", KeySize, len(key))
	}
	return key, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		// Unreachable with a 32-byte key; the message stays generic anyway.
		return nil, errors.New("key rejected by AES")
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, errors.New("key rejected by GCM")
	}
	return aead, nil
}

// Primary returns the id of the key new ciphertexts are sealed with.
func (k *Keyring) Primary() string { return k.primary }

// IDs returns the key ids in the order they were configured, primary first.
func (k *Keyring) IDs() []string { return append([]string(nil), k.ids...) }

// Encrypt seals plaintext with the primary key, binding it to aad (for
// example the id of the row that stores it, so a ciphertext copied to another
// row does not decrypt). It returns the key id to store beside the
// ciphertext, which is a random 12-byte nonce followed by the sealed data.
func (k *Keyring) Encrypt(plaintext, aad []byte) (keyID string, ciphertext []byte, err error) {
	if k == nil || k.primary == "" {
		return "", nil, errors.New("secrets: empty keyring")
	}
	aead := k.aeads[k.primary]
	out := make([]byte, nonceSize, nonceSize+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return "", nil, fmt.Errorf("secrets: nonce: %w", err)
	}
	out = aead.Seal(out, out[:nonceSize], plaintext, aad)
	return k.primary, out, nil
}

// Decrypt opens a ciphertext made by Encrypt with the key named keyID and
// the same aad. It returns ErrUnknownKey (wrapped, with the id) when the ring
// has no such key, and ErrDecrypt for anything else that goes wrong.
func (k *Keyring) Decrypt(keyID string, ciphertext, aad []byte) ([]byte, error) {
	if k == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, keyID)
	}
	aead, ok := k.aeads[keyID]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, keyID)
	}
	if len(ciphertext) < nonceSize+aead.Overhead() {
		return nil, ErrDecrypt
	}
	plaintext, err := aead.Open(nil, ciphertext[:nonceSize], ciphertext[nonceSize:], aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return plaintext, nil
}

// String describes the ring by its key ids only, so logging it is safe.
func (k *Keyring) String() string {
	if k == nil {
		return "secrets.Keyring(nil)"
	}
	return fmt.Sprintf("secrets.Keyring{primary: %s, ids: [%s]}", k.primary, strings.Join(k.ids, " "))
}

// GoString keeps %#v as safe as %v.
func (k *Keyring) GoString() string { return k.String() }

// Format makes every fmt verb print String, so no verb (%+v, %x, ...) can
// reach the keys through reflection.
func (k *Keyring) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, k.String()) }

// LogValue keeps structured logging on the same safe description.
func (k *Keyring) LogValue() slog.Value { return slog.StringValue(k.String()) }

// GenerateEntry returns a new "id:base64key" entry with a random key from
// crypto/rand, ready to be put first in SABE_ENCRYPTION_KEY. With an empty id
// it names the key after today's UTC date plus a random suffix, for example
// "k20261121-3f9a", so rotated keys sort by age.
func GenerateEntry(id string) (string, error) {
	if id == "" {
		var suffix [2]byte
		if _, err := rand.Read(suffix[:]); err != nil {
			return "", fmt.Errorf("secrets: generate key id: %w", err)
		}
		id = fmt.Sprintf("k%s-%x", time.Now().UTC().Format("20060102"), suffix)
	}
	if !idPattern.MatchString(id) {
		return "", errors.New("secrets: key id must match [A-Za-z0-9_.-]{1,64}")
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("secrets: generate key: %w", err)
	}
	return id + ":" + base64.StdEncoding.EncodeToString(key), nil
}
