package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseWeights(t *testing.T) {
	t.Parallel()
	got, err := parseWeights("1, 0.5,0.25")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]float64{1, 0.5, 0.25}, got); d != "" {
		t.Errorf("parseWeights (-want +got):\n%s", d)
	}
	for _, bad := range []string{"", "0", "-1", "x", "1,,2", "Inf", "NaN"} {
		if _, err := parseWeights(bad); err == nil {
			t.Errorf("parseWeights(%q): no error", bad)
		}
	}
}
