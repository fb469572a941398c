package dblab

// Measurement is what an experiment measured for one statement of a
// migration on a clone. Its JSON form is part of the public report
// contract (reviewer check --format json, "measurements"): add fields,
// never rename them.
type Measurement struct {
	Path      string `json:"path"`
	Line      int    `json:"line"`
	Statement string `json:"statement"`
	// Status says whether the statement was measured (StatusMeasured,
	// also when it failed: the failure is the measurement), not run
	// because the run stopped before it (StatusNotRun) or interrupted
	// while it ran (StatusInterrupted). Note says why, for the latter two.
	Status     string  `json:"status"`
	Note       string  `json:"note,omitempty"`
	DurationMS float64 `json:"duration_ms"`
	// Locks are the locks the statement took, with how long each was held
	// (until commit when the statement ran in a transaction).
	Locks []Lock `json:"locks"`
	// Rewritten lists relations whose storage was replaced (relfilenode
	// changed): a table rewrite or index rebuild.
	Rewritten []string `json:"rewritten"`
	// Scanned lists tables read in full (e.g. constraint validation).
	Scanned []string `json:"scanned,omitempty"`
	// Rows is the number of rows affected (-1 when not applicable).
	Rows     int64 `json:"rows"`
	WALBytes int64 `json:"wal_bytes,omitempty"`
	// Plan is EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) for DML and queries.
	Plan any `json:"plan,omitempty"`
	// Error is the server's error, when the statement failed.
	Error    string `json:"error,omitempty"`
	SQLState string `json:"sqlstate,omitempty"`

	// Column and EndLine complete the statement's position.
	Column  int `json:"column,omitempty"`
	EndLine int `json:"end_line,omitempty"`
	// InTransaction is true when the statement ran inside a transaction
	// block (the tool's or the file's own); locks are then held until
	// the transaction ends.
	InTransaction bool `json:"in_transaction"`
	// Sizes are the sizes of the tables the statement touched, before the
	// statement and after its transaction ended.
	Sizes []Size `json:"sizes,omitempty"`
	// Blocked is what the traffic probe measured (--probe-traffic): the
	// longest time a read or a write on a table waited for this
	// statement's locks.
	Blocked []Blocked `json:"blocked,omitempty"`
	// StartMS is when the statement started, in milliseconds since the
	// run began, counting only the migration's own time (the runner's
	// work between statements left out, as in HeldMS): the statement
	// boundaries of a lock timeline.
	StartMS float64 `json:"start_ms,omitempty"`
}

// The statuses of a measurement.
const (
	StatusMeasured    = "measured"
	StatusNotRun      = "not_run"
	StatusInterrupted = "interrupted"
)

// Measured reports whether the statement ran to its end (or its error).
func (m *Measurement) Measured() bool { return m.Status == "" || m.Status == StatusMeasured }

// StatusText says the status for people: "measured", "not run (stopped
// after line 4 failed)", "interrupted".
func (m *Measurement) StatusText() string {
	switch m.Status {
	case StatusNotRun:
		if m.Note != "" {
			return "not run (" + m.Note + ")"
		}
		return "not run"
	case StatusInterrupted:
		return "interrupted: not measured"
	}
	return "measured"
}

// Lock is one lock held by the migrating session on a relation.
type Lock struct {
	Relation string `json:"relation"`
	// Mode is named as pg_locks names it, e.g. "AccessExclusiveLock".
	Mode   string  `json:"mode"`
	HeldMS float64 `json:"held_ms"`
	// Blocks says what the mode blocks for other sessions: "reads",
	// "writes", "ddl" (from PostgreSQL's lock conflict table).
	Blocks []string `json:"blocks"`
	// Kind is the relation's kind: "table", "index", "sequence", "view",
	// "materialized view", "partitioned table", "partitioned index".
	Kind string `json:"kind,omitempty"`
	// AcquiredMS and ReleasedMS are when the lock was first seen and when
	// it was gone, on the clock of Measurement.StartMS (ReleasedMS -
	// AcquiredMS = HeldMS): the bars of a lock timeline.
	AcquiredMS float64 `json:"acquired_ms,omitempty"`
	ReleasedMS float64 `json:"released_ms,omitempty"`
}

// Size is a table's size before a statement and after its transaction.
type Size struct {
	Relation     string `json:"relation"`
	TableBefore  int64  `json:"table_bytes_before"`
	TableAfter   int64  `json:"table_bytes_after"`
	IndexBefore  int64  `json:"index_bytes_before"`
	IndexAfter   int64  `json:"index_bytes_after"`
	RowsEstimate int64  `json:"rows_estimate"`
}

// Blocked is the longest wait of the traffic probe on one table.
type Blocked struct {
	Relation string `json:"relation"`
	// Kind is "read" (SELECT … LIMIT 1) or "write" (the ROW EXCLUSIVE
	// table lock every INSERT, UPDATE and DELETE takes).
	Kind      string  `json:"kind"`
	MaxWaitMS float64 `json:"max_wait_ms"`
}
