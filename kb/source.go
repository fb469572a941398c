package kb

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// SourceOptions configures ParseSourceTree.
type SourceOptions struct {
	// BaseURL is where files are browsable, e.g.
	// https://github.com/postgres/postgres/blob/{tag}; a file's URL is
	// BaseURL + "/" + its path + a line anchor. Required unless the tree
	// is a known project (DetectSource fills it in).
	BaseURL string
	// Tag replaces {tag} in BaseURL (REL_15_10, a commit hash...).
	Tag string
	// Name is a short name of the tree used in keys (one collection per
	// name), default the directory's base name.
	Name string
	// Title names the tree in document titles ("PostgreSQL 15.18"),
	// default Name.
	Title string
	// PGVersion tags the chunks ("15"), empty when not version-specific.
	PGVersion string
	// Author credited, default "The PostgreSQL Global Development Group".
	Author string
	// DocsAuthor is credited for the project's documentation files
	// (Docs), default Author.
	DocsAuthor string
	// Docs are slash-separated glob patterns of the tree's documentation
	// files (doc/*.md): they are ingested as kind docs with trust high;
	// every other file as source code with trust highest.
	Docs []string
	// DocsOnly skips everything but Docs (Patroni: its docs, not its
	// Python code).
	DocsOnly bool
	// Skip are slash-separated glob patterns of paths not to read
	// (debian/*: Debian's packaging is not upstream's).
	Skip []string
	// Notes receives the files skipped or converted, with the reason
	// (not UTF-8, generated, too large). Nil: not reported.
	Notes func(path, reason string)
}

// maxSourceFile skips generated monsters (gram.c, unicode tables).
const maxSourceFile = 1 << 20

// ParseSourceTree reads a source tree: C files (.c, .h) split by function
// and, between functions and in headers, by declaration (struct, enum,
// table, macro block, prototype group), each with the comment above it;
// READMEs, Markdown and reStructuredText split by section. Files that are
// not in upstream's repository (listed in a .gitignore of the tree, or
// marked as generated) are skipped, since their URL would not exist; files
// that are not UTF-8 are converted from Latin-1 when that is plausible and
// skipped otherwise; both are reported to opts.Notes and never abort.
func ParseSourceTree(dir string, opts SourceOptions) ([]Document, error) {
	if opts.BaseURL == "" {
		return nil, fmt.Errorf("source tree %s: a base URL is required to cite files (or a tree DetectSource knows)", dir)
	}
	if err := ValidateURLTemplate(opts.BaseURL, "{tag}"); err != nil {
		return nil, fmt.Errorf("source tree %s: %w", dir, err)
	}
	if strings.Contains(opts.BaseURL, "{tag}") && opts.Tag == "" {
		return nil, fmt.Errorf("source tree %s: the base URL has {tag} but no tag was given", dir)
	}
	base := strings.TrimSuffix(strings.ReplaceAll(opts.BaseURL, "{tag}", opts.Tag), "/")
	if opts.Name == "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, fmt.Errorf("source tree %s: %w", dir, err)
		}
		opts.Name = filepath.Base(abs)
	}
	if opts.Title == "" {
		opts.Title = opts.Name
	}
	if opts.Author == "" {
		opts.Author = "The PostgreSQL Global Development Group"
	}
	if opts.DocsAuthor == "" {
		opts.DocsAuthor = opts.Author
	}
	note := opts.Notes
	if note == nil {
		note = func(string, string) {}
	}
	ignored := newGitignores()
	var docs []Document
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if path != dir && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "vendor" || globAny(opts.Skip, rel)) {
				return filepath.SkipDir
			}
			if path != dir && ignored.match(rel, true) {
				return filepath.SkipDir
			}
			ignored.load(path, rel)
			return nil
		}
		if globAny(opts.Skip, rel) {
			return nil
		}
		isDoc := globAny(opts.Docs, rel)
		if opts.DocsOnly && !isDoc {
			return nil
		}
		kind := sourceFileKind(name)
		if kind == "" {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		if ignored.match(rel, false) {
			note(rel, "generated (listed in .gitignore, not in the upstream repository), skipped")
			return nil
		}
		if info.Size() > maxSourceFile {
			note(rel, fmt.Sprintf("%d bytes, over the %d-byte limit, skipped", info.Size(), maxSourceFile))
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		text, why := decodeSourceText(b)
		if why != "" {
			note(rel, why)
		}
		if text == "" {
			return nil
		}
		if kind == "c" && generatedC(text) {
			note(rel, "generated (its header says so), skipped")
			return nil
		}
		url := base + "/" + rel
		var chunks []Chunk
		switch kind {
		case "c":
			chunks = splitC(rel, url, text)
		case "rst":
			chunks = splitText([]string{rel}, url, text, styleRST)
		default:
			style := stylePlain
			if strings.HasSuffix(strings.ToLower(name), ".md") {
				style = styleMarkdown
			}
			chunks = splitText([]string{rel}, url, text, style)
		}
		if len(chunks) == 0 {
			return nil
		}
		doc := Document{
			Key:       "source:" + opts.Name + ":" + rel,
			Kind:      KindSource,
			Title:     opts.Title + ": " + rel,
			URL:       url,
			Author:    opts.Author,
			Trust:     TrustHighest,
			PGVersion: opts.PGVersion,
			Chunks:    chunks,
		}
		if isDoc {
			doc.Key = "docs:" + opts.Name + ":" + rel
			doc.Kind = KindDocs
			doc.Trust = TrustHigh
			doc.Author = opts.DocsAuthor
			doc.Title = opts.Title + " docs: " + docTitle(chunks, rel)
			for i := range doc.Chunks {
				// The page title leads the heading path, so a generic
				// "Introduction" says whose introduction it is.
				doc.Chunks[i].Heading = append([]string{opts.Title}, doc.Chunks[i].Heading...)
			}
		}
		docs = append(docs, doc)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("source tree %s: %w", dir, err)
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].Key < docs[j].Key })
	return docs, nil
}

