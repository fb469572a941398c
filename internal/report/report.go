// Package report renders a review: text for terminals, the JSON contract,
// GitLab Code Quality, JUnit XML and the Markdown body of MR comments.
package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/sqlparse"
)

// Report is the outcome of a review, ready to render. Its JSON form is a
// public contract (other tools and our MR comments read it): add fields,
// never rename them.
type Report struct {
	Version      int                 `json:"version"`
	Files        []File              `json:"files"`
	Findings     []checks.Finding    `json:"findings"`
	Measurements []dblab.Measurement `json:"measurements,omitempty"`
	Summary      Summary             `json:"summary"`
	// PGVersion is the PostgreSQL version the rules assumed.
	PGVersion string `json:"pg_version,omitempty"`
	// Commit is the commit that was reviewed, when known.
	Commit string `json:"commit,omitempty"`
	// NotMeasured says why a clone experiment that was asked for measured
	// nothing, or not everything: "not measured: <reason>" (no clone
	// could be made, the run broke off) or "interrupted: not measured".
	// The findings are then the static ones and decide the gate alone.
	NotMeasured string `json:"not_measured,omitempty"`
}

// File describes one migration file of the review.
type File struct {
	Path          string `json:"path"`
	Framework     string `json:"framework"`
	InTransaction bool   `json:"in_transaction"`
	TxMode        string `json:"tx_mode,omitempty"`
	Statements    int    `json:"statements"`
	Analysed      bool   `json:"analysed"`
	SkippedReason string `json:"skipped_reason"`
}

// Summary counts files, statements and findings.
type Summary struct {
	Files      int `json:"files"`
	Statements int `json:"statements"`
	Errors     int `json:"errors"`
	Warnings   int `json:"warnings"`
	Infos      int `json:"infos"`
	Blocking   int `json:"blocking"`
	// Context counts the files read before or around the reported ones
	// for their schema and order, but not reported (a merge request's
	// earlier migrations).
	Context int `json:"context_files,omitempty"`
}

// New builds a report from the files and findings of a run.
func New(files []*sqlparse.File, findings []checks.Finding, measurements []dblab.Measurement) *Report {
	fs := make([]File, 0, len(files))
	for _, f := range files {
		fs = append(fs, FileOf(f))
	}
	return Build(fs, findings, measurements)
}

// FileOf describes a parsed file for the report, so that the parsed file
// itself can be dropped.
func FileOf(f *sqlparse.File) File {
	return File{
		Path: f.Path, Framework: string(f.Framework), InTransaction: f.InTransaction, TxMode: f.TxMode,
		Statements: len(f.Statements), Analysed: f.Analysed, SkippedReason: f.SkippedReason,
	}
}

// Build makes a report from file descriptions, findings and measurements,
// and counts them.
func Build(files []File, findings []checks.Finding, measurements []dblab.Measurement) *Report {
	r := &Report{Version: 1, Files: files, Findings: findings, Measurements: measurements}
	if r.Findings == nil {
		r.Findings = []checks.Finding{}
	}
	if r.Files == nil {
		r.Files = []File{}
	}
	r.Summary.Files = len(files)
	for _, f := range files {
		r.Summary.Statements += f.Statements
	}
	r.Summary.Add(findings)
	return r
}

// Add counts findings into the summary's severity and blocking counts.
func (s *Summary) Add(findings []checks.Finding) {
	for _, fd := range findings {
		switch fd.Severity {
		case checks.Error:
			s.Errors++
		case checks.Warning:
			s.Warnings++
		default:
			s.Infos++
		}
		if fd.Blocking {
			s.Blocking++
		}
	}
}

// SortedFindings returns the findings ordered for reading: blocking first,
// then by severity, path and line.
func (r *Report) SortedFindings() []checks.Finding {
	out := append([]checks.Finding(nil), r.Findings...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Blocking != b.Blocking {
			return a.Blocking
		}
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Line < b.Line
	})
	return out
}

// ReadingOrder returns the findings in the order the migrations run
// (the order of r.Files, numeric for numbered files), by line within a
// file.
func (r *Report) ReadingOrder() []checks.Finding {
	rank := make(map[string]int, len(r.Files))
	for i, f := range r.Files {
		if _, ok := rank[f.Path]; !ok {
			rank[f.Path] = i
		}
	}
	out := append([]checks.Finding(nil), r.Findings...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Path != b.Path {
			ra, oka := rank[a.Path]
			rb, okb := rank[b.Path]
			switch {
			case oka && okb:
				return ra < rb
			case oka != okb:
				return oka
			}
			return sqlparse.NaturalCompare(a.Path, b.Path) < 0
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Rule < b.Rule
	})
	return out
}

// WriteJSON writes the JSON contract.
//
// The findings are encoded one at a time, so that memory does not hold
// the whole document (several times over, as json.Encoder's indenting
// does) for a large migration set; the bytes are those of an indenting
// json.Encoder.
func WriteJSON(w io.Writer, r *Report) error {
	head := *r
	head.Findings = []checks.Finding{}
	doc, err := json.MarshalIndent(&head, "", "  ")
	if err != nil {
		return err
	}
	const slot = "\n  \"findings\": []"
	before, after, ok := bytes.Cut(doc, []byte(slot))
	if !ok {
		return fmt.Errorf("encode report: no findings slot")
	}
	if _, err := w.Write(before); err != nil {
		return err
	}
	if _, err := io.WriteString(w, slot[:len(slot)-1]); err != nil {
		return err
	}
	if err := writeArrayItems(w, r.Findings, "    ", "  "); err != nil {
		return err
	}
	if _, err := w.Write(after); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}

// writeArrayItems writes the elements of a JSON array whose opening
// bracket is written, then the closing one, indented as json.MarshalIndent
// indents an array at that depth (prefix is the elements' indentation).
func writeArrayItems[T any](w io.Writer, items []T, prefix, indent string) error {
	if len(items) == 0 {
		_, err := io.WriteString(w, "]")
		return err
	}
	for i := range items {
		b, err := json.MarshalIndent(&items[i], prefix, indent)
		if err != nil {
			return err
		}
		sep := ",\n" + prefix
		if i == 0 {
			sep = "\n" + prefix
		}
		if _, err := io.WriteString(w, sep); err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "\n"+prefix[:len(prefix)-len(indent)]+"]")
	return err
}

// relPath makes a path relative to the working directory when it is
// absolute and below it, as Code Quality and JUnit consumers expect.
func relPath(p string) string {
	if !filepath.IsAbs(p) {
		return filepath.ToSlash(filepath.Clean(p))
	}
	wd, err := filepath.Abs(".")
	if err != nil {
		return p
	}
	if rel, err := filepath.Rel(wd, p); err == nil && !filepath.IsAbs(rel) && len(rel) > 0 && rel[0] != '.' {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(p)
}
