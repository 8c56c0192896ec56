package redisconn

import "testing"

func TestSlot(t *testing.T) {
	t.Parallel()
	// The check value of CRC-16/XMODEM, as the Redis Cluster
	// specification gives it.
	if got := crc16("123456789"); got != 0x31C3 {
		t.Errorf("crc16(123456789) = %#x, want 0x31c3", got)
	}
	for key, want := range map[string]int{
		// CLUSTER KEYSLOT answers, from Redis's documentation and a
		// redis-server 7.
		"somekey":       11058,
		"foo{hash_tag}": 2515,
		"hash_tag":      2515,
		"foo":           12182,
		// Only the first tag counts.
		"{user1000}.following{x}": Slot("user1000"),
	} {
		if got := Slot(key); got != want {
			t.Errorf("Slot(%q) = %d, want %d", key, got, want)
		}
	}
	// An empty tag is no tag: the whole key is hashed.
	if got, want := Slot("foo{}bar"), int(crc16("foo{}bar")%SlotCount); got != want {
		t.Errorf("Slot(foo{}bar) = %d, want %d (the whole key)", got, want)
	}
}