// docTitle is the first heading of a documentation file, else its path.
func docTitle(chunks []Chunk, rel string) string {
	for _, c := range chunks {
		if len(c.Heading) > 1 {
			return c.Heading[1]
		}
	}
	return rel
}

func globAny(patterns []string, rel string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, rel); ok {
			return true
		}
		if strings.HasSuffix(p, "/*") && strings.HasPrefix(rel, strings.TrimSuffix(p, "*")) && !strings.Contains(p, "*/") {
			// "debian/*" covers the whole subtree.
			return true
		}
	}
	return false
}

// decodeSourceText returns b as UTF-8 text, and a note when it was
// converted or skipped (empty text). Files with NUL bytes are binary.
// Text that is not UTF-8 but mostly ASCII is read as Latin-1 (old C
// comments with names like Müller); anything else (README.euc_jp) is
// another encoding we do not guess, and is skipped.
func decodeSourceText(b []byte) (string, string) {
	if bytes.IndexByte(b, 0) >= 0 {
		return "", "binary (NUL bytes), skipped"
	}
	if utf8.Valid(b) {
		return string(b), ""
	}
	// Latin-1 letters stand alone between ASCII ones; multi-byte
	// encodings (EUC-JP, Shift-JIS, GBK) come in runs of high bytes.
	high, runs := 0, 0
	for i, c := range b {
		if c >= 0x80 {
			high++
			if i > 0 && b[i-1] >= 0x80 {
				runs++
			}
		}
	}
	if runs*5 > high {
		return "", fmt.Sprintf("not UTF-8 (%d non-ASCII bytes of %d: another encoding), skipped", high, len(b))
	}
	r := make([]rune, 0, len(b))
	for _, c := range b {
		r = append(r, rune(c))
	}
	return string(r), "not UTF-8, converted from Latin-1"
}

var generatedMarkers = []string{
	"A Bison parser, made by", "A lexical scanner generated by flex", "automatically generated",
	"Do not change this file by hand", "DO NOT EDIT", "generated by genbki.pl", "Generated by ",
}

// generatedC tells generated C files by their first lines.
func generatedC(text string) bool {
	head := text[:min(len(text), 1500)]
	if strings.HasPrefix(head, "#line ") {
		return true
	}
	for _, m := range generatedMarkers {
		if strings.Contains(head, m) {
			return true
		}
	}
	return false
}

