package sqlparse

import (
	"context"
	"runtime"
	"sync"
)

// Each is Load for large migration sets: it finds and orders the files as
// Load does, parses them concurrently, and calls fn with each file in
// order, as soon as it and every file before it are parsed. At most a few
// files per CPU are held at once, so memory stays flat however many files
// there are; fn may drop the file when it is done with it. fn runs on one
// goroutine at a time. An error from fn stops the walk.
func Each(ctx context.Context, paths []string, opts Options, fn func(*File) error) error {
	jobs, err := collectAll(paths, opts)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		f   *File
		err error
	}
	workers := runtime.GOMAXPROCS(0)
	// One channel per file keeps the order; the window bounds how far the
	// parsers may run ahead of fn.
	window := make(chan struct{}, 4*workers)
	slots := make([]chan result, len(jobs))
	for i := range slots {
		slots[i] = make(chan result, 1)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f, err := jobs[i].load(opts)
				slots[i] <- result{f, err}
			}
		}()
	}
	go func() {
		defer close(next)
		for i := range jobs {
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	defer func() {
		cancel() // stop the feeder, so the workers end
		wg.Wait()
	}()
	for i := range jobs {
		var r result
		select {
		case r = <-slots[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		<-window
		if r.err != nil {
			return r.err
		}
		if err := fn(r.f); err != nil {
			return err
		}
	}
	return nil
}
