package kb

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// DocsOptions configures ParseDocsDir.
type DocsOptions struct {
	// Version is the PostgreSQL major version of the docs ("15"). Empty:
	// read it from index.html.
	Version string
	// BaseURL is where the pages are published; default
	// https://www.postgresql.org/docs/<Version>/.
	BaseURL string
}

// docsSkipPages are pages that are lists of links rather than prose.
var docsSkipPages = map[string]bool{"bookindex.html": true, "index.html": true}

// ParseDocsDir reads the PostgreSQL HTML documentation (as installed by
// Debian's postgresql-doc-NN under /usr/share/doc/postgresql-doc-NN/html) and
// returns one document per page, split at section headings and at the
// entries of definition lists (command forms, configuration parameters),
// each chunk carrying its heading path and public URL with anchor.
func ParseDocsDir(dir string, opts DocsOptions) ([]Document, error) {
	if opts.Version == "" {
		v, err := docsVersion(dir)
		if err != nil {
			return nil, err
		}
		opts.Version = v
	}
	if opts.BaseURL == "" {
		opts.BaseURL = "https://www.postgresql.org/docs/" + opts.Version + "/"
	}
	if !strings.HasSuffix(opts.BaseURL, "/") {
		opts.BaseURL += "/"
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.html"))
	if err != nil {
		return nil, fmt.Errorf("list docs in %s: %w", dir, err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no .html files in %s (want the PostgreSQL HTML docs folder, e.g. /usr/share/doc/postgresql-doc-15/html)", dir)
	}
	sort.Strings(names)
	var docs []Document
	inlinks := map[string]int{}
	for _, path := range names {
		page := filepath.Base(path)
		if docsSkipPages[page] {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		d, err := ParseDocsPage(page, b, opts)
		if err != nil {
			return nil, err
		}
		if len(d.Chunks) > 0 {
			for target := range docsLinks(page, b) {
				inlinks[target]++
			}
			docs = append(docs, d)
		}
	}
	for i := range docs {
		docs[i].Inlinks = inlinks[strings.TrimPrefix(docs[i].URL, opts.BaseURL)]
	}
	return docs, nil
}

// docsNav are the navigation parts of a docs page: header, footer and
// table of contents, whose links say where a page sits, not what it
// refers to.
var (
	docsNav  = regexp.MustCompile(`(?s)<div class="(?:navheader|navfooter|toc)">.*?</div>`)
	docsLink = regexp.MustCompile(`href="([a-z0-9_.-]+\.html)(?:#[^"]*)?"`)
)

// docsLinks is the set of other pages that a page's text links to.
func docsLinks(page string, src []byte) map[string]bool {
	out := map[string]bool{}
	for _, m := range docsLink.FindAllSubmatch(docsNav.ReplaceAll(src, nil), -1) {
		if t := string(m[1]); t != page {
			out[t] = true
		}
	}
	return out
}

var docsTitleVersion = regexp.MustCompile(`PostgreSQL (\d+)(?:\.\d+)? Documentation`)

func docsVersion(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		return "", fmt.Errorf("detect docs version: %w (or give the version explicitly)", err)
	}
	m := docsTitleVersion.FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("detect docs version: no \"PostgreSQL N Documentation\" title in %s/index.html", dir)
	}
	return string(m[1]), nil
}

// Section-level div classes of DocBook's HTML output.
var docsSectionClasses = map[string]bool{
	"chapter": true, "sect1": true, "sect2": true, "sect3": true, "sect4": true, "sect5": true,
	"refentry": true, "refsect1": true, "refsect2": true, "refsect3": true, "refsynopsisdiv": true,
	"appendix": true, "preface": true, "part": true, "reference": true, "simplesect": true,
	"section": true, "glossary": true, "book": true, "set": true, "partintro": true, "colophon": true,
}

// Subtrees that are navigation, not content.
var docsSkipClasses = map[string]bool{"navheader": true, "navfooter": true, "toc": true}

// Anchored blocks that start their own chunk.
var docsAnchoredClasses = map[string]bool{"table": true, "informaltable": true, "example": true, "figure": true}

var docsBlockTags = map[string]bool{
	"p": true, "pre": true, "dt": true, "dd": true, "li": true, "tr": true, "div": true, "table": true,
	"blockquote": true, "dl": true, "ul": true, "ol": true, "h1": true, "h2": true, "h3": true,
	"h4": true, "h5": true, "h6": true, "title": true,
}

// docsUpTitle finds the title of the page's parent in the navigation
// header, docsCaption the caption line of a table, example or figure.
var (
	docsUpTitle = regexp.MustCompile(`<a accesskey="u" href="[^"]*" title="([^"]*)">Up</a>`)
	docsPurpose = regexp.MustCompile(`(?s)<div class="refnamediv"><h2>.*?</h2><p>(.*?)</p></div>`)
	docsTag     = regexp.MustCompile(`<[^>]*>`)
	docsCaption = regexp.MustCompile(`^(?:Table|Example|Figure) [0-9A-Z]+(?:\.\d+)*\.\s+(.+)$`)
	docsChapter = regexp.MustCompile(`^(?:Chapter|Part|Appendix) [0-9A-Z]+\.\s+`)
)

// docsParentTitle strips numbering from a parent's title; the home page
// ("PostgreSQL 15.20 Documentation") is no parent worth naming.
func docsParentTitle(t string) string {
	t = collapseSpace(html.UnescapeString(t))
	if strings.HasSuffix(t, " Documentation") && strings.HasPrefix(t, "PostgreSQL ") {
		return ""
	}
	t = docsChapter.ReplaceAllString(t, "")
	return sectionNumber.ReplaceAllString(t, "")
}

var sectionNumber = regexp.MustCompile(`^(?:[A-Z]|[IVXL]+|\d+)(?:\.\d+)*\.\s+`)

type docsSection struct {
	anchor  string
	heading string
}

type docsBlock struct {
	unit    int
	heading []string
	anchor  string
	text    string
}

type docsElem struct {
	tag       string
	section   bool
	skip      bool
	anchored  bool
	heading   bool // capturing a section heading
	term      bool
	dl        bool
	pre       bool
	cellAfter bool // td/th: separate cells
	id        string
}

type docsParser struct {
	title    string
	stack    []docsElem
	sections []docsSection
	terms    []string // one entry per open dl
	termIDs  []string // anchors of those terms (dt id), parallel to terms
	anchors  []string // anchored blocks open
	unit     int
	skip     int
	pre      int
	buf      strings.Builder
	capture  *strings.Builder // heading or term text
	// termPending is true between a dt and the first text after it, so
	// consecutive dt of one entry are joined.
	termPending bool
	blocks      []docsBlock
	rootID      string
}

// ParseDocsPage splits one page of the HTML docs.
func ParseDocsPage(page string, src []byte, opts DocsOptions) (Document, error) {
	p := &docsParser{}
	dec := xml.NewDecoder(bytes.NewReader(src))
	dec.Strict = false
	dec.AutoClose = xml.HTMLAutoClose
	dec.Entity = xml.HTMLEntity
	inTitle := false
	var title strings.Builder
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Document{}, fmt.Errorf("parse %s: %w", page, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "title" && p.title == "" && len(p.sections) == 0 {
				inTitle = true
				continue
			}
			p.start(t)
		case xml.EndElement:
			if inTitle && t.Name.Local == "title" {
				inTitle = false
				p.title = sectionNumber.ReplaceAllString(collapseSpace(title.String()), "")
				continue
			}
			p.end(t.Name.Local)
		case xml.CharData:
			if inTitle {
				title.Write(t)
				continue
			}
			p.text(string(t))
		}
	}
	p.flush()
	if p.title == "" {
		p.title = strings.TrimSuffix(page, ".html")
	}
	pageURL := opts.BaseURL + page
	d := Document{
		Key:       "docs:" + opts.Version + ":" + page,
		Kind:      KindDocs,
		Title:     p.title,
		URL:       pageURL,
		Author:    "The PostgreSQL Global Development Group",
		Trust:     TrustHigh,
		PGVersion: opts.Version,
	}
	// The page's parent (chapter, part or reference) leads the heading
	// path: "System Views > pg_locks", and a generic "Introduction" says
	// whose introduction it is.
	var lead []string
	if m := docsUpTitle.FindSubmatch(src); m != nil {
		if up := docsParentTitle(string(m[1])); up != "" && !strings.EqualFold(up, p.title) {
			lead = append(lead, up)
		}
	}
	// A reference page says what it is for in one line ("LOCK — lock a
	// table"): every section of the page is headed by it, so that a
	// question in those words ("lock a table explicitly") finds the page.
	titled := p.title
	if m := docsPurpose.FindSubmatch(src); m != nil {
		purpose := collapseSpace(html.UnescapeString(docsTag.ReplaceAllString(string(m[1]), "")))
		if purpose != "" && len(purpose) < 200 {
			titled = purpose
		}
	}
	// A system catalog's or view's page says what it holds in its first
	// sentence ("The catalog pg_authid contains information about database
	// authorization identifiers (roles)"): it heads the page's sections
	// the same way.
	if (strings.HasPrefix(page, "catalog-") || strings.HasPrefix(page, "view-")) && titled == p.title && len(p.blocks) > 0 {
		first := p.blocks[0].text
		if i := strings.Index(first, ". "); i > 0 {
			first = first[:i]
		}
		first = strings.TrimSuffix(first, ".")
		if first != "" && len(first) <= 200 && !strings.Contains(first, "\n") {
			titled = p.title + " — " + first
		}
	}
	for _, g := range groupBlocks(p.blocks) {
		// A reference page's "See Also" is a list of other pages' names.
		if h := g[0].heading; len(h) > 0 && h[len(h)-1] == "See Also" {
			continue
		}
		heading := slices.Clone(g[0].heading)
		if len(heading) == 0 || !strings.EqualFold(heading[0], p.title) {
			heading = append([]string{p.title}, heading...)
		}
		heading[0] = titled
		heading = append(slices.Clone(lead), heading...)
		// A table, example or figure is headed by its caption, so the
		// conflict table is "… > Conflicting Lock Modes". A table is cut
		// into chunks of a few rows: a row (an error code, a view's
		// column) is found, and shown, by itself.
		maxWords := maxChunkWords
		if first, _, _ := strings.Cut(g[0].text, "\n"); len(g) > 0 {
			if m := docsCaption.FindStringSubmatch(first); m != nil {
				heading = append(slices.Clone(heading), m[1])
				if strings.HasPrefix(first, "Table ") {
					maxWords = maxTableChunkWords
				}
			}
		}
		url := pageURL
		if a := g[0].anchor; a != "" && a != p.rootID {
			url += "#" + a
		}
		texts := make([]string, len(g))
		for i, b := range g {
			texts[i] = b.text
		}
		for _, text := range packText(texts, maxWords) {
			d.Chunks = append(d.Chunks, Chunk{Heading: heading, URL: url, Text: text})
		}
	}
	return d, nil
}

