package pgpack

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pganalyze/pg_query_go/v6/parser"
)

// corpus is every SQL-ish file of the repository's test data and examples
// (txtar fixtures as a whole: their "-- name --" headers are SQL comments),
// plus statements made to hit the edges: deep nesting, messages over 127
// and 16,383 bytes (longer length prefixes), every kind of scalar field.
func corpus(t testing.TB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, dir := range []string{"../../sqlparse/testdata", "../../checks/testdata", "../../examples"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !(strings.HasSuffix(path, ".sql") || strings.HasSuffix(path, ".txtar")) {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			out[path] = string(b)
			return nil
		})
		if err != nil {
			t.Fatalf("read corpus: %v", err)
		}
	}
	if len(out) < 100 {
		t.Fatalf("corpus has %d files, want the repository's test data", len(out))
	}
	out["deep"] = "SELECT " + strings.Repeat("(1 + ", 300) + "1" + strings.Repeat(")", 300)
	out["long string"] = "INSERT INTO t VALUES ('" + strings.Repeat("x", 20000) + "')"
	out["many columns"] = "CREATE TABLE wide (" + strings.TrimSuffix(strings.Repeat("c text DEFAULT 'abc' NOT NULL, ", 400), ", ") + ")"
	out["scalars"] = `SELECT 1.5::float8, -2147483648, 9223372036854775807, true, false, NULL, B'1010', X'ff', $1, e'\n'
		FROM t WHERE a IN (1, 2, 3) AND b IS NOT DISTINCT FROM c ORDER BY 1 DESC NULLS LAST LIMIT 10 OFFSET -5`
	out["syntax error"] = "ALTER TABLE t ADD COLUMN"
	out["empty"] = ""
	out["comment only"] = "-- nothing\n/* at all */"
	return out
}

// TestSameBytesAsProtobufC parses the corpus once with protobuf-c's own
// size and pack and once with the replacement, and wants the same bytes.
func TestSameBytesAsProtobufC(t *testing.T) {
	// Not parallel: useReference switches every parse in the process.
	before := Calls()
	for name, sql := range corpus(t) {
		compare(t, name, sql)
	}
	if Calls() == before {
		t.Fatal("the replacement never ran: the linker did not apply -Wl,--wrap (internal linking?)")
	}
}

func compare(t *testing.T, name, sql string) {
	t.Helper()
	useReference(true)
	want, wantErr := parser.ParseToProtobuf(sql)
	wantScan, wantScanErr := parser.ScanToProtobuf(sql)
	useReference(false)
	got, gotErr := parser.ParseToProtobuf(sql)
	gotScan, gotScanErr := parser.ScanToProtobuf(sql)
	if errString(gotErr) != errString(wantErr) || errString(gotScanErr) != errString(wantScanErr) {
		t.Errorf("%s: errors differ: parse %v / %v, scan %v / %v", name, gotErr, wantErr, gotScanErr, wantScanErr)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: parse bytes differ: %d bytes, protobuf-c %d; first difference at %d", name, len(got), len(want), firstDiff(got, want))
	}
	if !bytes.Equal(gotScan, wantScan) {
		t.Errorf("%s: scan bytes differ: %d bytes, protobuf-c %d; first difference at %d", name, len(gotScan), len(wantScan), firstDiff(gotScan, wantScan))
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func FuzzSameBytes(f *testing.F) {
	for _, sql := range corpus(f) {
		if len(sql) < 4096 {
			f.Add(sql)
		}
	}
	f.Fuzz(func(t *testing.T, sql string) {
		compare(t, "fuzz input", sql)
	})
}

// BenchmarkParseToProtobuf parses the corpus with protobuf-c's size and
// pack (reference) and with the replacement.
func BenchmarkParseToProtobuf(b *testing.B) {
	var all []string
	for _, sql := range corpus(b) {
		all = append(all, sql)
	}
	for _, bc := range []struct {
		name string
		ref  bool
	}{{"protobuf-c", true}, {"pgpack", false}} {
		b.Run(bc.name, func(b *testing.B) {
			useReference(bc.ref)
			defer useReference(false)
			for b.Loop() {
				for _, sql := range all {
					_, _ = parser.ParseToProtobuf(sql)
				}
			}
		})
	}
}
