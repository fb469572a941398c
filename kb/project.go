package kb

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// ValidateURLTemplate checks a citation URL template before anything is
// ingested with it: an absolute http(s) URL whose only placeholders are
// the allowed ones (e.g. "{tag}", "{id}"), each at most once... A bad
// template would otherwise be stored in every chunk's citation.
func ValidateURLTemplate(tmpl string, allowed ...string) error {
	probe := tmpl
	for _, p := range allowed {
		probe = strings.ReplaceAll(probe, p, "x")
	}
	if i := strings.IndexAny(probe, "{}"); i >= 0 {
		return fmt.Errorf("URL template %q: unknown placeholder near %q (allowed: %s)", tmpl, probe[i:min(len(probe), i+12)], strings.Join(allowed, ", "))
	}
	u, err := url.Parse(probe)
	if err != nil {
		return fmt.Errorf("URL template %q: %w", tmpl, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("URL template %q: want an absolute http(s) URL", tmpl)
	}
	if strings.ContainsAny(tmpl, " \t\n") {
		return fmt.Errorf("URL template %q: contains white space", tmpl)
	}
	return nil
}

// knownProject describes an upstream project whose source packages
// Debian ships: where its repository is browsable at a release tag, how
// its release tags are spelled, and which of its files are documentation.
type knownProject struct {
	title    string
	repo     string // browsable base, /blob/{tag} is appended
	tag      func(version string) string
	docs     []string
	docsOnly bool
	skip     []string
	// pgMajor: the project is PostgreSQL itself; its chunks carry the
	// major version.
	pgMajor bool
}

var knownProjects = map[string]knownProject{
	"postgresql": {
		title: "PostgreSQL", repo: "https://github.com/postgres/postgres",
		tag:     func(v string) string { return "REL_" + strings.ReplaceAll(v, ".", "_") },
		pgMajor: true,
		// The HTML docs of the tarball are ingested with --docs; Debian's
		// packaging is not upstream's.
		skip: []string{"debian/*", "doc/src/sgml/html/*"},
	},
	"pgbouncer": {
		title: "PgBouncer", repo: "https://github.com/pgbouncer/pgbouncer",
		tag:  func(v string) string { return "pgbouncer_" + strings.ReplaceAll(v, ".", "_") },
		docs: []string{"README.md", "NEWS.md", "doc/config.md", "doc/usage.md", "doc/faq.md"},
		skip: []string{"debian/*", "test/*"},
	},
	"pgvector": {
		title: "pgvector", repo: "https://github.com/pgvector/pgvector",
		tag:  func(v string) string { return "v" + v },
		docs: []string{"README.md", "CHANGELOG.md"},
		skip: []string{"debian/*", "test/*"},
	},
	"patroni": {
		title: "Patroni", repo: "https://github.com/patroni/patroni",
		tag:      func(v string) string { return "v" + v },
		docs:     []string{"README.rst", "docs/*.rst"},
		docsOnly: true,
		skip:     []string{"debian/*"},
	},
}

// SourceInfo is what DetectSource found out about a tree.
type SourceInfo struct {
	Package string // Debian source package (postgresql-15) or project
	Project string // postgresql, pgbouncer, pgvector, patroni
	Version string // upstream version (15.18)
}

var (
	changelogHead = regexp.MustCompile(`^([a-z0-9][a-z0-9.+-]*) \((?:\d+:)?([0-9][^)\s]*?)(?:-[^-)\s]+)?\)`)
	treeDirName   = regexp.MustCompile(`^([a-z][a-z0-9]*?)(?:-(\d+))?-(\d+(?:\.\d+)+)$`)
	pkgProject    = regexp.MustCompile(`^(postgresql|pgbouncer|pgvector|patroni)(?:-\d+)?$`)
	copyrightLine = regexp.MustCompile(`(?i)copyright\s*(?:\(c\)|©)?\s*[0-9][0-9, \-–]*,?\s*(.+)$`)
)

// DetectSource recognises an unpacked source tree of a known project
// (PostgreSQL, PgBouncer, pgvector, Patroni) from, in order: the
// .pgai-kb.json that scripts/kb-fetch writes, debian/changelog (a tree
// unpacked by apt-get source), or the tarball's directory name
// (pgbouncer-1.24.1). It returns the options that cite the exact upstream
// release tag, credit the author as the tree's COPYRIGHT or LICENSE states
// it, and mark the project's documentation files; ok is false for an
// unknown tree (then the caller must give a base URL).
func DetectSource(dir string) (SourceOptions, SourceInfo, bool, error) {
	var info SourceInfo
	if b, err := os.ReadFile(filepath.Join(dir, ".pgai-kb.json")); err == nil {
		if err := json.Unmarshal(b, &info); err != nil {
			return SourceOptions{}, info, false, fmt.Errorf("%s/.pgai-kb.json: %w", dir, err)
		}
	} else if f, err := os.Open(filepath.Join(dir, "debian", "changelog")); err == nil {
		sc := bufio.NewScanner(f)
		if sc.Scan() {
			if m := changelogHead.FindStringSubmatch(sc.Text()); m != nil {
				info.Package, info.Version = m[1], m[2]
			}
		}
		f.Close()
	} else {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return SourceOptions{}, info, false, err
		}
		if m := treeDirName.FindStringSubmatch(filepath.Base(abs)); m != nil {
			info.Package, info.Version = m[1], m[3]
			if m[2] != "" {
				info.Package += "-" + m[2]
			}
		}
	}
	if info.Project == "" {
		if m := pkgProject.FindStringSubmatch(info.Package); m != nil {
			info.Project = m[1]
		}
	}
	// Debian's "+dfsg" or "~rc1" suffixes are not part of the tag.
	info.Version, _, _ = strings.Cut(info.Version, "+")
	p, ok := knownProjects[info.Project]
	if !ok || info.Version == "" {
		return SourceOptions{}, info, false, nil
	}
	opts := SourceOptions{
		BaseURL:  p.repo + "/blob/{tag}",
		Tag:      p.tag(info.Version),
		Name:     info.Project,
		Title:    p.title + " " + info.Version,
		Docs:     p.docs,
		DocsOnly: p.docsOnly,
		Skip:     p.skip,
		Author:   upstreamCredit(dir, p.title),
	}
	if p.pgMajor {
		major, _, _ := strings.Cut(info.Version, ".")
		opts.PGVersion = major
		opts.Name = "postgresql-" + major
	}
	if info.Project == "patroni" {
		// Patroni's Sphinx docs name their author (docs/conf.py).
		if b, err := os.ReadFile(filepath.Join(dir, "docs", "conf.py")); err == nil {
			if m := regexp.MustCompile(`(?m)^author\s*=\s*'([^']+)'`).FindSubmatch(b); m != nil {
				opts.DocsAuthor = string(m[1])
			}
		}
	}
	return opts, info, true, nil
}

// upstreamCredit reads the copyright holder from the tree's COPYRIGHT or
// LICENSE (the last "Copyright (c) years, holder" line names the project's
// own holder in PostgreSQL's "Portions Copyright" pair, the first one
// elsewhere), falling back to "<project> contributors".
func upstreamCredit(dir, title string) string {
	for _, name := range []string{"COPYRIGHT", "LICENSE", "LICENSE.txt", "LICENSE.md"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for n := 0; sc.Scan() && n < 40; n++ {
			if m := copyrightLine.FindStringSubmatch(strings.TrimSpace(sc.Text())); m != nil {
				holder := strings.TrimSpace(strings.TrimSuffix(m[1], "."))
				if holder == "PostgreSQL Global Development Group" {
					holder = "The " + holder
				}
				f.Close()
				return holder
			}
		}
		f.Close()
	}
	return title + " contributors"
}
