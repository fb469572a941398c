package kb

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path"
	"regexp"
	"strings"
)

// EvalCase is a question with the docs page (and optionally the anchor)
// that answers it.
type EvalCase struct {
	Question string `json:"question"`
	// Want is the answering page: a docs page ("sql-altertable.html",
	// "runtime-config-client.html#GUC-LOCK-TIMEOUT"), or a path that a
	// result's URL ends with once "/blob/<tag>" is dropped from it
	// ("src/backend/storage/lmgr/lock.c#LockAcquire": the file, and the
	// function or declaration its heading names; "pgvector/pgvector/README.md";
	// "docs/rules/rename-column.md").
	Want string `json:"want"`
	// Slice groups questions: command, config, errcode, catalog,
	// migration, errmsg, typo, version, jargon, source, pgbouncer,
	// pgvector, patroni, rules.
	Slice string `json:"slice"`
}

//go:embed testdata/eval.jsonl
var defaultEvalSet []byte

//go:embed testdata/eval-holdout.jsonl
var holdoutEvalSet []byte

// DefaultEvalSet returns the committed eval set (kb/testdata/eval.jsonl),
// questions about the PostgreSQL 15 docs and source, the rule pages and
// the related projects.
func DefaultEvalSet() ([]EvalCase, error) {
	return ReadEvalSet(bytes.NewReader(defaultEvalSet))
}

// HoldoutEvalSet returns the held-out set (kb/testdata/eval-holdout.jsonl):
// 100 more questions of the same kinds, written by someone who never ran
// the search nor read the ranker; it tells whether a change to the
// ranking made on the default set generalises. Tune on the default set,
// never on this one.
func HoldoutEvalSet() ([]EvalCase, error) {
	return ReadEvalSet(bytes.NewReader(holdoutEvalSet))
}

// ReadEvalSet reads JSON lines of EvalCase.
func ReadEvalSet(r io.Reader) ([]EvalCase, error) {
	var out []EvalCase
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		var c EvalCase
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			return nil, fmt.Errorf("eval set line %d: %w", n, err)
		}
		if c.Question == "" || c.Want == "" {
			return nil, fmt.Errorf("eval set line %d: question and want are required", n)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read eval set: %w", err)
	}
	return out, nil
}

// EvalReport holds retrieval metrics of one mode over an eval set. Page
// metrics count a result as a hit when it is on the wanted page; anchor
// metrics also need the wanted anchor (for cases that name one).
type EvalReport struct {
	Mode  Mode   `json:"mode"`
	Model string `json:"model,omitempty"`
	// VectorWeight is the fusion weight of a hybrid run (0: the default 1).
	VectorWeight float64 `json:"vector_weight,omitempty"`
	Questions    int     `json:"questions"`
	Hit1         float64 `json:"hit_at_1"`
	Hit5         float64 `json:"hit_at_5"`
	Hit10        float64 `json:"hit_at_10"`
	MRR          float64 `json:"mrr"`
	// AnchorQuestions is how many cases name an anchor.
	AnchorQuestions int     `json:"anchor_questions"`
	AnchorHit10     float64 `json:"anchor_hit_at_10"`
	AnchorMRR       float64 `json:"anchor_mrr"`
	// Misses lists questions with no hit in the top 10.
	Misses []string `json:"misses,omitempty"`
	// Cases has each question's rank and what came first, in set order.
	Cases []CaseResult `json:"cases,omitempty"`
	// Slices has the page-level figures of each slice of the set.
	Slices map[string]*SliceReport `json:"slices,omitempty"`
}

// CaseResult is how one question of an eval set fared.
type CaseResult struct {
	Question string `json:"question"`
	Want     string `json:"want"`
	Slice    string `json:"slice,omitempty"`
	// Rank is the first result on the wanted page (1-10), 0 for a miss.
	Rank int `json:"rank"`
	// Top is the URL of the first result ("" when there was none).
	Top string `json:"top,omitempty"`
}

// SliceReport holds the page-level figures of one slice of the eval set.
type SliceReport struct {
	Questions int     `json:"questions"`
	Hit1      float64 `json:"hit_at_1"`
	Hit5      float64 `json:"hit_at_5"`
	Hit10     float64 `json:"hit_at_10"`
	MRR       float64 `json:"mrr"`
}

