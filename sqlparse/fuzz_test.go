package sqlparse

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// FuzzParseFile checks that splitting and parsing never panic, whatever
// the content and framework, and that every reported position lies
// within the file, with Start <= End. The seed corpus is in
// testdata/fuzz/FuzzParseFile; the testdata projects are added too.
func FuzzParseFile(f *testing.F) {
	_ = filepath.WalkDir(filepath.Join("testdata", "projects"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == ".sql" {
			if src, err := os.ReadFile(p); err == nil {
				f.Add(src, uint8(0), false)
			}
		}
		return nil
	})
	f.Fuzz(func(t *testing.T, src []byte, fw uint8, vars bool) {
		opts := Options{}
		if int(fw) < len(Frameworks) {
			opts.Framework = Frameworks[fw]
		}
		if vars {
			opts.Vars = map[string]string{"schema": "a_much_longer_schema", "x": "", "n": "1"}
			opts.Templates = map[string]string{".Schema": "s", "Table": "a_table"}
		}
		file := ParseFile("fuzz.sql", src, opts)
		if !file.Analysed {
			if file.SkippedReason == "" {
				t.Fatal("skipped without a reason")
			}
			return
		}
		lines := bytes.Split(src, []byte("\n"))
		inFile := func(what string, p Pos) {
			t.Helper()
			if p.Line < 1 || p.Line > len(lines) {
				t.Fatalf("%s line %d outside 1..%d", what, p.Line, len(lines))
			}
			if n := utf8.RuneCount(lines[p.Line-1]); p.Col < 1 || p.Col > n+1 {
				t.Fatalf("%s %v: column outside 1..%d", what, p, n+1)
			}
		}
		for i, st := range file.Statements {
			if st.Index != i {
				t.Fatalf("statement %d has Index %d", i, st.Index)
			}
			if st.StartOffset < 0 || st.StartOffset > st.EndOffset || st.EndOffset > len(src) {
				t.Fatalf("statement %d offsets %d..%d outside 0..%d", i, st.StartOffset, st.EndOffset, len(src))
			}
			inFile("start", st.Start)
			inFile("end", st.End)
			if st.End.Line < st.Start.Line || (st.End.Line == st.Start.Line && st.End.Col < st.Start.Col) {
				t.Fatalf("statement %d ends at %v before its start %v", i, st.End, st.Start)
			}
			if i > 0 && st.StartOffset < file.Statements[i-1].EndOffset {
				t.Fatalf("statement %d starts inside statement %d", i, i-1)
			}
			if st.Err != nil {
				inFile("syntax error", st.Err.Pos)
				if st.Node != nil {
					t.Fatalf("statement %d has both a node and an error", i)
				}
			}
			if (st.TxBlock != 0) != st.InTransaction {
				t.Fatalf("statement %d: TxBlock %d but InTransaction %v", i, st.TxBlock, st.InTransaction)
			}
			for _, c := range st.Leading {
				inFile("comment", Pos{Line: c.Line, Col: 1})
			}
			if fp := st.Fingerprint(); st.Node != nil && len(fp) != 16 {
				t.Fatalf("statement %d: fingerprint %q, want 16 hex digits", i, fp)
			}
		}
		// Any text, even a broken one, gets a fingerprint without a panic.
		_ = tokenFingerprint(string(src))
	})
}
