package agenttest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	openai "github.com/sashabaranov/go-openai"
)

// DemoPrefix starts every answer of DemoPolicy, so that nobody takes it
// for a language model's.
const DemoPrefix = "[agenttest demo policy, not an LLM] "

var (
	demoURL = regexp.MustCompile(`https?://\S+`)
	demoSQL = regexp.MustCompile(`(?i)^\s*experiment:\s*(.+)$`)
	demoDDL = regexp.MustCompile(`\b(LOCK TABLE|ALTER TABLE|CREATE (UNIQUE )?INDEX|DROP INDEX|UPDATE|DELETE FROM)\b`)
	demoDbg = regexp.MustCompile(`(?i)\bdebug\b.*\b(on|off)\b`)
)

// DemoPolicy is a deterministic stand-in for a model, for demonstrations
// and end-to-end runs: it picks a tool from the question (a URL: fetch it;
// "experiment: SQL" or a DDL statement: run it on a clone; "debug on/off":
// debug_mode; anything else: search the knowledge base) and then answers
// by quoting the tool results mechanically, with their links. It never
// states anything that is not in a tool result.
func DemoPolicy(req *openai.ChatCompletionRequest) Reply {
	tools := ToolNames(req)
	q, _, _ := strings.Cut(LastUser(req), "\n\nContext from the merge request follows.")
	q = strings.TrimSpace(q)
	res := ToolResults(req)
	if len(res) == 0 {
		if len(tools) == 0 {
			return Reply{Content: DemoPrefix + "No tools are offered to me here, so I cannot check anything, and I will not guess."}
		}
		call := func(name string, args any) Reply {
			if !slices.Contains(tools, name) {
				return Reply{Content: DemoPrefix + "I would need the tool " + name + ", which is not offered here."}
			}
			return Reply{Calls: []Call{{Name: name, Args: JSONArgs(args)}}}
		}
		switch {
		case demoDbg.MatchString(q):
			m := demoDbg.FindStringSubmatch(q)
			return call("debug_mode", map[string]bool{"on": strings.EqualFold(m[1], "on")})
		case demoURL.MatchString(q):
			return call("fetch_whole_web_page", map[string]string{"url": strings.TrimRight(demoURL.FindString(q), ".,;)")})
		case demoSQL.MatchString(q):
			return call("run_db_experiment_shared_env", map[string]any{"sql": demoSQL.FindStringSubmatch(q)[1], "in_transaction": true})
		case demoDDL.MatchString(q) && !strings.HasSuffix(q, "?"):
			return call("run_db_experiment_shared_env", map[string]any{"sql": q, "in_transaction": true})
		default:
			return call("get_extra_content", map[string]any{"query": q, "limit": 3})
		}
	}
	var parts []string
	for _, r := range res {
		parts = append(parts, demoAnswer(r))
	}
	return Reply{Content: DemoPrefix + strings.Join(parts, "\n\n")}
}

func demoAnswer(m openai.ChatCompletionMessage) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal([]byte(m.Content), &e) == nil && e.Error != "" {
		return fmt.Sprintf("The tool %s refused or failed: %s. I have nothing verified to say about it.", m.Name, e.Error)
	}
	switch m.Name {
	case "get_extra_content":
		var out struct {
			Results []struct {
				Title, Heading, Author, URL, Trust, Text string
			} `json:"results"`
		}
		_ = json.Unmarshal([]byte(m.Content), &out)
		if len(out.Results) == 0 {
			return "The knowledge base has nothing on this, and I will not guess."
		}
		r := out.Results[0]
		s := fmt.Sprintf("From the knowledge base (trust: %s): [%s](%s)", r.Trust, r.Heading, r.URL)
		if r.Author != "" {
			s += " by " + r.Author
		}
		s += " says: \"" + sentences(r.Text, 2) + "\""
		if len(out.Results) > 1 {
			s += fmt.Sprintf(" See also [%s](%s).", out.Results[1].Heading, out.Results[1].URL)
		}
		return s
	case "fetch_whole_web_page":
		var p struct{ URL, Title, Text string }
		_ = json.Unmarshal([]byte(m.Content), &p)
		return fmt.Sprintf("The page [%s](%s) begins: \"%s\"", p.Title, p.URL, sentences(p.Text, 2))
	case "run_db_experiment_shared_env":
		var s struct {
			Statements []struct {
				Line       int
				Statement  string
				DurationMS float64 `json:"duration_ms"`
				Error      string
				Locks      []struct {
					Relation, Kind, Mode string
					HeldMS               float64 `json:"held_ms"`
					Blocks               []string
				}
			}
		}
		_ = json.Unmarshal([]byte(m.Content), &s)
		var b strings.Builder
		b.WriteString("Measured on a fresh clone:")
		for _, st := range s.Statements {
			fmt.Fprintf(&b, "\n- `%s` ran in %.3f ms", st.Statement, st.DurationMS)
			if st.Error != "" {
				fmt.Fprintf(&b, " and failed: %s", st.Error)
			}
			for _, l := range st.Locks {
				fmt.Fprintf(&b, "; it held %s on %s %s for %.3f ms (blocks %s)", l.Mode, l.Kind, l.Relation, l.HeldMS, strings.Join(l.Blocks, ", "))
			}
		}
		return b.String()
	case "debug_mode":
		return "Debug mode: " + m.Content
	}
	return fmt.Sprintf("The tool %s returned %d bytes.", m.Name, len(m.Content))
}

// sentences returns the first n sentences of s (at most 400 characters).
func sentences(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	end := 0
	for i := 0; i < n; i++ {
		j := strings.Index(s[end:], ". ")
		if j < 0 {
			end = len(s)
			break
		}
		end += j + 1
	}
	if end > 400 {
		end = 400
	}
	return strings.TrimSpace(s[:end])
}