// gitignores holds the .gitignore patterns of the directories walked so
// far: release tarballs ship files that are not in the repository (gram.c,
// fmgroids.h, pg_*_d.h) and list them in .gitignore files.
type gitignores struct {
	byDir map[string][]string // rel dir ("" for the root) -> patterns
}

func newGitignores() *gitignores { return &gitignores{byDir: map[string][]string{}} }

func (g *gitignores) load(abs, rel string) {
	b, err := os.ReadFile(filepath.Join(abs, ".gitignore"))
	if err != nil {
		return
	}
	if rel == "." {
		rel = ""
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "!") {
			continue
		}
		g.byDir[rel] = append(g.byDir[rel], l)
	}
}

// match tells whether rel (a file, or a directory when dir) is ignored by
// a .gitignore of one of its parent directories.
func (g *gitignores) match(rel string, dir bool) bool {
	d := path.Dir(rel)
	for {
		if d == "." {
			d = ""
		}
		sub := rel
		if d != "" {
			sub = strings.TrimPrefix(rel, d+"/")
		}
		for _, p := range g.byDir[d] {
			onlyDir := strings.HasSuffix(p, "/")
			p = strings.TrimSuffix(p, "/")
			if onlyDir && !dir {
				continue
			}
			anchored := strings.HasPrefix(p, "/") || strings.Contains(p, "/")
			p = strings.TrimPrefix(p, "/")
			target := sub
			if !anchored {
				target = path.Base(rel)
			}
			if ok, _ := path.Match(p, target); ok {
				return true
			}
		}
		if d == "" {
			return false
		}
		d = path.Dir(d)
	}
}

func sourceFileKind(name string) string {
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(lower, ".c"), strings.HasSuffix(lower, ".h"):
		return "c"
	case strings.HasSuffix(lower, ".rst"):
		return "rst"
	case strings.HasPrefix(lower, "readme"), strings.HasSuffix(lower, ".md"):
		return "md"
	}
	return ""
}

// cFunc is a function definition: 1-based lines, comment above included.
type cFunc struct {
	name       string
	start, end int
}

