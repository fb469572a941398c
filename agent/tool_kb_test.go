package agent

import (
	"encoding/json"
	"testing"
)

// The model is told when its words were corrected or found nowhere, so
// that it does not cite results for a question nobody asked.
func TestKBToolSaysWhatWasSearched(t *testing.T) {
	t.Parallel()
	s, _ := testKB(t)
	tool := KBTool(s)
	run := func(query string) kbOutput {
		t.Helper()
		raw, err := tool.Run(t.Context(), nil, json.RawMessage(`{"query":"`+query+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		var out kbOutput
		if err := json.Unmarshal([]byte(raw), &out); err != nil {
			t.Fatalf("%v\n%s", err, raw)
		}
		return out
	}
	out := run("lock timeout qqxqzv")
	if out.SearchedFor != "" || len(out.NotFound) != 1 || out.NotFound[0] != "qqxqzv" || len(out.Results) == 0 || out.Results[0].URL != urlLockTimeout {
		t.Errorf("kb tool output %+v: want not_found qqxqzv and lock_timeout first", out)
	}
	out = run("lock on a tabel")
	if out.SearchedFor != "lock on a table" || len(out.NotFound) != 0 || len(out.Results) == 0 {
		t.Errorf("kb tool output %+v: want searched_for with the correction", out)
	}
}
