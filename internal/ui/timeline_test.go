package ui

import (
	"fmt"
	"testing"

	"gitlab.com/pgai/reviewer/dblab"
)

func TestTimeline(t *testing.T) {
	t.Parallel()
	ms := []dblab.Measurement{
		{Statement: "BEGIN", StartMS: 0},
		{Statement: "ALTER TABLE t ADD COLUMN c int", StartMS: 1, DurationMS: 2,
			Locks: []dblab.Lock{{Relation: "t", Mode: dblab.AccessExclusiveLock, AcquiredMS: 1.5, ReleasedMS: 101, HeldMS: 99.5, Blocks: dblab.Blocks(dblab.AccessExclusiveLock)}}},
		{Statement: "SELECT pg_sleep(0.1)", StartMS: 3, DurationMS: 98},
		{Statement: "COMMIT", StartMS: 101},
	}
	tl := buildTimeline(ms)
	if tl == nil || tl.Approx || len(tl.Rows) != 1 || len(tl.Bars) != 1 || len(tl.Stmts) != 4 || tl.TotalMS != 101 {
		t.Fatalf("timeline %+v", tl)
	}
	b := tl.Bars[0]
	// The bar spans 1.5–101 ms of a 101 ms run over the plot's width.
	wantX := tlLabelW + 1.5/101*tl.PlotW
	if d := b.X - wantX; d > 0.2 || d < -0.2 || b.Class != "blk-reads" || b.Label != "ACCESS EXCLUSIVE" {
		t.Errorf("bar %+v, want x≈%.1f, class blk-reads, labelled", b, wantX)
	}
	if got := tl.Stmts[3].X; got != tl.PlotX+tl.PlotW {
		t.Errorf("COMMIT at x=%.1f, want the end of the plot %.1f", got, tl.PlotX+tl.PlotW)
	}

	// Without acquire/release times (older runs): bars start with their
	// statement and last as long as held; statements follow each other.
	old := []dblab.Measurement{
		{Statement: "CREATE INDEX i ON t (c)", DurationMS: 10, Locks: []dblab.Lock{{Relation: "t", Mode: dblab.ShareLock, HeldMS: 10, Blocks: dblab.Blocks(dblab.ShareLock)}}},
		{Statement: "UPDATE t SET c = 1", DurationMS: 30, Locks: []dblab.Lock{{Relation: "t", Mode: dblab.RowExclusiveLock, HeldMS: 30, Blocks: dblab.Blocks(dblab.RowExclusiveLock)}}},
	}
	tl = buildTimeline(old)
	if tl == nil || !tl.Approx || len(tl.Rows) != 1 || len(tl.Rows[0].LaneLines) != 1 || tl.TotalMS != 40 || tl.Bars[1].X <= tl.Bars[0].X || tl.Bars[0].Class != "blk-writes" {
		t.Fatalf("approximate timeline %+v", tl)
	}
	// A statement that did not run draws no boundary.
	notRun := append(ms[:len(ms):len(ms)], dblab.Measurement{Statement: "DROP TABLE t", Status: dblab.StatusNotRun, Note: "stopped after line 2 failed"})
	if tl := buildTimeline(notRun); len(tl.Stmts) != 4 || tl.TotalMS != 101 {
		t.Errorf("with a statement not run: %d boundaries, total %.1f ms; want 4 and 101", len(tl.Stmts), tl.TotalMS)
	}
	if buildTimeline([]dblab.Measurement{{Statement: "SELECT 1"}}) != nil {
		t.Error("a timeline without locks")
	}
	var many []dblab.Measurement
	for i := range 50 {
		many = append(many, dblab.Measurement{DurationMS: 1, Locks: []dblab.Lock{{Relation: fmt.Sprintf("t%d", i), Mode: dblab.AccessShareLock, HeldMS: 1}}})
	}
	if tl := buildTimeline(many); len(tl.Rows) != maxRows || tl.Hidden != 10 {
		t.Errorf("%d rows, %d hidden; want %d and 10", len(tl.Rows), tl.Hidden, maxRows)
	}
}
