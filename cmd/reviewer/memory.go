package main

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// A review is a short batch job whose live heap is small (the parse trees
// of the few files in flight, the schema built so far, the parser's
// metadata: 4 to 6 MB on 2,000 migrations) but whose allocation rate is
// high. Under the default GOGC=100 the collector's goal is twice what it
// marked, and what it marks includes everything allocated while it
// marks, so the heap peaked near 15 MB. A soft memory limit caps the
// peak instead; the limit follows the live heap up (twice the live heap
// plus headroom: what GOGC=100 would allow), so a huge migration set never
// makes the collector run back to back. GOGC or GOMEMLIMIT in the environment turn this off.

const (
	// memoryFloor is the smallest limit: room for the runtime's own
	// memory and a heap of about three times the usual live heap. On the
	// 2,000-file bench set, 20 MiB let single runs peak at 34.7 MB RSS,
	// 19 MiB at 33.0 MB (median 33.1 -> 32.2) for about 4% more CPU.
	memoryFloor = 19 << 20
	// memoryHeadroom is added to twice the live heap for the runtime's
	// own memory.
	memoryHeadroom = 4 << 20
)

// boundMemory sets the soft memory limit for a review and keeps it above
// what the live heap needs; stop ends the watch and restores the limit.
func boundMemory() (stop func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	prev := debug.SetMemoryLimit(memoryFloor)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		limit := uint64(memoryFloor)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			metrics.Read(sample)
			if sample[0].Value.Kind() != metrics.KindUint64 {
				return
			}
			if l := memoryLimitFor(sample[0].Value.Uint64(), limit); l != limit {
				limit = l
				debug.SetMemoryLimit(int64(limit))
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		debug.SetMemoryLimit(prev)
	}
}

// memoryLimitFor returns the limit to use for a live heap of live bytes:
// the current one while it leaves room, else twice the live heap plus
// headroom. The limit never goes down during a review.
func memoryLimitFor(live, current uint64) uint64 {
	want := max(uint64(memoryFloor), 2*live+memoryHeadroom)
	return max(current, want)
}