func groupBlocks(bs []docsBlock) [][]docsBlock {
	var out [][]docsBlock
	for i, b := range bs {
		if i > 0 && bs[i-1].unit == b.unit {
			out[len(out)-1] = append(out[len(out)-1], b)
			continue
		}
		out = append(out, []docsBlock{b})
	}
	return out
}

func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (p *docsParser) start(t xml.StartElement) {
	tag := t.Name.Local
	class := attr(t, "class")
	id := attr(t, "id")
	e := docsElem{tag: tag, id: id}
	// PostgreSQL 17's docs follow each heading and term with a "#" link
	// to its own anchor (class id_link): not text.
	if p.skip > 0 || tag == "head" || (tag == "div" && docsSkipClasses[class]) || (tag == "a" && class == "id_link") {
		e.skip = true
		p.skip++
		p.stack = append(p.stack, e)
		return
	}
	if docsBlockTags[tag] {
		p.flush()
	}
	switch {
	case tag == "div" && docsSectionClasses[class]:
		e.section = true
		anchor := id
		if anchor == "" && len(p.sections) > 0 {
			anchor = p.sections[len(p.sections)-1].anchor
		}
		if p.rootID == "" {
			p.rootID = id
		}
		p.sections = append(p.sections, docsSection{anchor: anchor})
		p.unit++
	case tag == "div" && docsAnchoredClasses[class] && id != "":
		e.anchored = true
		p.anchors = append(p.anchors, id)
		p.unit++
	case len(tag) == 2 && tag[0] == 'h' && tag[1] >= '1' && tag[1] <= '6' &&
		len(p.sections) > 0 && p.sections[len(p.sections)-1].heading == "" && p.capture == nil:
		e.heading = true
		p.capture = &strings.Builder{}
	case tag == "dl":
		e.dl = true
		p.termPending = false
		p.terms = append(p.terms, "")
		p.termIDs = append(p.termIDs, "")
		p.unit++
	case tag == "dt" && len(p.terms) > 0 && p.capture == nil:
		e.term = true
		p.capture = &strings.Builder{}
	case tag == "pre":
		e.pre = true
		p.pre++
	case tag == "br":
		if p.capture != nil {
			p.capture.WriteString(" / ")
		} else {
			p.buf.WriteString("\n")
		}
	case tag == "td" || tag == "th":
		e.cellAfter = true
	}
	p.stack = append(p.stack, e)
}

