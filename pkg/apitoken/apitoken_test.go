package apitoken_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/apitoken"
)

func generate(t *testing.T) string {
	t.Helper()
	tok, err := apitoken.Generate()
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return tok
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	seen := make(map[string]bool)
	for range 200 {
		tok := generate(t)
		if len(tok) != 43 || !strings.HasPrefix(tok, "sabe_") {
			t.Fatalf("token %q: want sabe_ + 38 characters", tok)
		}
		if err := apitoken.Check(tok); err != nil {
			t.Fatalf("Check(%q) = %v", tok, err)
		}
		if seen[tok] {
			t.Fatalf("duplicate token %q", tok)
		}
		seen[tok] = true
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	tok := generate(t)

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		if err := apitoken.Check(tok); err != nil {
			t.Errorf("Check = %v", err)
		}
	})

	t.Run("ErrChecksum", func(t *testing.T) {
		t.Parallel()
		for _, i := range []int{5, 20, 36, 37, 42} {
			b := []byte(tok)
			if b[i] == 'a' {
				b[i] = 'b'
			} else {
				b[i] = 'a'
			}
			if err := apitoken.Check(string(b)); !errors.Is(err, apitoken.ErrChecksum) {
				t.Errorf("flipped character %d: Check = %v, want ErrChecksum", i, err)
			}
		}
	})

	t.Run("ErrMalformed", func(t *testing.T) {
		t.Parallel()
		cases := map[string]string{
			"Empty":     "",
			"Prefix":    "sabx_" + tok[5:],
			"NoPrefix":  tok[5:],
			"Short":     tok[:42],
			"Long":      tok + "0",
			"Charset":   tok[:10] + "-" + tok[11:],
			"Space":     tok[:42] + " ",
			"Uppercase": "SABE_" + tok[5:],
			"NonASCII":  tok[:40] + "é" + tok[42:],
		}
		for name, in := range cases {
			if err := apitoken.Check(in); !errors.Is(err, apitoken.ErrMalformed) {
				t.Errorf("%s: Check(%q) = %v, want ErrMalformed", name, in, err)
			}
		}
	})
}

func TestHash(t *testing.T) {
	t.Parallel()
	a, b := generate(t), generate(t)
	if len(apitoken.Hash(a)) != 32 {
		t.Errorf("Hash length = %d, want 32", len(apitoken.Hash(a)))
	}
	if !bytes.Equal(apitoken.Hash(a), apitoken.Hash(a)) {
		t.Error("Hash is not deterministic")
	}
	if bytes.Equal(apitoken.Hash(a), apitoken.Hash(b)) {
		t.Error("different tokens hash equal")
	}
}

func TestDisplayPrefix(t *testing.T) {
	t.Parallel()
	tok := generate(t)
	if got := apitoken.DisplayPrefix(tok); got != tok[:12] || !strings.HasPrefix(got, "sabe_") {
		t.Errorf("DisplayPrefix = %q, want %q", got, tok[:12])
	}
	if got := apitoken.DisplayPrefix("sabe_"); got != "sabe_" {
		t.Errorf("DisplayPrefix(short) = %q", got)
	}
}

func FuzzCheck(f *testing.F) {
	tok, err := apitoken.Generate()
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{"", "sabe_", tok, tok[:42], tok + "x", "sabe_" + strings.Repeat("0", 38), "\xff\xfe"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := apitoken.Check(s)
		if err != nil && !errors.Is(err, apitoken.ErrMalformed) && !errors.Is(err, apitoken.ErrChecksum) {
			t.Errorf("Check(%q) = %v, want nil, ErrMalformed or ErrChecksum", s, err)
		}
		if err == nil && (len(s) != apitoken.Length || !strings.HasPrefix(s, apitoken.Prefix)) {
			t.Errorf("Check(%q) accepted a string of the wrong shape", s)
		}
	})
}
