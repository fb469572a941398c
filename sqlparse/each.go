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
//
// There is no collecting goroutine: the worker that finishes the next file
// in order calls fn for it and for every parsed file after it, while the
// other workers go on parsing. A channel per file and a consumer that
// woke for each one made a context switch per file, which cost more than
// parsing a small migration.
func Each(ctx context.Context, paths []string, opts Options, fn func(*File) error) error {
	jobs, err := collectAll(paths, opts)
	if err != nil {
		return err
	}
	workers := min(runtime.GOMAXPROCS(0), max(len(jobs), 1))
	s := &sequencer{
		ctx:    ctx,
		jobs:   jobs,
		opts:   opts,
		fn:     fn,
		window: 4 * workers,
		ready:  map[int]loaded{},
	}
	s.more.L = &s.mu
	stop := context.AfterFunc(ctx, func() { s.fail(ctx.Err()) })
	defer stop()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(s.work)
	}
	wg.Wait()
	stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// loaded is a job's outcome: a file, or the error that reading it gave.
type loaded struct {
	f   *File
	err error
}

// sequencer hands files to parse to the workers and fn the parsed files
// in order.
type sequencer struct {
	ctx    context.Context
	jobs   []loadJob
	opts   Options
	fn     func(*File) error
	window int // files parsed ahead of fn, at most

	mu       sync.Mutex
	more     sync.Cond // next moved on, or the walk stopped
	claimed  int       // jobs handed to workers so far
	next     int       // the next file for fn
	ready    map[int]loaded
	checking bool // a worker is calling fn
	err      error
}

// fail stops the walk with err (the first error wins).
func (s *sequencer) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.more.Broadcast()
	s.mu.Unlock()
}

func (s *sequencer) work() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		for s.err == nil && s.claimed < len(s.jobs) && s.claimed >= s.next+s.window {
			s.more.Wait()
		}
		if s.err != nil || s.claimed >= len(s.jobs) {
			return
		}
		i := s.claimed
		s.claimed++
		s.mu.Unlock()
		f, err := s.jobs[i].load(s.opts)
		s.mu.Lock()
		// A file that cannot be read stops the walk when its turn comes,
		// so that fn still gets every file before it.
		s.ready[i] = loaded{f, err}
		if s.checking {
			continue // the worker calling fn will take it
		}
		s.checking = true
		for s.err == nil {
			if err := s.ctx.Err(); err != nil {
				s.err = err
				break
			}
			r, ok := s.ready[s.next]
			if !ok {
				break
			}
			delete(s.ready, s.next)
			if r.err != nil {
				s.err = r.err
				break
			}
			s.next++
			s.more.Broadcast()
			s.mu.Unlock()
			err := s.fn(r.f)
			s.mu.Lock()
			if err != nil && s.err == nil {
				s.err = err
			}
		}
		s.checking = false
		s.more.Broadcast()
	}
}
