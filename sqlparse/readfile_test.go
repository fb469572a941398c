package sqlparse

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestReadFileMax reads files around the scratch buffer's size and the
// limit, as a file the listing saw (regular) and as one it did not.
func TestReadFileMax(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name     string
		size     int
		max      int64
		wantData bool
	}{
		{"empty", 0, 100, true},
		{"small", 3000, MaxFileSize, true},
		{"scratch size minus one", 32<<10 - 1, MaxFileSize, true},
		{"scratch size", 32 << 10, MaxFileSize, true},
		{"beyond scratch", 100 << 10, MaxFileSize, true},
		{"at the limit", 500, 500, true},
		{"over a small limit", 501, 500, false},
		{"over a limit beyond scratch", 40 << 10, 35 << 10, false},
	} {
		src := bytes.Repeat([]byte("SELECT 1;\n"), tc.size/10+1)[:tc.size]
		p := filepath.Join(dir, filepath.Base(tc.name)+".sql")
		if err := os.WriteFile(p, src, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, regular := range []bool{true, false} {
			data, size, err := readFileMax(p, tc.max, regular)
			if err != nil {
				t.Fatalf("%s (regular %v): %v", tc.name, regular, err)
			}
			if size != int64(tc.size) {
				t.Errorf("%s (regular %v): size %d, want %d", tc.name, regular, size, tc.size)
			}
			if tc.wantData && (data == nil || !bytes.Equal(data, src)) {
				t.Errorf("%s (regular %v): got %d bytes, want the file's %d", tc.name, regular, len(data), tc.size)
			}
			if !tc.wantData && data != nil {
				t.Errorf("%s (regular %v): got %d bytes of a file over the limit", tc.name, regular, len(data))
			}
		}
	}
	if _, _, err := readFileMax(filepath.Join(dir, "missing.sql"), 100, true); err == nil {
		t.Error("a missing file read without an error")
	}
}
