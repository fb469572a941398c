package main

import (
	"runtime/debug"
	"testing"
)

func TestMemoryLimitFor(t *testing.T) {
	t.Parallel()
	const mb = 1 << 20
	tests := []struct {
		name                string
		live, current, want uint64
	}{
		{"small live heap keeps the floor", 5 * mb, memoryFloor, memoryFloor},
		{"live heap near half the floor keeps it", 7 * mb, memoryFloor, memoryFloor},
		{"live heap over half the floor raises it", 10 * mb, memoryFloor, 24 * mb},
		{"large live heap: twice it plus headroom", 100 * mb, memoryFloor, 204 * mb},
		{"never lowered", 5 * mb, 204 * mb, 204 * mb},
	}
	for _, tt := range tests {
		if got := memoryLimitFor(tt.live, tt.current); got != tt.want {
			t.Errorf("%s: memoryLimitFor(%d MB, %d MB) = %d MB, want %d MB", tt.name, tt.live/mb, tt.current/mb, got/mb, tt.want/mb)
		}
	}
}

// TestBoundMemory: the limit is set for the review and restored after,
// and left alone when the environment sets GOGC. Not parallel: the limit
// is process-wide.
func TestBoundMemory(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	before := debug.SetMemoryLimit(-1)
	stop := boundMemory()
	if got := debug.SetMemoryLimit(-1); got != memoryFloor {
		t.Errorf("limit during the review = %d, want %d", got, memoryFloor)
	}
	stop()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit after the review = %d, want %d restored", got, before)
	}
	t.Setenv("GOGC", "200")
	stop = boundMemory()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("with GOGC set the limit became %d, want %d untouched", got, before)
	}
	stop()
}
