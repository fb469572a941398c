package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// BenchmarkCheck runs `reviewer check` in-process on a realistic generated
// set of 200 migrations with 1,500 statements (bench/gen, the generator
// bench/check.sh uses at 2,000 files and 15,000 statements): discovery,
// parsing, every default rule and the text report.
func BenchmarkCheck(b *testing.B) {
	dir := b.TempDir()
	gen := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "run", "../../bench/gen", "-files", "200", "-statements", "1500", "-out", dir)
	if out, err := gen.CombinedOutput(); err != nil {
		b.Fatalf("bench/gen: %v\n%s", err, out)
	}
	var stderr strings.Builder
	b.ReportAllocs()
	for b.Loop() {
		stderr.Reset()
		if code := run(context.Background(), []string{"check", "--format", "text", "--color", "never", dir}, strings.NewReader(""), io.Discard, &stderr); code != exitBlocking {
			b.Fatalf("exit %d, want %d (the set has blocking findings): %s", code, exitBlocking, stderr.String())
		}
	}
	b.ReportMetric(1500, "statements/op")
}

// BenchmarkCheckHistory runs `reviewer check` in-process on a generated
// application history (bench/histgen: tables with keys and indexes,
// altered, renamed and dropped) of HISTORY_FILES files, 3,000 by default:
// its per-file cost must not grow with the number of tables the history
// has built (profile it with -cpuprofile).
func BenchmarkCheckHistory(b *testing.B) {
	files := "3000"
	if v := os.Getenv("HISTORY_FILES"); v != "" {
		files = v
	}
	dir := b.TempDir()
	gen := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "run", "../../bench/histgen", "-files", files, "-out", dir)
	if out, err := gen.CombinedOutput(); err != nil {
		b.Fatalf("bench/histgen: %v\n%s", err, out)
	}
	var stderr strings.Builder
	b.ReportAllocs()
	for b.Loop() {
		stderr.Reset()
		if code := run(context.Background(), []string{"check", "--format", "text", "--color", "never", dir}, strings.NewReader(""), io.Discard, &stderr); code != exitBlocking {
			b.Fatalf("exit %d, want %d (the history has blocking findings): %s", code, exitBlocking, stderr.String())
		}
	}
}
