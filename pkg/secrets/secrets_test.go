package secrets_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/secrets"
)

// entry returns a fresh "id:base64key" entry and its base64 key.
func entry(t *testing.T, id string) (string, string) {
	t.Helper()
	e, err := secrets.GenerateEntry(id)
	if err != nil {
		t.Fatalf("GenerateEntry(%q): %v", id, err)
	}
	_, key, _ := strings.Cut(e, ":")
	return e, key
}

func parse(t *testing.T, s string) *secrets.Keyring {
	t.Helper()
	k, err := secrets.ParseKeyring(s)
	if err != nil {
		t.Fatalf("ParseKeyring: %v", err)
	}
	return k
}

func TestKeyring_RoundTrip(t *testing.T) {
	t.Parallel()
	e1, _ := entry(t, "k1")
	e2, _ := entry(t, "k2")
	ring := parse(t, e1+", "+e2)

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		plaintext := []byte("sk-test-0123456789")
		aad := []byte("provider-id")
		keyID, ct, err := ring.Encrypt(plaintext, aad)
		if err != nil {
			t.Fatalf("Encrypt: %v", err)
		}
		if keyID != "k1" {
			t.Errorf("key id = %q, want the primary k1", keyID)
		}
		if bytes.Contains(ct, plaintext) {
			t.Error("ciphertext contains the plaintext")
		}
		if len(ct) != 12+len(plaintext)+16 {
			t.Errorf("ciphertext length = %d, want nonce+plaintext+tag = %d", len(ct), 12+len(plaintext)+16)
		}
		got, err := ring.Decrypt(keyID, ct, aad)
		if err != nil {
			t.Fatalf("Decrypt: %v", err)
		}
		if !bytes.Equal(got, plaintext) {
			t.Errorf("Decrypt = %q, want %q", got, plaintext)
		}
	})

	t.Run("FreshNonce", func(t *testing.T) {
		t.Parallel()
		_, a, _ := ring.Encrypt([]byte("same"), nil)
		_, b, _ := ring.Encrypt([]byte("same"), nil)
		if bytes.Equal(a, b) {
			t.Error("two encryptions of the same plaintext are identical")
		}
	})

	t.Run("ErrAADMismatch", func(t *testing.T) {
		t.Parallel()
		keyID, ct, err := ring.Encrypt([]byte("secret"), []byte("row-1"))
		if err != nil {
			t.Fatalf("Encrypt: %v", err)
		}
		if _, err := ring.Decrypt(keyID, ct, []byte("row-2")); !errors.Is(err, secrets.ErrDecrypt) {
			t.Errorf("Decrypt with other aad: err = %v, want ErrDecrypt", err)
		}
	})

	t.Run("ErrTampered", func(t *testing.T) {
		t.Parallel()
		keyID, ct, _ := ring.Encrypt([]byte("secret"), nil)
		ct[len(ct)-1] ^= 1
		if _, err := ring.Decrypt(keyID, ct, nil); !errors.Is(err, secrets.ErrDecrypt) {
			t.Errorf("tampered: err = %v, want ErrDecrypt", err)
		}
		if _, err := ring.Decrypt(keyID, ct[:10], nil); !errors.Is(err, secrets.ErrDecrypt) {
			t.Errorf("truncated: err = %v, want ErrDecrypt", err)
		}
	})

	t.Run("ErrUnknownKey", func(t *testing.T) {
		t.Parallel()
		_, ct, _ := ring.Encrypt([]byte("secret"), nil)
		_, err := ring.Decrypt("k9", ct, nil)
		if !errors.Is(err, secrets.ErrUnknownKey) {
			t.Errorf("err = %v, want ErrUnknownKey", err)
		}
	})

	t.Run("ErrWrongKey", func(t *testing.T) {
		t.Parallel()
		_, ct, _ := ring.Encrypt([]byte("secret"), nil)
		if _, err := ring.Decrypt("k2", ct, nil); !errors.Is(err, secrets.ErrDecrypt) {
			t.Errorf("err = %v, want ErrDecrypt", err)
		}
	})
}

func TestKeyring_Rotation(t *testing.T) {
	t.Parallel()
	e1, _ := entry(t, "k1")
	e2, _ := entry(t, "k2")
	before := parse(t, e1)
	after := parse(t, e2+","+e1)

	keyID, ct, err := before.Encrypt([]byte("old secret"), []byte("aad"))
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	got, err := after.Decrypt(keyID, ct, []byte("aad"))
	if err != nil {
		t.Fatalf("Decrypt after rotation: %v", err)
	}
	if string(got) != "old secret" {
		t.Errorf("Decrypt = %q", got)
	}
	newID, _, err := after.Encrypt([]byte("new secret"), nil)
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	if newID != "k2" || after.Primary() != "k2" {
		t.Errorf("new key id = %q, primary = %q, want k2", newID, after.Primary())
	}
	if ids := after.IDs(); len(ids) != 2 || ids[0] != "k2" || ids[1] != "k1" {
		t.Errorf("IDs = %v, want [k2 k1]", ids)
	}
}