func (p *docsParser) end(tag string) {
	if len(p.stack) == 0 {
		return
	}
	e := p.stack[len(p.stack)-1]
	p.stack = p.stack[:len(p.stack)-1]
	if e.skip {
		p.skip--
		return
	}
	switch {
	case e.heading:
		h := sectionNumber.ReplaceAllString(collapseSpace(p.capture.String()), "")
		p.capture = nil
		p.sections[len(p.sections)-1].heading = h
		p.unit++
		return
	case e.term:
		term := collapseSpace(p.capture.String())
		p.capture = nil
		top := len(p.terms) - 1
		// Several dt for one dd ("SET / DROP"): join while no body text
		// came between them.
		if p.terms[top] != "" && p.termPending {
			p.terms[top] += " / " + term
			if p.termIDs[top] == "" {
				p.termIDs[top] = e.id
			}
		} else {
			p.terms[top] = term
			p.termIDs[top] = e.id
			p.unit++
		}
		p.termPending = true
		return
	}
	if docsBlockTags[tag] {
		p.flush()
	}
	switch {
	case e.section:
		p.sections = p.sections[:len(p.sections)-1]
		p.unit++
	case e.anchored:
		p.anchors = p.anchors[:len(p.anchors)-1]
		p.unit++
	case e.dl:
		p.termPending = false
		p.terms = p.terms[:len(p.terms)-1]
		p.termIDs = p.termIDs[:len(p.termIDs)-1]
		p.unit++
	case e.pre:
		p.pre--
	case e.cellAfter:
		p.buf.WriteString(" | ")
	}
}