var cIdentBeforeParen = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)\s*\($`)

// findCFunctions scans C text for top-level function definitions. It tracks
// comments, strings and brace depth, so braces in them do not count.
func findCFunctions(src string) []cFunc {
	var out []cFunc
	line := 1
	depth := 0
	sig := strings.Builder{} // code at depth 0 since the last ; or }
	sigStart, commentStart := 0, 0
	var cur *cFunc
	lineStart := true
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '\n':
			line++
			lineStart = true
			if depth == 0 && sig.Len() > 0 {
				sig.WriteByte(' ')
			}
			continue
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			if depth == 0 && sig.Len() == 0 && commentStart == 0 {
				commentStart = line
			}
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return out
			}
			line += strings.Count(src[i:i+2+end+2], "\n")
			i += 2 + end + 1
			continue
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				return out
			}
			i += end - 1
			continue
		case c == '#' && lineStart && depth == 0:
			// Preprocessor line (with continuations): not part of a signature.
			for i < len(src) && !(src[i] == '\n' && src[i-1] != '\\') {
				if src[i] == '\n' {
					line++
				}
				i++
			}
			i--
			sig.Reset()
			sigStart, commentStart = 0, 0
			continue
		case c == '"' || c == '\'':
			for j := i + 1; j < len(src); j++ {
				if src[j] == '\\' {
					j++
					continue
				}
				if src[j] == c || src[j] == '\n' {
					i = j
					break
				}
			}
			continue
		}
		if c != ' ' && c != '\t' && c != '\r' {
			lineStart = false
		}
		switch c {
		case '{':
			if depth == 0 {
				s := strings.TrimSpace(sig.String())
				if m := cIdentBeforeParen.FindStringSubmatch(s[:strings.LastIndexByte(s, '(')+1]); strings.Contains(s, "(") && m != nil &&
					!strings.Contains(s, "=") && !strings.HasPrefix(s, "struct") && !strings.HasPrefix(s, "typedef") {
					start := sigStart
					if commentStart > 0 {
						start = commentStart
					}
					cur = &cFunc{name: m[1], start: start}
				}
			}
			depth++
		case '}':
			depth--
			if depth <= 0 {
				depth = 0
				if cur != nil {
					cur.end = line
					out = append(out, *cur)
					cur = nil
				}
				sig.Reset()
				sigStart, commentStart = 0, 0
			}
		case ';':
			if depth == 0 {
				sig.Reset()
				sigStart, commentStart = 0, 0
			}
		default:
			if depth == 0 && c != ' ' && c != '\t' && c != '\r' {
				if sig.Len() == 0 {
					sigStart = line
				}
				sig.WriteByte(c)
			} else if depth == 0 && sig.Len() > 0 {
				sig.WriteByte(c)
			}
		}
	}
	return out
}

// maxSourceLines bounds a chunk of code.
const maxSourceLines = 120

// splitC makes one chunk per function (long ones split by lines) and,
// for the code between functions (all of a header), one chunk per
// declaration: a struct, enum, union or typedef, a variable or table, a
// block of macros, a group of prototypes, the includes; each takes the
// comment above it and is headed by the declaration's name.
func splitC(rel, url, src string) []Chunk {
	lines := strings.Split(src, "\n")
	var chunks []Chunk
	emit := func(heading []string, from, to int) { // 1-based inclusive
		for s := from; s <= to; s += maxSourceLines {
			e := min(s+maxSourceLines-1, to)
			text := strings.TrimRight(strings.Join(lines[s-1:e], "\n"), "\n ")
			if strings.TrimSpace(text) == "" {
				continue
			}
			chunks = append(chunks, Chunk{Heading: heading, URL: fmt.Sprintf("%s#L%d-L%d", url, s, e), Text: text})
		}
	}
	gap := func(from, to int) {
		for _, d := range splitDecls(lines, from, to) {
			h := []string{rel}
			if d.name != "" {
				h = append(h, d.name)
			}
			emit(h, d.start, d.end)
		}
	}
	next := 1
	for _, f := range findCFunctions(src) {
		if f.start > next {
			gap(next, f.start-1)
		}
		emit([]string{rel, f.name + "()"}, f.start, f.end)
		next = f.end + 1
	}
	if next <= len(lines) {
		gap(next, len(lines))
	}
	return chunks
}

// cDecl is a declaration (or group of them) between functions: 1-based
// lines, comment above included; name empty for the file's header comment.
type cDecl struct {
	name       string
	start, end int
	class      string // include, macro, proto, decl, comment
}

var (
	cDefineName  = regexp.MustCompile(`^#\s*define\s+([A-Za-z_][A-Za-z0-9_]*)`)
	cTypedefName = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[[^\]]*\]\s*)*;\s*$`)
	cTagName     = regexp.MustCompile(`^\s*(?:typedef\s+)?(struct|enum|union)\s+([A-Za-z_][A-Za-z0-9_]*)`)
	cVarName     = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[[^\]]*\]\s*)*(?:=|;|$)`)
	cProtoName   = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)\s*\(`)
)

// splitDecls cuts lines[from..to] (1-based, inclusive) into declarations.
// Comments and blank lines go with the declaration below them; a comment
// followed by a blank line at the top of the range stays on its own (the
// file's header comment). Consecutive macros, prototypes or includes make
// one group; conditionals (#if, #endif) go with what they surround.
func splitDecls(lines []string, from, to int) []cDecl {
	var out []cDecl
	pendStart := 0 // first line of comments/blank lines not yet attached
	inComment := false
	commentOnly := true // pending lines are only comments/blank so far
	var cur *cDecl
	depth := 0
	var stmt strings.Builder
	stmtStart := 0
	flush := func() {
		if cur != nil {
			out = append(out, *cur)
			cur = nil
		}
	}
	startDecl := func(class string, line int) {
		if pendStart == 1 && len(out) == 0 && cur == nil && line-pendStart >= 4 {
			// The file's header comment (what the file is for) is a
			// chunk of its own, not the first declaration's preamble.
			hdrEnd := line - 1
			for hdrEnd > 1 && !strings.Contains(lines[hdrEnd-1], "*/") {
				hdrEnd--
			}
			if hdrEnd > 1 {
				out = append(out, cDecl{start: 1, end: hdrEnd, class: "comment"})
				pendStart = 0
				if hdrEnd+1 < line {
					pendStart = hdrEnd + 1
				}
			}
		}
		s := line
		if pendStart > 0 {
			s = pendStart
		}
		if cur != nil && cur.class == class && class != "decl" && (pendStart == 0 || commentOnly && !blankBefore(lines, line)) {
			cur.end = line
			pendStart = 0
			return
		}
		flush()
		cur = &cDecl{start: s, end: line, class: class}
		pendStart = 0
	}
	for i := from; i <= to; i++ {
		l := lines[i-1]
		t := strings.TrimSpace(l)
		if inComment {
			if strings.Contains(t, "*/") {
				inComment = false
			}
			if stmtStart > 0 && cur != nil {
				cur.end = i
			}
			continue
		}
		if stmtStart == 0 && depth == 0 {
			switch {
			case t == "":
				if pendStart == 0 {
					// A blank line ends a group; the comment block above a
					// blank line at the top of the range is the file header.
					if cur != nil {
						flush()
					}
				} else if len(out) == 0 && cur == nil && commentOnly {
					out = append(out, cDecl{start: pendStart, end: i - 1, class: "comment"})
					pendStart = 0
				}
				continue
			case strings.HasPrefix(t, "/*") || strings.HasPrefix(t, "//"):
				if pendStart == 0 {
					pendStart = i
					commentOnly = true
				}
				if strings.HasPrefix(t, "/*") && !strings.Contains(t[2:], "*/") {
					inComment = true
				}
				continue
			case strings.HasPrefix(t, "#"):
				directive := strings.TrimSpace(strings.TrimPrefix(t, "#"))
				end := i
				for end < to && strings.HasSuffix(strings.TrimRight(lines[end-1], " \t"), "\\") {
					end++
				}
				switch {
				case strings.HasPrefix(directive, "include"):
					startDecl("include", i)
					if cur.name == "" {
						cur.name = "#include"
					}
				case strings.HasPrefix(directive, "define"):
					startDecl("macro", i)
					if m := cDefineName.FindStringSubmatch(t); m != nil {
						cur.name = joinName(cur.name, m[1])
					}
				default: // #if, #else, #endif, #undef, #pragma: with the current group
					if cur != nil {
						cur.end = end
					} else if pendStart == 0 {
						pendStart = i
					}
				}
				if cur != nil {
					cur.end = end
				}
				i = end
				continue
			}
		}
		// Code at depth 0 or inside a declaration's braces.
		code := stripCCode(l, &inComment)
		if stmtStart == 0 {
			if strings.TrimSpace(code) == "" {
				continue
			}
			stmtStart = i
		}
		stmt.WriteString(code)
		stmt.WriteByte('\n')
		depth += strings.Count(code, "{") - strings.Count(code, "}")
		if depth < 0 {
			depth = 0
		}
		if depth == 0 && strings.HasSuffix(strings.TrimSpace(code), ";") {
			text := stmt.String()
			class, name := classifyDecl(text)
			save := pendStart
			if pendStart == 0 {
				pendStart = stmtStart
			} else {
				pendStart = min(pendStart, stmtStart)
			}
			startDecl(class, i)
			if cur.start > stmtStart && save == 0 {
				cur.start = stmtStart
			}
			cur.name = joinName(cur.name, name)
			if class == "decl" {
				flush()
			}
			stmt.Reset()
			stmtStart = 0
		}
	}
	if stmtStart > 0 { // unterminated: keep the text anyway
		s := stmtStart
		if pendStart > 0 {
			s = min(pendStart, stmtStart)
		}
		flush()
		class, name := classifyDecl(stmt.String())
		out = append(out, cDecl{name: name, start: s, end: to, class: class})
	} else if pendStart > 0 {
		switch {
		case cur != nil:
			cur.end = to
		case len(out) > 0 && onlyDirectives(lines[pendStart-1:to]):
			out[len(out)-1].end = to // a closing #endif
		default:
			out = append(out, cDecl{start: pendStart, end: to, class: "comment"})
		}
	}
	flush()
	return out
}

func onlyDirectives(lines []string) bool {
	for _, l := range lines {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			return false
		}
	}
	return true
}

func blankBefore(lines []string, line int) bool {
	return line >= 2 && strings.TrimSpace(lines[line-2]) == ""
}

// joinName lists up to three names of a group.
func joinName(have, name string) string {
	switch {
	case name == "":
		return have
	case have == "":
		return name
	case strings.HasSuffix(have, "…"), strings.Count(have, ",") >= 2:
		if !strings.HasSuffix(have, "…") {
			have += ", …"
		}
		return have
	case strings.Contains(", "+have+",", ", "+name+","):
		return have
	}
	return have + ", " + name
}

// stripCCode drops comments and string contents from a line of code, so
// braces in them do not count.
func stripCCode(l string, inComment *bool) string {
	var b strings.Builder
	for i := 0; i < len(l); i++ {
		if *inComment {
			if j := strings.Index(l[i:], "*/"); j >= 0 {
				*inComment = false
				i += j + 1
				continue
			}
			return b.String()
		}
		c := l[i]
		switch {
		case c == '/' && i+1 < len(l) && l[i+1] == '*':
			*inComment = true
			i++
		case c == '/' && i+1 < len(l) && l[i+1] == '/':
			return b.String()
		case c == '"' || c == '\'':
			j := i + 1
			for j < len(l) && l[j] != c {
				if l[j] == '\\' {
					j++
				}
				j++
			}
			b.WriteString(`""`)
			i = j
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// classifyDecl names a statement: struct/enum/union/typedef and variables
// are single declarations, prototypes group.
func classifyDecl(stmt string) (class, name string) {
	flat := strings.Join(strings.Fields(stmt), " ")
	if m := cTagName.FindStringSubmatch(flat); m != nil {
		if strings.HasPrefix(flat, "typedef") {
			if n := cTypedefName.FindStringSubmatch(flat); n != nil {
				return "decl", n[1]
			}
		}
		if strings.Contains(flat, "{") {
			if i := strings.LastIndex(flat, "}"); i >= 0 {
				if n := cTypedefName.FindStringSubmatch(flat[i:]); n != nil && !strings.HasPrefix(flat, "typedef") {
					return "decl", n[1] // struct X {...} var;
				}
			}
			return "decl", m[1] + " " + m[2]
		}
	}
	if strings.HasPrefix(flat, "typedef") {
		// typedef int (*fn) (int); / typedef uint32 LOCKMASK;
		if m := regexp.MustCompile(`\(\s*\*\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)`).FindStringSubmatch(flat); m != nil {
			return "decl", m[1]
		}
		if n := cTypedefName.FindStringSubmatch(flat); n != nil {
			return "decl", n[1]
		}
	}
	head := flat
	if i := strings.IndexAny(head, "={"); i >= 0 {
		head = head[:i]
	}
	if strings.Contains(head, "(") && !strings.Contains(flat, "{") {
		// A prototype: the identifier before the first parenthesis that
		// is not a macro like PGDLLIMPORT or pg_attribute_...
		for _, m := range cProtoName.FindAllStringSubmatch(head, -1) {
			if !strings.HasPrefix(m[1], "pg_attribute") && m[1] != "PG_FUNCTION_INFO_V1" {
				return "proto", m[1] + "()"
			}
		}
		return "proto", ""
	}
	if ms := cVarName.FindAllStringSubmatch(head, -1); len(ms) > 0 {
		return "decl", ms[len(ms)-1][1]
	}
	return "decl", ""
}

var mdSlugDrop = regexp.MustCompile(`[^\p{L}\p{N}\- _]`)

// Text styles of splitText.
const (
	stylePlain    = iota // plain-text README: "#" or underlined headings, line anchors
	styleMarkdown        // Markdown: GitHub-style heading anchors
	styleRST             // reStructuredText: underlined (and overlined) titles only
)

// rstTarget is a reStructuredText hyperlink target line.
var rstTarget = regexp.MustCompile(`^\.\. _[^:]*:\s*$`)

// rstAdornment returns the character of a reStructuredText title
// underline (one punctuation character repeated, at least three times),
// or "".
func rstAdornment(l string) string {
	if len(l) < 3 || !strings.ContainsRune("=-~^\"'`:.*+#_<>!$%&(),/;?@[]{|}", rune(l[0])) {
		return ""
	}
	if strings.Trim(l, l[:1]) != "" {
		return ""
	}
	return l[:1]
}

