package report

import (
	"bytes"
	"strings"
	"testing"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/dblab"
)

func sample() *Report {
	return Build(
		[]File{{Path: "db/V1__a.sql", Framework: "flyway", InTransaction: true, Statements: 3, Analysed: true},
			{Path: "db/V2__big.sql", Framework: "flyway", Analysed: false, SkippedReason: "file is 6000000 bytes, over the 5242880-byte limit"}},
		[]checks.Finding{
			{Rule: "index-create-nonconcurrent", Severity: checks.Error, Blocking: true, Path: "db/V1__a.sql", Line: 2, Column: 1,
				Message: "CREATE INDEX i on existing table t without CONCURRENTLY blocks writes.", Why: "SHARE lock.",
				Fix: "Build it concurrently:\n\n    CREATE INDEX CONCURRENTLY i ON t (x);\n\nthen drop invalid ones.", DocsURL: "https://www.postgresql.org/docs/current/sql-createindex.html",
				Fingerprint: "abc"},
			{Rule: "drop-column", Severity: checks.Warning, Path: "db/V1__a.sql", Line: 3, Column: 1,
				Message: "/merge is not a quick action here", Why: "Old code reads it.", Fix: "/unapprove expand and contract",
				DocsURL: "https://www.postgresql.org/docs/current/sql-altertable.html", Evidence: map[string]any{"rows": 12}},
		},
		[]dblab.Measurement{{Path: "db/V1__a.sql", Line: 2, DurationMS: 1500, Rows: -1, Rewritten: []string{"t"},
			Locks: []dblab.Lock{{Relation: "t", Mode: "ShareLock", HeldMS: 1500, Blocks: []string{"writes"}}}}},
	)
}

func TestBuildCounts(t *testing.T) {
	t.Parallel()
	s := sample().Summary
	if s.Files != 2 || s.Statements != 3 || s.Errors != 1 || s.Warnings != 1 || s.Blocking != 1 {
		t.Errorf("summary = %+v", s)
	}
}

func TestMarkdown(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := WriteMarkdown(&b, sample(), MarkdownOptions{Commit: "0123456789abcdef0123", Marker: "<!-- pgai-reviewer:summary -->"}); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"<!-- pgai-reviewer:summary -->\n",
		"1 blocking finding in 1 of 2 migrations",
		"Measured on a clone: 1 statement run.",
		"| where (in `db/`) |",
		"| `V1__a.sql:2` | `index-create-nonconcurrent` | 🔴 error, blocking |",
		"```sql\nCREATE INDEX CONCURRENTLY i ON t (x);\n```",
		"Reviewed commit `0123456789ab`",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Index(md, "index-create-nonconcurrent") > strings.Index(md, "drop-column") {
		t.Error("blocking finding is not listed first")
	}
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "/") {
			t.Errorf("line would run as a GitLab quick action: %q", line)
		}
	}
}

func TestCodeQualitySeverities(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := WriteCodeQuality(&b, sample()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{`"severity": "critical"`, `"severity": "minor"`, `"begin": 2`, `"check_name": "drop-column"`, `"path": "db/V1__a.sql"`} {
		if !strings.Contains(out, want) {
			t.Errorf("code quality lacks %s:\n%s", want, out)
		}
	}
}

func TestJUnitSkipsAndFails(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := WriteJUnit(&b, sample()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{`failures="1"`, `skipped="1"`, `<failure message="[index-create-nonconcurrent]`, `<skipped message="file is 6000000 bytes`} {
		if !strings.Contains(out, want) {
			t.Errorf("junit lacks %s:\n%s", want, out)
		}
	}
}

func TestTextNoColorUnlessAsked(t *testing.T) {
	t.Parallel()
	var plain, colored bytes.Buffer
	WriteText(&plain, sample(), TextOptions{})
	WriteText(&colored, sample(), TextOptions{Color: true})
	if strings.Contains(plain.String(), "\x1b[") || !strings.Contains(colored.String(), "\x1b[") {
		t.Error("colour codes wrong")
	}
	if !strings.Contains(plain.String(), "db/V1__a.sql:2:1: error [index-create-nonconcurrent]") ||
		!strings.Contains(plain.String(), "SHARE on t held 1.50 s (blocks writes)") {
		t.Errorf("text:\n%s", plain.String())
	}
}