func (p *docsParser) text(s string) {
	if p.skip > 0 {
		return
	}
	if p.capture != nil {
		p.capture.WriteString(s)
		return
	}
	p.buf.WriteString(s)
}

func (p *docsParser) flush() {
	raw := p.buf.String()
	p.buf.Reset()
	var text string
	if p.pre > 0 {
		text = strings.Trim(raw, "\n")
		if strings.TrimSpace(text) == "" {
			return
		}
	} else {
		text = collapseSpace(raw)
		text = strings.TrimSuffix(text, " |")
		if text == "" || text == "|" {
			return
		}
	}
	var heading []string
	anchor := ""
	for _, s := range p.sections {
		if s.heading != "" {
			heading = append(heading, s.heading)
		}
		anchor = s.anchor
	}
	for i, t := range p.terms {
		if t != "" {
			heading = append(heading, t)
		}
		if p.termIDs[i] != "" {
			anchor = p.termIDs[i]
		}
	}
	if len(p.anchors) > 0 {
		anchor = p.anchors[len(p.anchors)-1]
	}
	p.termPending = false
	p.blocks = append(p.blocks, docsBlock{unit: p.unit, heading: heading, anchor: anchor, text: text})
}

func collapseSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// maxChunkWords bounds chunks (about 400 tokens of technical English).
const maxChunkWords = 300

// maxTableChunkWords bounds the chunks of a table.
const maxTableChunkWords = 80

// packText joins blocks into chunks of at most maxWords words, splitting at
// block boundaries, and inside an oversized block at line breaks or words.
func packText(blocks []string, maxWords int) []string {
	var out []string
	var cur []string
	n := 0
	emit := func() {
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, "\n"))
		}
		cur, n = nil, 0
	}
	for _, b := range blocks {
		w := len(strings.Fields(b))
		if w > maxWords {
			emit()
			out = append(out, splitLong(b, maxWords)...)
			continue
		}
		if n+w > maxWords {
			emit()
		}
		cur = append(cur, b)
		n += w
	}
	emit()
	return out
}

func splitLong(s string, maxWords int) []string {
	var out []string
	var cur []string
	n := 0
	for _, line := range strings.Split(s, "\n") {
		words := strings.Fields(line)
		if len(words) > maxWords {
			if len(cur) > 0 {
				out = append(out, strings.Join(cur, "\n"))
				cur, n = nil, 0
			}
			for i := 0; i < len(words); i += maxWords {
				out = append(out, strings.Join(words[i:min(i+maxWords, len(words))], " "))
			}
			continue
		}
		if n+len(words) > maxWords && len(cur) > 0 {
			out = append(out, strings.Join(cur, "\n"))
			cur, n = nil, 0
		}
		cur = append(cur, line)
		n += len(words)
	}
	if len(cur) > 0 {
		out = append(out, strings.Join(cur, "\n"))
	}
	return out
}
