package checks

import (
	"strings"
	"testing"
)

// TestPredictionsAreProven checks what each rule declares it predicts (a
// rewrite, a scan, an SQLSTATE) against the proof claims of its fixtures:
// a clone experiment confirms or refutes findings by these declarations,
// so each must be shown on PostgreSQL by a bad fixture, and a rule whose
// bad fixtures prove a rewrite or scan of the flagged table on every run
// must not leave it undeclared unless listed here.
func TestPredictionsAreProven(t *testing.T) {
	t.Parallel()
	for _, r := range All() {
		p := r.Predicts
		if p == (Prediction{}) {
			continue
		}
		var rewrite, scan bool
		codes := map[string]bool{}
		for _, fx := range Fixtures(r.ID) {
			claims, err := parseClaims(fx.Sections["proof"])
			if err != nil {
				continue // TestProofClaims reports it
			}
			for _, c := range claims {
				if c.negate || !strings.HasPrefix(c.section, "bad") {
					continue
				}
				switch c.kind {
				case "rewrite":
					rewrite = true
				case "scan":
					scan = true
				case "fails":
					codes[c.code] = true
				}
			}
		}
		if p.Rewrite && !rewrite {
			t.Errorf("%s declares a rewrite, but no bad fixture proves one (a proof claim `bad.sql: rewrite <table>`)", r.ID)
		}
		if p.Scan && !scan {
			t.Errorf("%s declares a scan, but no bad fixture proves one (`bad.sql: scan <table>`)", r.ID)
		}
		if p.SQLState != "" && !codes[p.SQLState] {
			t.Errorf("%s declares failure %s, but no bad fixture proves it (`bad.sql: fails %s`)", r.ID, p.SQLState, p.SQLState)
		}
		if r.Measured {
			t.Errorf("%s: a measured rule predicts nothing, it reports what was measured", r.ID)
		}
	}
}
