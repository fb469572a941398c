package kb

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// SourceOptions configures ParseSourceTree.
type SourceOptions struct {
	// BaseURL is where files are browsable, e.g.
	// https://github.com/postgres/postgres/blob/{tag}; a file's URL is
	// BaseURL + "/" + its path + a line anchor. Required.
	BaseURL string
	// Tag replaces {tag} in BaseURL (REL_15_10, a commit hash...).
	Tag string
	// Name is a short name of the tree used in titles and keys, default
	// the directory's base name.
	Name string
	// PGVersion tags the chunks ("15"), empty when not version-specific.
	PGVersion string
	// Author credited, default "The PostgreSQL Global Development Group".
	Author string
}

// maxSourceFile skips generated monsters (gram.c, unicode tables).
const maxSourceFile = 1 << 20

// ParseSourceTree reads a source tree: C files (.c, .h) split by function,
// each with the comment above it, and READMEs and Markdown files split by
// heading. Other files are ignored.
func ParseSourceTree(dir string, opts SourceOptions) ([]Document, error) {
	if opts.BaseURL == "" {
		return nil, fmt.Errorf("source tree %s: a base URL is required to cite files", dir)
	}
	base := strings.TrimSuffix(strings.ReplaceAll(opts.BaseURL, "{tag}", opts.Tag), "/")
	if opts.Name == "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, fmt.Errorf("source tree %s: %w", dir, err)
		}
		opts.Name = filepath.Base(abs)
	}
	if opts.Author == "" {
		opts.Author = "The PostgreSQL Global Development Group"
	}
	var docs []Document
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != dir && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "vendor") {
				return filepath.SkipDir
			}
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
		if info.Size() > maxSourceFile || !info.Mode().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		url := base + "/" + rel
		var chunks []Chunk
		if kind == "c" {
			chunks = splitC(rel, url, string(b))
		} else {
			chunks = splitMarkdown([]string{rel}, url, string(b), strings.HasSuffix(strings.ToLower(name), ".md"))
		}
		if len(chunks) == 0 {
			return nil
		}
		docs = append(docs, Document{
			Key:       "source:" + opts.Name + ":" + rel,
			Kind:      KindSource,
			Title:     opts.Name + ": " + rel,
			URL:       url,
			Author:    opts.Author,
			Trust:     TrustHighest,
			PGVersion: opts.PGVersion,
			Chunks:    chunks,
		})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("source tree %s: %w", dir, err)
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].Key < docs[j].Key })
	return docs, nil
}

func sourceFileKind(name string) string {
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(lower, ".c"), strings.HasSuffix(lower, ".h"):
		return "c"
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

// splitC makes one chunk per function (long ones split by lines) and
// chunks of the code between functions (includes, types, globals).
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
	next := 1
	for _, f := range findCFunctions(src) {
		if f.start > next {
			emit([]string{rel}, next, f.start-1)
		}
		emit([]string{rel, f.name + "()"}, f.start, f.end)
		next = f.end + 1
	}
	if next <= len(lines) {
		emit([]string{rel}, next, len(lines))
	}
	return chunks
}

var mdSlugDrop = regexp.MustCompile(`[^\p{L}\p{N}\- _]`)

// splitMarkdown splits Markdown or plain-text READMEs at headings ("# x"
// or a line underlined with === or ---). Markdown gets GitHub-style heading
// anchors, plain text line anchors.
func splitMarkdown(prefix []string, url, src string, markdown bool) []Chunk {
	lines := strings.Split(src, "\n")
	type sec struct {
		heading []string
		anchor  string
		start   int
		body    []string
	}
	var secs []sec
	path := []string{}
	levels := []int{}
	cur := sec{heading: append([]string{}, prefix...), start: 1}
	inFence := false
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
		if markdown {
			anchor = strings.ReplaceAll(strings.ToLower(mdSlugDrop.ReplaceAllString(title, "")), " ", "-")
		}
		cur = sec{heading: h, anchor: anchor, start: lineNo}
	}
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "```") {
			inFence = !inFence
		}
		if !inFence {
			if strings.HasPrefix(t, "#") {
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
	secs = append(secs, cur)
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
