package pgdecode

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"
)

// repoRoot is the module root, two levels above this package.
const repoRoot = "../.."

// sample is one SQL text and the protobuf bytes pg_query made of it.
type sample struct {
	name string
	pb   []byte
}

// sqlText is one SQL input of the corpus.
type sqlText struct{ name, sql string }

// repoSQL collects the SQL of this repository's testdata and examples: every
// *.sql file and every *.sql section of the checks fixtures.
func repoSQL(t testing.TB) []sqlText {
	t.Helper()
	var out []sqlText
	for _, dir := range []string{"checks/testdata", "sqlparse/testdata", "examples"} {
		root := filepath.Join(repoRoot, dir)
		err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() {
				return nil
			}
			switch filepath.Ext(path) {
			case ".sql":
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				out = append(out, sqlText{path, string(b)})
			case ".txtar":
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				for name, body := range txtarSections(string(b)) {
					if strings.HasSuffix(name, ".sql") {
						out = append(out, sqlText{path + ":" + name, body})
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walk %s: %v", root, err)
		}
	}
	if len(out) < 100 {
		t.Fatalf("found only %d SQL texts in the repository testdata", len(out))
	}
	return out
}

// txtarSections splits the txtar format: "-- name --" lines start sections.
func txtarSections(s string) map[string]string {
	sections := map[string]string{}
	cur := ""
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "-- ") && strings.HasSuffix(trimmed, " --") && len(trimmed) > 6 {
			if cur != "" {
				sections[cur] = b.String()
			}
			cur = strings.TrimSpace(trimmed[3 : len(trimmed)-3])
			b.Reset()
			continue
		}
		b.WriteString(line)
	}
	if cur != "" {
		sections[cur] = b.String()
	}
	return sections
}

// pgQuerySQL returns the queries of pg_query_go's own testdata.
func pgQuerySQL(t testing.TB) []sqlText {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/pganalyze/pg_query_go/v6").Output()
	if err != nil {
		t.Fatalf("locate pg_query_go: %v", err)
	}
	path := filepath.Join(strings.TrimSpace(string(out)), "testdata", "fingerprint.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read pg_query testdata: %v", err)
	}
	var cases []struct {
		Input string `json:"input"`
	}
	// The file has a few trailing // comments, which JSON does not allow.
	b = regexp.MustCompile(`(?m),\s*//[^"\n]*$`).ReplaceAll(b, []byte(","))
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	var texts []sqlText
	for i, c := range cases {
		texts = append(texts, sqlText{fmt.Sprintf("fingerprint.json#%d", i), c.Input})
	}
	if len(texts) < 50 {
		t.Fatalf("found only %d queries in %s", len(texts), path)
	}
	return texts
}

// genSQL runs bench/gen, the benchmark's migration generator, into a
// temporary directory and returns its files.
func genSQL(t testing.TB, files, statements int) []sqlText {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "run", "./bench/gen", "-files", fmt.Sprint(files), "-statements", fmt.Sprint(statements), "-out", dir)
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bench/gen: %v\n%s", err, out)
	}
	var texts []sqlText
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || filepath.Ext(path) != ".sql" {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		texts = append(texts, sqlText{filepath.Base(path), string(b)})
		return nil
	})
	if err != nil {
		t.Fatalf("read generated migrations: %v", err)
	}
	if len(texts) != files {
		t.Fatalf("bench/gen wrote %d files, want %d", len(texts), files)
	}
	return texts
}

// protobufs parses each text with pg_query, and also each statement on its
// own when the whole text does not parse (fixtures hold syntax errors too).
func protobufs(t testing.TB, texts []sqlText) []sample {
	t.Helper()
	var out []sample
	for _, s := range texts {
		pb, err := parser.ParseToProtobuf(s.sql)
		if err == nil {
			out = append(out, sample{s.name, pb})
			continue
		}
		stmts, err := pg_query.SplitWithScanner(s.sql, true)
		if err != nil {
			continue
		}
		for i, stmt := range stmts {
			if pb, err := parser.ParseToProtobuf(stmt); err == nil {
				out = append(out, sample{fmt.Sprintf("%s#%d", s.name, i), pb})
			}
		}
	}
	return out
}

// corpus is every sample the equality tests run on.
func corpus(t *testing.T) []sample {
	t.Helper()
	var texts []sqlText
	texts = append(texts, repoSQL(t)...)
	texts = append(texts, pgQuerySQL(t)...)
	texts = append(texts, genSQL(t, 50, 400)...)
	return protobufs(t, texts)
}
