package dblab

// Measurement is what an experiment measured for one statement of a
// migration on a clone. Its JSON form is part of the public report
// contract (reviewer check --format json, "measurements"): add fields,
// never rename them.
type Measurement struct {
	Path       string  `json:"path"`
	Line       int     `json:"line"`
	Statement  string  `json:"statement"`
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
}