func TestParseKeyring(t *testing.T) {
	t.Parallel()
	good, goodKey := entry(t, "k1")
	_, otherKey := entry(t, "k2")
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = byte(250 - i) // bytes that encode to '-' / '_' in URL base64
	}
	short := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		for _, in := range []string{
			good,
			" " + good + " ",
			"a.b_c-1:" + base64.RawStdEncoding.EncodeToString(raw),
			"url:" + base64.URLEncoding.EncodeToString(raw),
			"rawurl:" + base64.RawURLEncoding.EncodeToString(raw),
			good + ",k2:" + otherKey,
		} {
			if _, err := secrets.ParseKeyring(in); err != nil {
				t.Errorf("ParseKeyring(entry like %q...): %v", in[:4], err)
			}
		}
	})

	t.Run("Err", func(t *testing.T) {
		t.Parallel()
		cases := []struct {
			name, in, want string
		}{
			{"Empty", "", "no keys"},
			{"Blank", "   ", "no keys"},
			{"EmptyEntry", good + ",", "entry 2: empty"},
			{"NoColon", goodKey, "entry 1: want id:base64key"},
			{"BadID", "bad id:" + goodKey, "entry 1: key id must match"},
			{"EmptyID", ":" + goodKey, "entry 1: key id must match"},
			{"LongID", strings.Repeat("a", 65) + ":" + goodKey, "entry 1: key id must match"},
			{"Duplicate", good + ",k1:" + otherKey, "entry 2: duplicate key id (same as entry 1)"},
			{"Short", "k2:" + short, "entry 1: key must be 32 bytes, got 16"},
			{"NotBase64", "k1:" + goodKey[:20] + "!!" + goodKey[22:], "entry 1: key is not valid base64"},
			{"EmptyKey", "k1:", "entry 1: key is empty"},
			{"SecondBad", good + ",k2:" + short, "entry 2: key must be 32 bytes, got 16"},
			{"Reversed", goodKey + ":k1", "entry 1: key id must match"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				k, err := secrets.ParseKeyring(tc.in)
				if err == nil {
					t.Fatalf("ParseKeyring = %v, want error", k)
				}
				msg := err.Error()
				if !strings.Contains(msg, tc.want) {
					t.Errorf("error %q does not contain %q", msg, tc.want)
				}
				for _, secret := range []string{goodKey, otherKey, short, goodKey[:20], goodKey[22:]} {
					if strings.Contains(msg, secret) {
						t.Errorf("error %q contains key material", msg)
					}
				}
			})
		}
	})
}

func TestKeyring_String(t *testing.T) {
	t.Parallel()
	e1, k1 := entry(t, "k1")
	e2, k2 := entry(t, "k2")
	ring := parse(t, e1+","+e2)
	raw1, _ := base64.StdEncoding.DecodeString(k1)

	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("ring", "keyring", ring)
	outputs := []string{
		ring.String(),
		fmt.Sprintf("%v", ring),
		fmt.Sprintf("%+v", ring),
		fmt.Sprintf("%#v", ring),
		fmt.Sprintf("%s", ring),
		fmt.Sprintf("%x", ring),
		fmt.Sprintf("%v", *ring),
		fmt.Sprintf("%+v", []any{ring}),
		logged.String(),
	}
	for _, out := range outputs {
		if !strings.Contains(out, "k1") || !strings.Contains(out, "k2") {
			t.Errorf("output %q does not name the key ids", out)
		}
		for _, secret := range []string{k1, k2, k1[:10], fmt.Sprintf("%x", raw1[:8]), string(raw1[:8])} {
			if strings.Contains(out, secret) {
				t.Errorf("output %q reveals key material", out)
			}
		}
	}
}

func TestGenerateEntry(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		e, err := secrets.GenerateEntry("prod-2026")
		if err != nil {
			t.Fatalf("GenerateEntry: %v", err)
		}
		ring := parse(t, e)
		if ring.Primary() != "prod-2026" {
			t.Errorf("Primary = %q", ring.Primary())
		}
		e2, _ := secrets.GenerateEntry("prod-2026")
		if e == e2 {
			t.Error("two generated entries are equal")
		}
	})

	t.Run("DefaultID", func(t *testing.T) {
		t.Parallel()
		e, err := secrets.GenerateEntry("")
		if err != nil {
			t.Fatalf("GenerateEntry: %v", err)
		}
		id, _, _ := strings.Cut(e, ":")
		if !regexp.MustCompile(`^k\d{8}-[0-9a-f]{4}$`).MatchString(id) {
			t.Errorf("id = %q, want k<yyyymmdd>-<hex>", id)
		}
		parse(t, e)
	})

	t.Run("ErrBadID", func(t *testing.T) {
		t.Parallel()
		if _, err := secrets.GenerateEntry("no spaces"); err == nil {
			t.Error("want error for an id with a space")
		}
	})
}

func TestKeyFingerprint(t *testing.T) {
	t.Parallel()
	// The value the OpenAPI document promises: SHA-256 over the domain and
	// the key, first 16 hex digits. Computed independently with
	// `printf 'sabe-provider-key:sk-test' | sha256sum`.
	const want = "7f341bbb6294111f"
	if got := secrets.KeyFingerprint("sk-test"); got != want {
		t.Fatalf("KeyFingerprint(sk-test) = %q, want %q", got, want)
	}
	if a, b := secrets.KeyFingerprint("sk-a"), secrets.KeyFingerprint("sk-b"); a == b {
		t.Fatalf("two keys share fingerprint %q", a)
	}
	if got := secrets.KeyFingerprint("sk-test"); !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(got) {
		t.Fatalf("fingerprint %q is not 16 hex digits", got)
	}
}
