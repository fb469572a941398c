package kb

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml"
)

// Manifest lists articles to ingest (YAML or JSON).
//
//	articles:
//	  - path: zero-downtime.md          # relative to the manifest; .md or .html
//	    title: Zero-downtime migrations
//	    url: https://example.org/zero-downtime
//	    author: Jane Doe
//	    permission: true                # the author agreed; false = skipped
//	    permission_note: email of 2026-03-02
//	    verified: true                  # reviewed by us: trust high, else unknown
//	    kind: article                   # article (default), mailing_list or web
//	    pg_version: "15"                # optional
type Manifest struct {
	Articles []ManifestArticle `yaml:"articles" json:"articles"`
}

// ManifestArticle is one entry of a Manifest.
type ManifestArticle struct {
	Path           string `yaml:"path" json:"path"`
	Title          string `yaml:"title" json:"title"`
	URL            string `yaml:"url" json:"url"`
	Author         string `yaml:"author" json:"author"`
	Permission     bool   `yaml:"permission" json:"permission"`
	PermissionNote string `yaml:"permission_note" json:"permission_note"`
	Verified       bool   `yaml:"verified" json:"verified"`
	Kind           string `yaml:"kind" json:"kind"`
	PGVersion      string `yaml:"pg_version" json:"pg_version"`
}

// ParseArticles reads a manifest and the articles it lists. Articles whose
// author did not give permission are not read; their titles are returned
// as skipped.
func ParseArticles(manifestPath string) (docs []Document, skipped []string, err error) {
	b, err := os.ReadFile(manifestPath)
	if err != nil {
		return nil, nil, fmt.Errorf("read manifest: %w", err)
	}
	var m Manifest
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, nil, fmt.Errorf("parse manifest %s: %w", manifestPath, err)
	}
	if len(m.Articles) == 0 {
		return nil, nil, fmt.Errorf("manifest %s lists no articles (want an \"articles:\" list)", manifestPath)
	}
	dir := filepath.Dir(manifestPath)
	var problems []error
	for i, a := range m.Articles {
		where := fmt.Sprintf("manifest %s: article %d (%s)", manifestPath, i+1, a.Title)
		if a.Path == "" || a.Title == "" || a.URL == "" || a.Author == "" {
			problems = append(problems, fmt.Errorf("%s: path, title, url and author are required", where))
			continue
		}
		if !a.Permission {
			skipped = append(skipped, a.Title)
			continue
		}
		kind := KindArticle
		if a.Kind != "" {
			k, err := ParseKind(a.Kind)
			if err != nil || (k != KindArticle && k != KindMailingList && k != KindWeb) {
				problems = append(problems, fmt.Errorf("%s: kind %q (want article, mailing_list or web)", where, a.Kind))
				continue
			}
			kind = k
		}
		p := a.Path
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		src, err := os.ReadFile(p)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", where, err))
			continue
		}
		var chunks []Chunk
		switch strings.ToLower(filepath.Ext(p)) {
		case ".html", ".htm":
			md, err := htmlToMarkdown(src)
			if err != nil {
				problems = append(problems, fmt.Errorf("%s: %w", where, err))
				continue
			}
			chunks = splitText([]string{a.Title}, a.URL, md, styleMarkdown)
		case ".md", ".markdown", ".txt":
			chunks = splitText([]string{a.Title}, a.URL, string(src), styleMarkdown)
		default:
			problems = append(problems, fmt.Errorf("%s: %s is neither Markdown nor HTML", where, a.Path))
			continue
		}
		if len(chunks) == 0 {
			problems = append(problems, fmt.Errorf("%s: no text in %s", where, a.Path))
			continue
		}
		trust := TrustUnknown
		if a.Verified {
			trust = TrustHigh
		}
		note := "granted"
		if a.PermissionNote != "" {
			note = "granted: " + a.PermissionNote
		}
		docs = append(docs, Document{
			Key: "article:" + a.URL, Kind: kind, Title: a.Title, URL: a.URL, Author: a.Author,
			Trust: trust, PGVersion: a.PGVersion, Permission: note, Chunks: chunks,
		})
	}
	if len(problems) > 0 {
		return nil, nil, errors.Join(problems...)
	}
	return docs, skipped, nil
}

// htmlToMarkdown keeps the text of an HTML article and turns h1-h6 into
// Markdown headings (anchors are not kept: the article URL is cited).
func htmlToMarkdown(src []byte) (string, error) {
	dec := xml.NewDecoder(bytes.NewReader(src))
	dec.Strict = false
	dec.AutoClose = xml.HTMLAutoClose
	dec.Entity = xml.HTMLEntity
	var b strings.Builder
	skip := 0
	pre := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("parse HTML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch n := strings.ToLower(t.Name.Local); n {
			case "script", "style", "nav", "header", "footer", "head", "aside":
				skip++
			case "h1", "h2", "h3", "h4", "h5", "h6":
				b.WriteString("\n\n" + strings.Repeat("#", int(n[1]-'0')) + " ")
			case "pre":
				pre++
				b.WriteString("\n\n")
			case "p", "div", "li", "tr", "br", "table", "ul", "ol", "blockquote", "section", "article":
				b.WriteString("\n\n")
			}
		case xml.EndElement:
			switch n := strings.ToLower(t.Name.Local); n {
			case "script", "style", "nav", "header", "footer", "head", "aside":
				skip--
			case "h1", "h2", "h3", "h4", "h5", "h6":
				b.WriteString("\n\n")
			case "pre":
				pre--
				b.WriteString("\n\n")
			}
		case xml.CharData:
			if skip > 0 {
				continue
			}
			s := string(t)
			if pre == 0 {
				s = strings.Join(strings.Fields(s), " ")
				if s == "" {
					continue
				}
				s += " "
			}
			b.WriteString(s)
		}
	}
	// Headings must sit on one line.
	var out []string
	for _, l := range strings.Split(b.String(), "\n") {
		out = append(out, strings.TrimRight(l, " "))
	}
	return strings.Join(out, "\n"), nil
}

// ArticleRevocations lists the keys of the articles a manifest lists
// without permission, so that they can be removed from the knowledge base
// whatever collection stored them (Store.Remove): a revoked permission
// must take an article out in every case, also when the manifest was
// ingested under another path before.
func ArticleRevocations(manifestPath string) ([]string, error) {
	b, err := os.ReadFile(manifestPath)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	var m Manifest
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("parse manifest %s: %w", manifestPath, err)
	}
	var keys []string
	for _, a := range m.Articles {
		if !a.Permission && a.URL != "" {
			keys = append(keys, "article:"+a.URL)
		}
	}
	return keys, nil
}
