package sqlparse

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestEachKeepsLoadOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for i := 1; i <= 60; i++ {
		body := fmt.Sprintf("CREATE TABLE t%d (id int);\n", i)
		if i == 17 {
			body = "CREATE TABLEX broken;\n"
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("V%d__m.sql", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := Load(context.Background(), []string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []*File
	if err := Each(context.Background(), []string{dir}, Options{}, func(f *File) error {
		got = append(got, f)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("Each gave %d files, Load %d", len(got), len(want))
	}
	for i := range got {
		if got[i].Path != want[i].Path || len(got[i].Statements) != len(want[i].Statements) {
			t.Errorf("file %d: Each %s, Load %s", i, got[i].Path, want[i].Path)
		}
	}
	if got[16].Statements[0].Err == nil {
		t.Errorf("syntax error of V17 lost")
	}

	stop := errors.New("stop")
	n := 0
	err = Each(context.Background(), []string{dir}, Options{}, func(*File) error {
		n++
		if n == 5 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 5 {
		t.Errorf("Each after fn error: err=%v calls=%d", err, n)
	}
	if err := Each(context.Background(), []string{filepath.Join(dir, "nope")}, Options{}, func(*File) error { return nil }); err == nil {
		t.Error("missing path: no error")
	}
}

// TestEachReadErrorInOrder: a file that cannot be read stops the walk at
// its turn: fn has had every file before it, none after it.
func TestEachReadErrorInOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	gone := 4*runtime.GOMAXPROCS(0) + 50 // beyond Each's parse window
	for i := 1; i <= gone+20; i++ {
		p := filepath.Join(dir, fmt.Sprintf("V%d__m.sql", i))
		if err := os.WriteFile(p, []byte(fmt.Sprintf("CREATE TABLE t%d (id int);\n", i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	err := Each(context.Background(), []string{dir}, Options{}, func(f *File) error {
		if len(got) == 0 {
			// Listed but gone before it is read: far beyond the parse
			// window, so not read yet.
			if err := os.Remove(filepath.Join(dir, fmt.Sprintf("V%d__m.sql", gone))); err != nil {
				t.Fatal(err)
			}
		}
		got = append(got, filepath.Base(f.Path))
		return nil
	})
	if err == nil {
		t.Fatal("no error for a file removed before it was read")
	}
	if want := fmt.Sprintf("V%d__m.sql", gone-1); len(got) != gone-1 || got[len(got)-1] != want {
		t.Errorf("fn got %d files ending %v, want V1..%s", len(got), got[max(0, len(got)-2):], want)
	}
}

// TestEachCancel: a cancelled context stops the walk with its error.
func TestEachCancel(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for i := 1; i <= 40; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("V%d__m.sql", i)), []byte("SELECT 1;\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := Each(ctx, []string{dir}, Options{}, func(*File) error {
		n++
		if n == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if n >= 40 {
		t.Errorf("fn called for all %d files after the cancel", n)
	}
}
