package sqlparse

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