// splitText splits Markdown, reStructuredText or plain-text files at
// headings ("# x" in Markdown and plain text, a line underlined with === or
// ---). Markdown and reStructuredText get GitHub-style heading anchors (a
// repeated heading gets -1, -2 as GitHub gives it), plain text line
// anchors. In reStructuredText a title is an unindented line underlined
// (and perhaps overlined) with a punctuation character at least as long;
// its level is the order in which the styles first appear, and indented
// lines (literal and code blocks) are never titles.
func splitText(prefix []string, url, src string, style int) []Chunk {
	lines := strings.Split(src, "\n")
	type sec = textSection
	var secs []sec
	path := []string{}
	levels := []int{}
	cur := sec{heading: append([]string{}, prefix...), start: 1}
	inFence := false
	slugs := map[string]int{}
	rstLevels := map[string]int{}
	push := func(level int, title string, lineNo int) {
		secs = append(secs, cur)
		for len(levels) > 0 && levels[len(levels)-1] >= level {
			levels = levels[:len(levels)-1]
			path = path[:len(path)-1]
		}
		levels = append(levels, level)
		path = append(path, title)
		h := append(append([]string{}, prefix...), path...)
		anchor := fmt.Sprintf("L%d", lineNo)
		if style != stylePlain {
			anchor = strings.ReplaceAll(strings.ToLower(mdSlugDrop.ReplaceAllString(title, "")), " ", "-")
			if n := slugs[anchor]; n > 0 {
				slugs[anchor]++
				anchor = fmt.Sprintf("%s-%d", anchor, n)
			} else {
				slugs[anchor] = 1
			}
		}
		cur = sec{heading: h, anchor: anchor, start: lineNo}
	}
	if style == styleRST {
		for i := 0; i < len(lines); i++ {
			l := strings.TrimRight(lines[i], " \t\r")
			if i+1 < len(lines) && l != "" && l[0] != ' ' && l[0] != '\t' && rstAdornment(l) == "" {
				u := strings.TrimRight(lines[i+1], " \t\r")
				if c := rstAdornment(u); c != "" && len([]rune(u)) >= len([]rune(strings.TrimSpace(l))) {
					key := c
					if i > 0 && strings.TrimRight(lines[i-1], " \t\r") == u {
						key = "over" + key // overlined: a style of its own
						if n := len(cur.body); n > 0 {
							cur.body = cur.body[:n-1]
						}
					}
					level, ok := rstLevels[key]
					if !ok {
						level = len(rstLevels) + 1
						rstLevels[key] = level
					}
					push(level, strings.TrimSpace(l), i+1)
					i++
					continue
				}
			}
			if rstTarget.MatchString(l) {
				continue // ".. _switchover_api:" is a link target, not text
			}
			cur.body = append(cur.body, lines[i])
		}
		return textChunks(append(secs, cur), url)
	}
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "```") {
			inFence = !inFence
		}
		if !inFence {
			if strings.HasPrefix(t, "#") && len(l)-len(strings.TrimLeft(l, " ")) < 4 && !strings.HasPrefix(l, "\t") {
				n := len(t) - len(strings.TrimLeft(t, "#"))
				if n <= 6 && len(t) > n && t[n] == ' ' {
					push(n, strings.TrimSpace(t[n:]), i+1)
					continue
				}
			}
			if i+1 < len(lines) && t != "" {
				u := strings.TrimSpace(lines[i+1])
				if len(u) >= 3 && (strings.Trim(u, "=") == "" || strings.Trim(u, "-") == "") && len(u) >= len(t)/2 {
					level := 2
					if u[0] == '=' {
						level = 1
					}
					push(level, t, i+1)
					i++
					continue
				}
			}
		}
		cur.body = append(cur.body, l)
	}
	return textChunks(append(secs, cur), url)
}

// textSection is a section of a text file, for textChunks.
type textSection = struct {
	heading []string
	anchor  string
	start   int
	body    []string
}

// textChunks packs the sections of a text file into chunks.
func textChunks(secs []textSection, url string) []Chunk {
	var chunks []Chunk
	for _, s := range secs {
		body := strings.TrimSpace(strings.Join(s.body, "\n"))
		if body == "" {
			continue
		}
		u := url
		if s.anchor != "" {
			u += "#" + s.anchor
		}
		for _, text := range packText(strings.Split(body, "\n\n"), maxChunkWords) {
			chunks = append(chunks, Chunk{Heading: s.heading, URL: u, Text: text})
		}
	}
	return chunks
}
