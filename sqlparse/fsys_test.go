package sqlparse

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLoadFromFS loads every testdata project from the disk and through
// an fs.FS of the same tree: the same files, in the same order, with the
// same statements and frameworks.
func TestLoadFromFS(t *testing.T) {
	t.Parallel()
	const root = "testdata/projects"
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	type view struct {
		Path, Framework string
		Part            []Part
		Statements      int
		Analysed        bool
		InTransaction   bool
	}
	summarize := func(files []*File, trim string) []view {
		var out []view
		for _, f := range files {
			v := view{Path: filepath.ToSlash(f.Path), Framework: string(f.Framework), Statements: len(f.Statements), Analysed: f.Analysed, InTransaction: f.InTransaction}
			if rel, err := filepath.Rel(trim, f.Path); err == nil && trim != "" {
				v.Path = filepath.ToSlash(rel)
			}
			for _, st := range f.Statements {
				v.Part = append(v.Part, st.Part)
			}
			out = append(out, v)
		}
		return out
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			disk, err := Load(t.Context(), []string{filepath.Join(root, e.Name())}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			inFS, err := Load(t.Context(), []string{e.Name()}, Options{FS: os.DirFS(root)})
			if err != nil {
				t.Fatal(err)
			}
			if len(disk) == 0 {
				t.Fatal("no files loaded from disk")
			}
			if diff := cmp.Diff(summarize(disk, root), summarize(inFS, "")); diff != "" {
				t.Errorf("fs.FS load differs from disk (-disk +fs):\n%s", diff)
			}
		})
	}
	if _, err := Load(t.Context(), []string{"missing"}, Options{FS: os.DirFS(root)}); err == nil {
		t.Error("a missing path in the FS loaded without error")
	}
}
