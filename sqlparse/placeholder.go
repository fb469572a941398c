package sqlparse

import (
	"regexp"
	"sort"
	"strings"
)

// offsetMap maps byte offsets in substituted text back to the original.
type offsetMap struct {
	// segs are replacements in order: at subst offset s (length sl) the
	// original had o (length ol).
	segs []seg
}

type seg struct{ s, sl, o, ol int }

func (m offsetMap) orig(off int) int {
	delta := 0
	for _, g := range m.segs {
		if off < g.s {
			break
		}
		if off < g.s+g.sl {
			return g.o
		}
		delta = (g.o + g.ol) - (g.s + g.sl)
	}
	return off + delta
}

var (
	dollarBrace = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_.:-]*)\}`)
	goTemplate  = regexp.MustCompile(`\{\{-?\s*(.*?)\s*-?\}\}`)
	psqlVar     = regexp.MustCompile(`(^|[^:]):(['"]?)([A-Za-z_][A-Za-z0-9_]*)(['"]?)`)
)

// substitute replaces placeholders in a statement's text: ${name}
// (Flyway, and a generic form for any framework), {{ expr }} (Go templates,
// values from opts.Templates), and psql's :name, :'name', :"name" (only
// for names given in opts.Vars, since :name also appears in array slices).
// Placeholders without a value are replaced by their bare name so that the
// statement still parses; they are returned in unresolved.
func substitute(text string, fw Framework, opts Options) (string, offsetMap, []string) {
	if !strings.ContainsAny(text, "${:") {
		return text, offsetMap{}, nil
	}
	type repl struct {
		start, end int
		value      string
	}
	var reps []repl
	var unresolved []string
	var dollar, tmpl [][]int
	if strings.Contains(text, "${") {
		dollar = dollarBrace.FindAllStringSubmatchIndex(text, -1)
	}
	if strings.Contains(text, "{{") {
		tmpl = goTemplate.FindAllStringSubmatchIndex(text, -1)
	}
	for _, m := range dollar {
		name := text[m[2]:m[3]]
		v, ok := lookupVar(opts.Vars, name, fw)
		if !ok {
			unresolved = append(unresolved, "${"+name+"}")
			v = sanitizeName(name)
		}
		reps = append(reps, repl{m[0], m[1], v})
	}
	for _, m := range tmpl {
		expr := text[m[2]:m[3]]
		v, ok := opts.Templates[expr]
		if !ok {
			v, ok = opts.Templates[strings.TrimPrefix(expr, ".")]
		}
		if !ok {
			unresolved = append(unresolved, "{{ "+expr+" }}")
			v = sanitizeName(expr)
		}
		reps = append(reps, repl{m[0], m[1], v})
	}
	if len(opts.Vars) > 0 && strings.IndexByte(text, ':') >= 0 {
		for _, m := range psqlVar.FindAllStringSubmatchIndex(text, -1) {
			open, name, closeQ := text[m[4]:m[5]], text[m[6]:m[7]], text[m[8]:m[9]]
			if open != closeQ {
				continue
			}
			v, ok := opts.Vars[name]
			if !ok {
				continue
			}
			switch open {
			case "'":
				v = "'" + strings.ReplaceAll(v, "'", "''") + "'"
			case `"`:
				v = `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
			}
			reps = append(reps, repl{m[3], m[9], v})
		}
	}
	if len(reps) == 0 {
		return text, offsetMap{}, unresolved
	}
	sort.Slice(reps, func(i, j int) bool { return reps[i].start < reps[j].start })
	var b strings.Builder
	var om offsetMap
	last := 0
	for _, r := range reps {
		if r.start < last {
			continue // overlapping match
		}
		b.WriteString(text[last:r.start])
		om.segs = append(om.segs, seg{s: b.Len(), sl: len(r.value), o: r.start, ol: r.end - r.start})
		b.WriteString(r.value)
		last = r.end
	}
	b.WriteString(text[last:])
	return b.String(), om, unresolved
}

// lookupVar finds a placeholder's value. Flyway's built-in placeholders
// (flyway:defaultSchema, flyway:user, ...) default to harmless values.
func lookupVar(vars map[string]string, name string, fw Framework) (string, bool) {
	if v, ok := vars[name]; ok {
		return v, true
	}
	switch name {
	case "flyway:defaultSchema", "flyway:database":
		return "public", true
	case "flyway:user":
		return "flyway", true
	case "flyway:timestamp":
		return "2000-01-01 00:00:00", true
	case "flyway:filename", "flyway:workingDirectory", "flyway:table":
		return "flyway", true
	}
	_ = fw
	return "", false
}

func sanitizeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	out := strings.Trim(b.String(), "_")
	if out == "" || (out[0] >= '0' && out[0] <= '9') {
		out = "p_" + out
	}
	return out
}
