package mrreview

import "strings"

// Marker is a hidden HTML comment in a note the bot posts, by which it
// finds its own notes again: the summary, the thread of a finding, a
// reply it already gave. It is written as
//
//	<!-- pgai-reviewer:KIND[=VALUE][ rule=RULE] -->
//
// and Format and ParseMarkers are the only places that know this syntax.
type Marker struct {
	Kind  string
	Value string
	// Rule is the rule of a finding's thread (empty in older threads and
	// other markers).
	Rule string
}

// The kinds of marker.
const (
	// KindSummary marks the summary note.
	KindSummary = "summary"
	// KindSeen, in the summary, lists the findings it reported
	// (fingerprint/rule, comma-separated), for "new / fixed since the
	// last review".
	KindSeen = "seen"
	// KindFinding marks the thread of a finding; Value is its fingerprint.
	KindFinding = "fp"
	// KindFixed, KindBack and KindRefuted mark the bot's replies in a
	// finding's thread; Value is the commit.
	KindFixed   = "fixed"
	KindBack    = "back"
	KindRefuted = "refuted"
	// KindReply marks the answer to a /pgai command; Value is its note id.
	KindReply = "reply"
)

const (
	markerOpen  = "<!-- pgai-reviewer:"
	markerClose = " -->"
)

// SummaryMarker marks the summary note.
var SummaryMarker = Marker{Kind: KindSummary}.Format()

// Format writes the marker.
func (m Marker) Format() string {
	var b strings.Builder
	b.WriteString(markerOpen)
	b.WriteString(m.Kind)
	if m.Value != "" {
		b.WriteString("=" + m.Value)
	}
	if m.Rule != "" {
		b.WriteString(" rule=" + m.Rule)
	}
	b.WriteString(markerClose)
	return b.String()
}

// ParseMarkers returns the markers in a note body, in order.
func ParseMarkers(body string) []Marker {
	var out []Marker
	for {
		i := strings.Index(body, markerOpen)
		if i < 0 {
			return out
		}
		body = body[i+len(markerOpen):]
		j := strings.Index(body, markerClose)
		if j < 0 {
			return out
		}
		fields := strings.Fields(body[:j])
		body = body[j+len(markerClose):]
		if len(fields) == 0 {
			continue
		}
		var m Marker
		m.Kind, m.Value, _ = strings.Cut(fields[0], "=")
		for _, f := range fields[1:] {
			if v, ok := strings.CutPrefix(f, "rule="); ok {
				m.Rule = v
			}
		}
		out = append(out, m)
	}
}

// findMarker returns the first marker of a kind in a body.
func findMarker(body, kind string) (Marker, bool) {
	if !strings.Contains(body, markerOpen+kind) {
		return Marker{}, false
	}
	for _, m := range ParseMarkers(body) {
		if m.Kind == kind {
			return m, true
		}
	}
	return Marker{}, false
}
