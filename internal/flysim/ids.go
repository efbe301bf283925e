package flysim

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newULID returns a 26-character ULID (time-ordered), the format Fly uses for
// machine versions and event IDs.
func newULID(t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	_, _ = rand.Read(b[6:])
	// 128 bits → 26 base-32 digits (the first digit carries 3 bits).
	var out [26]byte
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// newMachineID returns a 14-hex-digit machine ID like Fly's.
func newMachineID() string { return randHex(7) }

// newNonce returns a lease nonce.
func newNonce() string { return randHex(12) }

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var (
	nameAdjectives = []string{"autumn", "bold", "calm", "damp", "eager", "frosty", "gentle", "hidden", "icy", "jolly", "lively", "misty", "noisy", "odd", "proud", "quiet", "rough", "silent", "twilight", "wild"}
	nameNouns      = []string{"bird", "brook", "cloud", "dawn", "dew", "field", "fire", "flower", "forest", "frog", "leaf", "moon", "night", "pine", "rain", "river", "sea", "snow", "star", "sun"}
)

// newMachineName returns a generated name like "misty-river-4821".
func newMachineName() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	n := binary.BigEndian.Uint32(b[:])
	return fmt.Sprintf("%s-%s-%04d", nameAdjectives[n%20], nameNouns[(n/20)%20], (n/400)%10000)
}

// digest returns the digest Fly shows for a secret value: hex of its SHA-256,
// shortened. The value itself is never kept anywhere else than the app.
func digest(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:8])
}

// owner derives a stable lease owner from an Authorization header without
// revealing the token.
func owner(authorization string) string {
	tok := strings.TrimSpace(authorization)
	if tok == "" {
		return "anonymous@flysim.local"
	}
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:6]) + "@tokens.fly.io"
}
