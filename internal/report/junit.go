package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Failures  []junitResult `xml:"failure,omitempty"`
	Skipped   *junitResult  `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitResult struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

// WriteJUnit writes JUnit XML: one test case per migration file, failing
// when the file has blocking findings; other findings go to system-out.
// GitLab shows it in the merge request's test report widget.
func WriteJUnit(w io.Writer, r *Report) error {
	suite := junitSuite{Name: "pgai-reviewer migrations"}
	byPath := map[string][]int{}
	for i, f := range r.Findings {
		byPath[f.Path] = append(byPath[f.Path], i)
	}
	for _, file := range r.Files {
		c := junitCase{Name: relPath(file.Path), Classname: "migrations." + file.Framework, File: relPath(file.Path)}
		if !file.Analysed {
			c.Skipped = &junitResult{Message: file.SkippedReason}
			suite.Skipped++
		}
		var out strings.Builder
		for _, i := range byPath[file.Path] {
			f := r.Findings[i]
			line := fmt.Sprintf("%s:%d:%d: %s [%s] %s%s", relPath(f.Path), f.Line, f.Column, f.Severity, f.Rule, f.Message, measuredSuffix(f))
			if f.Blocking {
				c.Failures = append(c.Failures, junitResult{
					Message: "[" + f.Rule + "] " + f.Message,
					Type:    f.Severity.String(),
					Body:    line + "\n\nWhy: " + f.Why + "\n\nFix: " + f.Fix + "\n\nDocs: " + f.DocsURL + "\n",
				})
			} else {
				out.WriteString(line + "\n")
			}
		}
		c.SystemOut = out.String()
		if len(c.Failures) > 0 {
			suite.Failures++
		}
		suite.Cases = append(suite.Cases, c)
	}
	suite.Tests = len(suite.Cases)
	doc := junitSuites{Name: "pgai-reviewer", Tests: suite.Tests, Failures: suite.Failures, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
