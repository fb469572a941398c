// Package archive keeps what the reviewer found and measured — every
// review (report, posted note, migration texts) and every experiment on a
// clone (statements, durations, locks with their acquire and release
// times, plans) — in the reviewer's own PostgreSQL database, for the
// read-only web pages under /ui/ (package internal/ui) to show.
//
// A review is keyed by its merge-request head (project, MR, commit): a
// re-review of the same commit replaces the stored one, so the link the
// summary note carries stays valid.
package archive

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/internal/report"
)

// ErrNotFound is returned for a review or experiment that is not stored.
var ErrNotFound = errors.New("not found")

// Verdicts of a review.
const (
	VerdictBlocking    = "blocking"
	VerdictWarnings    = "warnings"
	VerdictClean       = "clean"
	VerdictConfigError = "config-error"
)

// Verdicts lists the verdicts in the order the UI offers them.
var Verdicts = []string{VerdictBlocking, VerdictWarnings, VerdictClean, VerdictConfigError}

// VerdictOf says what a report means for the gate.
func VerdictOf(r *report.Report) string {
	switch {
	case r == nil:
		return VerdictConfigError
	case r.Summary.Blocking > 0:
		return VerdictBlocking
	case r.Summary.Errors+r.Summary.Warnings > 0:
		return VerdictWarnings
	}
	return VerdictClean
}

// Key identifies a review: one merge-request head.
type Key struct {
	ProjectID int64
	MRIID     int64
	HeadSHA   string
}

// Path is the review's page under the UI's root ("reviews/1/2/abc…").
func (k Key) Path() string {
	return fmt.Sprintf("reviews/%d/%d/%s", k.ProjectID, k.MRIID, url.PathEscape(k.HeadSHA))
}

// Review is one stored review.
type Review struct {
	Key
	// ProjectPath is the project's full path (group/name).
	ProjectPath string
	MRTitle     string
	MRURL       string
	// Verdict is one of the Verdict constants (VerdictOf the report when
	// empty on save).
	Verdict string
	// Report is what the review found and measured; nil when the
	// project's configuration could not be read.
	Report *report.Report
	// Markdown is the summary note as posted.
	Markdown   string
	Migrations []Migration
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// ExperimentID is the clone run of this review (0 when none ran).
	ExperimentID int64
}

// Migration is one file's text at the reviewed commit.
type Migration struct {
	Path string `json:"path"`
	Text string `json:"text"`
}

// ReviewSummary is a review as listed.
type ReviewSummary struct {
	Key
	ProjectPath string
	MRTitle     string
	Verdict     string
	Findings    int
	Blocking    int
	UpdatedAt   time.Time
	// ExperimentID is the clone run of this review (0 when none ran).
	ExperimentID int64
}

// Experiment sources.
const (
	SourceReview  = "review"
	SourceCommand = "command"
	SourceCLI     = "cli"
)

// Experiment is SQL run on a clone and what was measured.
type Experiment struct {
	ID int64
	// ReviewID links the review whose clone run this is (0 otherwise).
	Review      *Key
	ProjectID   int64
	ProjectPath string
	MRIID       int64
	HeadSHA     string
	Title       string
	// Source is SourceReview, SourceCommand or SourceCLI.
	Source string
	// Files are the SQL files run, in order.
	Files []Migration
	// Measurements has one entry per statement run, in order.
	Measurements []dblab.Measurement
	DurationMS   float64
	// Stopped says why the run stopped early, if it did.
	Stopped   string
	CreatedAt time.Time
}

// ExperimentSummary is an experiment as listed.
type ExperimentSummary struct {
	ID          int64
	ProjectID   int64
	ProjectPath string
	MRIID       int64
	Title       string
	Source      string
	Statements  int
	DurationMS  float64
	CreatedAt   time.Time
}

// Visibility decides which projects the UI may show. Projects are public
// unless listed here: by numeric ID, or by path — a group's path makes
// every project below it private.
type Visibility struct {
	PrivateIDs   []int64
	PrivatePaths []string
}

// ParseVisibility reads a list of project IDs and paths ("42",
// "acme/secret", "acme/internal-group").
func ParseVisibility(items []string) (Visibility, error) {
	var v Visibility
	var errs []error
	for _, it := range items {
		it = strings.Trim(strings.TrimSpace(it), "/")
		if it == "" {
			continue
		}
		var id int64
		if _, err := fmt.Sscan(it, &id); err == nil && fmt.Sprint(id) == it {
			if id <= 0 {
				errs = append(errs, fmt.Errorf("private project %q: want a positive ID or a path", it))
				continue
			}
			v.PrivateIDs = append(v.PrivateIDs, id)
			continue
		}
		v.PrivatePaths = append(v.PrivatePaths, strings.ToLower(it))
	}
	return v, errors.Join(errs...)
}

// Public reports whether a project may be shown.
func (v Visibility) Public(projectID int64, projectPath string) bool {
	for _, id := range v.PrivateIDs {
		if id == projectID {
			return false
		}
	}
	p := strings.ToLower(strings.Trim(projectPath, "/"))
	for _, pp := range v.PrivatePaths {
		if p == pp || strings.HasPrefix(p, pp+"/") {
			return false
		}
	}
	return true
}

// ProjectPathOf derives a project's path from the web URL of one of its
// merge requests (https://host/group/name/-/merge_requests/1), or "".
func ProjectPathOf(mrURL string) string {
	u, err := url.Parse(mrURL)
	if err != nil {
		return ""
	}
	p, _, ok := strings.Cut(u.Path, "/-/")
	if !ok {
		return ""
	}
	return strings.Trim(p, "/")
}

// Links builds the public addresses of stored pages, for the summary note.
type Links struct {
	// PublicURL is where the reviewer's /ui/ is reachable from outside
	// (https://reviewer.example.com); no links are made when empty.
	PublicURL  string
	Visibility Visibility
}

// Review returns the page of a review, or "" when there is no public URL
// or the project is private.
func (l Links) Review(k Key, projectPath string) string {
	if l.PublicURL == "" || !l.Visibility.Public(k.ProjectID, projectPath) {
		return ""
	}
	return strings.TrimRight(l.PublicURL, "/") + "/ui/" + k.Path()
}

// Experiment returns the page of an experiment, or "" when there is no
// public URL or the project is private.
func (l Links) Experiment(id, projectID int64, projectPath string) string {
	if l.PublicURL == "" || id == 0 || !l.Visibility.Public(projectID, projectPath) {
		return ""
	}
	return fmt.Sprintf("%s/ui/experiments/%d", strings.TrimRight(l.PublicURL, "/"), id)
}
