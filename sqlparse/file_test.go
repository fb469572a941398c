package sqlparse

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseFileKeepsGoingAfterSyntaxError(t *testing.T) {
	t.Parallel()
	src := "-- first\nCREATE TABLE a (id int);\nCREATE TABLEX b (id int);\n\n  ALTER TABLE a\n    ADD COLUMN n text;\nSELECT $$ ; $$, 'it''s;', E'\\';' ;\nCREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\n"
	f := ParseFile("x.sql", []byte(src), Options{})
	if !f.Analysed {
		t.Fatalf("not analysed: %s", f.SkippedReason)
	}
	type want struct {
		start, end Pos
		bad        bool
	}
	wants := []want{
		{Pos{2, 1}, Pos{2, 24}, false},
		{Pos{3, 1}, Pos{3, 25}, true},
		{Pos{5, 3}, Pos{6, 22}, false},
		{Pos{7, 1}, Pos{7, 34}, false},
		{Pos{8, 1}, Pos{8, 82}, false},
	}
	if len(f.Statements) != len(wants) {
		for _, s := range f.Statements {
			t.Logf("%v-%v %q", s.Start, s.End, s.Text)
		}
		t.Fatalf("got %d statements, want %d", len(f.Statements), len(wants))
	}
	for i, w := range wants {
		s := f.Statements[i]
		if s.Start != w.start || s.End != w.end || (s.Err != nil) != w.bad {
			t.Errorf("statement %d: %v-%v err=%v, want %v-%v bad=%v (%q)", i, s.Start, s.End, s.Err, w.start, w.end, w.bad, s.Text)
		}
	}
	if e := f.Statements[1].Err; e == nil || e.Pos != (Pos{3, 8}) {
		t.Errorf("syntax error at %v, want 3:8", e)
	}
	if len(f.Statements[0].Leading) != 1 || f.Statements[0].Leading[0].Line != 1 {
		t.Errorf("leading comments = %+v", f.Statements[0].Leading)
	}
}

func TestPlaceholderPositions(t *testing.T) {
	t.Parallel()
	src := "CREATE TABLE ${schema}.t (id int);\nALTER TABLE ${schema}.t ADD COLUMN x intt bogus;\n"
	f := ParseFile("V1__x.sql", []byte(src), Options{Vars: map[string]string{"schema": "very_long_schema_name"}})
	if f.Statements[0].Err != nil {
		t.Fatalf("unexpected error %v", f.Statements[0].Err)
	}
	e := f.Statements[1].Err
	if e == nil || e.Pos != (Pos{2, 43}) {
		t.Fatalf("error at %v, want 2:43", e)
	}
}

func TestSkippedFiles(t *testing.T) {
	t.Parallel()
	for name, src := range map[string][]byte{
		"binary": {0, 1, 2},
		"latin1": {'S', 'E', 'L', 0xe9},
		"huge":   make([]byte, 10),
	} {
		f := ParseFile(name, src, Options{MaxFileSize: 5})
		if f.Analysed || f.SkippedReason == "" {
			t.Errorf("%s: analysed=%v reason=%q", name, f.Analysed, f.SkippedReason)
		}
	}
	big := bytes.Repeat([]byte("SELECT 1;\n"), MaxFileSize/10+1)
	if f := ParseFile("big.sql", big, Options{}); f.Analysed || !strings.Contains(f.SkippedReason, "5242880-byte limit") {
		t.Errorf("%d-byte file: analysed=%v reason=%q", len(big), f.Analysed, f.SkippedReason)
	}
}