// Evaluate runs every question through Search with opts (its mode and
// fusion weight; the limit is always 10) and scores the top 10.
func (s *Store) Evaluate(ctx context.Context, cases []EvalCase, opts SearchOptions) (EvalReport, error) {
	mode := opts.Mode
	rep := EvalReport{Mode: mode, Questions: len(cases), Slices: map[string]*SliceReport{}}
	if mode == ModeHybrid {
		rep.VectorWeight = opts.VectorWeight
	}
	opts.Limit = 10
	if mode != ModeFullText && s.embedder != nil {
		rep.Model = s.embedder.Model()
	}
	for _, c := range cases {
		wantPage, wantAnchor, _ := strings.Cut(c.Want, "#")
		rs, err := s.Search(ctx, c.Question, opts)
		if err != nil {
			return rep, fmt.Errorf("eval %q: %w", c.Question, err)
		}
		pageRank, anchorRank := 0, 0
		for i, r := range rs {
			if !pageMatches(r.URL, wantPage) {
				continue
			}
			if pageRank == 0 {
				pageRank = i + 1
			}
			if wantAnchor != "" && anchorRank == 0 && anchorMatches(r, wantAnchor) {
				anchorRank = i + 1
			}
		}
		cr := CaseResult{Question: c.Question, Want: c.Want, Slice: c.Slice, Rank: pageRank}
		if len(rs) > 0 {
			cr.Top = rs[0].URL
		}
		rep.Cases = append(rep.Cases, cr)
		sl := rep.Slices[c.Slice]
		if sl == nil {
			sl = &SliceReport{}
			rep.Slices[c.Slice] = sl
		}
		sl.Questions++
		if pageRank > 0 {
			sl.MRR += 1 / float64(pageRank)
			sl.Hit1 += b2f(pageRank == 1)
			sl.Hit5 += b2f(pageRank <= 5)
			sl.Hit10++
		}
		if pageRank > 0 {
			rep.MRR += 1 / float64(pageRank)
			if pageRank == 1 {
				rep.Hit1++
			}
			if pageRank <= 5 {
				rep.Hit5++
			}
			rep.Hit10++
		} else {
			rep.Misses = append(rep.Misses, c.Question)
		}
		if wantAnchor != "" {
			rep.AnchorQuestions++
			if anchorRank > 0 {
				rep.AnchorHit10++
				rep.AnchorMRR += 1 / float64(anchorRank)
			}
		}
	}
	if n := float64(rep.Questions); n > 0 {
		rep.Hit1 /= n
		rep.Hit5 /= n
		rep.Hit10 /= n
		rep.MRR /= n
	}
	for _, sl := range rep.Slices {
		n := float64(sl.Questions)
		sl.Hit1 /= n
		sl.Hit5 /= n
		sl.Hit10 /= n
		sl.MRR /= n
	}
	if n := float64(rep.AnchorQuestions); n > 0 {
		rep.AnchorHit10 /= n
		rep.AnchorMRR /= n
	}
	return rep, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

var blobTag = regexp.MustCompile(`/blob/[^/]+/`)

// pageMatches tells whether a result URL is on the wanted page: the same
// docs page name, or for a want with a slash, a URL path (without
// "/blob/<tag>") that ends with it.
func pageMatches(u, want string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	if !strings.Contains(want, "/") {
		return path.Base(p.Path) == want
	}
	return strings.HasSuffix(blobTag.ReplaceAllString(p.Path, "/"), "/"+want)
}

// anchorMatches tells whether a result is at the wanted anchor: the URL's
// (docs sections) or, for source code, the function or declaration its
// heading names.
func anchorMatches(r Result, want string) bool {
	if p, err := url.Parse(r.URL); err == nil && strings.EqualFold(p.Fragment, want) {
		return true
	}
	last := r.Heading
	if i := strings.LastIndex(last, HeadingSep); i >= 0 {
		last = last[i+len(HeadingSep):]
	}
	for name := range strings.SplitSeq(last, ", ") {
		if strings.TrimSuffix(name, "()") == want {
			return true
		}
	}
	return false
}
