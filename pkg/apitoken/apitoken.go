// Package apitoken defines the format of SABE's API tokens.
//
// A token is "sabe_" followed by 32 random base62 characters and a 6
// character base62 CRC32 of those 32. The prefix makes tokens easy to spot
// (and to scrub from logs and secret scanners); the checksum lets Check throw
// away typos and garbage before anything touches the database. Only the
// SHA-256 of a token is stored.
package apitoken

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
)

// Prefix starts every token.
const Prefix = "sabe_"

const (
	alphabet     = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	randomLen    = 32
	checksumLen  = 6
	displayLen   = 12
	base         = uint32(len(alphabet))
	rejectAbove  = 256 - 256%len(alphabet) // bytes at or above this would bias the draw
	randomChunks = 64
)

// Length is the length of every token.
const Length = len(Prefix) + randomLen + checksumLen

// ErrMalformed reports a string that does not have the shape of a token:
// wrong prefix, length or characters.
var ErrMalformed = errors.New("apitoken: malformed token")

// ErrChecksum reports a token-shaped string whose checksum does not match,
// usually a typo or a truncated copy.
var ErrChecksum = errors.New("apitoken: checksum mismatch")

// Generate returns a new token with 32 base62 characters (about 190 bits) from
// crypto/rand.
func Generate() (string, error) {
	var b strings.Builder
	b.Grow(Length)
	b.WriteString(Prefix)
	buf := make([]byte, randomChunks)
	for n := 0; n < randomLen; {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("apitoken: random: %w", err)
		}
		for _, c := range buf {
			if int(c) >= rejectAbove {
				continue
			}
			b.WriteByte(alphabet[int(c)%len(alphabet)])
			n++
			if n == randomLen {
				break
			}
		}
	}
	random := b.String()[len(Prefix):]
	b.WriteString(checksum(random))
	return b.String(), nil
}

// checksum encodes the IEEE CRC32 of s as 6 base62 digits, most significant
// first and zero-padded (62^6 > 2^32, so it always fits).
func checksum(s string) string {
	v := crc32.ChecksumIEEE([]byte(s))
	var out [checksumLen]byte
	for i := checksumLen - 1; i >= 0; i-- {
		out[i] = alphabet[v%base]
		v /= base
	}
	return string(out[:])
}

// Check reports whether token is well-formed: ErrMalformed for the wrong
// prefix, length or alphabet, ErrChecksum when the checksum does not match.
// It does no I/O, so callers run it before looking the token up.
func Check(token string) error {
	if len(token) != Length || !strings.HasPrefix(token, Prefix) {
		return ErrMalformed
	}
	body := token[len(Prefix):]
	for i := 0; i < len(body); i++ {
		if !isBase62(body[i]) {
			return ErrMalformed
		}
	}
	if checksum(body[:randomLen]) != body[randomLen:] {
		return ErrChecksum
	}
	return nil
}

func isBase62(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}

// Hash returns the SHA-256 of token, the only form in which tokens are
// stored. Tokens carry enough entropy that a fast unsalted hash is safe.
func Hash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// DisplayPrefix returns the first 12 characters of token ("sabe_" and 7
// random characters), enough for a person to tell tokens apart in a list and
// far too few to use.
func DisplayPrefix(token string) string {
	if len(token) <= displayLen {
		return token
	}
	return token[:displayLen]
}
