package dblab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/sqlparse"
)

// Options configure an experiment. The zero value uses the defaults.
type Options struct {
	// LockTimeout and StatementTimeout are set for the migrating session
	// (10 s and 30 min by default); a migration that sets its own keeps
	// its values, as it would in production.
	LockTimeout, StatementTimeout time.Duration
	// Deadline bounds the whole run (1 h by default, DBLab's
	// max_duration).
	Deadline time.Duration
	// SampleInterval is how often pg_locks is read while a statement runs
	// (5 ms by default, growing to 1% of the statement's run time for long
	// statements, at most 250 ms; negative: only before and after each
	// statement).
	SampleInterval time.Duration
	// ProbeTraffic runs a concurrent reader and writer on every existing
	// table the migration locks and records their longest waits.
	ProbeTraffic bool
	// NoExplain runs DML as is instead of under EXPLAIN (ANALYZE, BUFFERS,
	// FORMAT JSON) (which executes it once, too).
	NoExplain bool
	// Thresholds turn measurements into findings (DefaultThresholds when
	// zero).
	Thresholds Thresholds
	Logger     *slog.Logger
}

// Result is what an experiment measured.
type Result struct {
	// Measurements has one entry per statement run, in order.
	Measurements []Measurement `json:"measurements"`
	// Findings are derived from the measurements with the options'
	// thresholds: measured-only rule ids (see MeasuredRules). Merge
	// combines them with static findings.
	Findings []checks.Finding `json:"findings"`
	// Files has the wall time of each migration file.
	Files []FileRun `json:"files"`
	// Tables are the sizes of the existing tables before the run, by
	// name (schema-qualified outside public).
	Tables map[string]TableInfo `json:"tables"`
	// DurationMS is the whole run.
	DurationMS float64 `json:"duration_ms"`
	// Stopped says why the run stopped early, if it did; the
	// statements after that point did not run.
	Stopped string `json:"stopped,omitempty"`
	// Interrupted is true when the run was interrupted (SIGINT, SIGTERM,
	// a canceled job) before it ended.
	Interrupted bool `json:"interrupted,omitempty"`
}

// FileRun is one migration file of an experiment.
type FileRun struct {
	Path       string  `json:"path"`
	DurationMS float64 `json:"duration_ms"`
	Statements int     `json:"statements"`
	Failed     bool    `json:"failed,omitempty"`
}

// TableInfo is a table's size on the clone.
type TableInfo struct {
	TableBytes int64 `json:"table_bytes"`
	IndexBytes int64 `json:"index_bytes"`
	Rows       int64 `json:"rows_estimate"`
}

// TableRows returns the row estimates by lower-case name, for
// checks.Settings.TableRows.
func (r *Result) TableRows() map[string]int64 {
	out := make(map[string]int64, len(r.Tables))
	for name, t := range r.Tables {
		out[strings.ToLower(name)] = t.Rows
	}
	return out
}

func (o *Options) defaults() {
	if o.LockTimeout == 0 {
		o.LockTimeout = 10 * time.Second
	}
	if o.StatementTimeout == 0 {
		o.StatementTimeout = 30 * time.Minute
	}
	if o.Deadline == 0 {
		o.Deadline = time.Hour
	}
	if o.SampleInterval == 0 {
		o.SampleInterval = 5 * time.Millisecond
	}
	if o.Thresholds == (Thresholds{}) {
		o.Thresholds = DefaultThresholds()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// relInfo is what the runner knows about a relation.
type relInfo struct {
	name       string
	kind       byte // pg_class.relkind
	tableBytes int64
	indexBytes int64
	rows       int64
	existing   bool // existed before the run
}

type lockKey struct {
	oid  uint32
	mode string
}

// heldLock is a lock of the migrating session that has not been released
// yet, attributed to the measurement that first saw it.
type heldLock struct {
	meas, idx int
	first     time.Time
	// overheadAt is the runner's own time on the migrating session when
	// the lock was taken; see runner.overhead.
	overheadAt time.Duration
}

// lockSpan is a lock with its absolute times, for the traffic probe.
type lockSpan struct {
	meas        int
	oid         uint32
	mode        string
	first, last time.Time
}

type runner struct {
	opts   Options
	mig    *pgx.Conn
	obs    *pgx.Conn
	pid    uint32
	dbOID  uint32
	rels   map[uint32]*relInfo
	held   map[lockKey]*heldLock
	spans  []lockSpan
	res    *Result
	txFrom int // first measurement of the open transaction, -1 when none
	probe  *prober
	// overhead is the time the runner itself spent between the
	// migration's statements (snapshots, pg_locks reads). Hold times
	// leave it out: in production nothing runs there.
	overhead time.Duration
	// last is the snapshot after the previous statement, reused as the
	// next one's "before" while nothing else ran in the transaction.
	last *stateSnap
	// t0 is when the first statement was about to run: the origin of
	// StartMS, AcquiredMS and ReleasedMS.
	t0 time.Time
	// parent is the caller's context: when it ends the run was
	// interrupted (the run's own deadline is not an interrupt).
	parent context.Context
	// notRun says why the statements that did not run did not.
	notRun string
	// failedPath and failedLine are the statement that stopped the run.
	failedPath string
	failedLine int
}

// Experiment applies the up statements of files, in order, on the clone
// and measures each one. SQL runs on the clone only: there is no way to
// give it another database. Statements run as their tool would run them
// (the transaction model of sqlparse); a failing statement ends the run,
// as it ends a deployment, and becomes an experiment-failed finding.
// Experiment returns an error only when it cannot measure (no connection,
// ctx canceled); the result then holds what was measured so far.
func Experiment(ctx context.Context, c *Clone, files []*sqlparse.File, opts Options) (*Result, error) {
	if c == nil || c.DSN == "" {
		return nil, errors.New("experiment: no clone")
	}
	opts.defaults()
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, opts.Deadline)
	defer cancel()
	r := &runner{opts: opts, rels: map[uint32]*relInfo{}, held: map[lockKey]*heldLock{}, txFrom: -1,
		res: &Result{Tables: map[string]TableInfo{}}, parent: parent}
	// Connect both sessions at once: the first connections to a fresh
	// clone are slow (its caches are cold).
	var migErr, obsErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.obs, obsErr = connect(ctx, c.DSN, "pgai-observer")
	}()
	r.mig, migErr = connect(ctx, c.DSN, "pgai-migration")
	wg.Wait()
	if r.mig != nil {
		defer r.mig.Close(context.WithoutCancel(ctx))
	}
	if r.obs != nil {
		defer r.obs.Close(context.WithoutCancel(ctx))
	}
	if err := errors.Join(migErr, obsErr); err != nil {
		return nil, fmt.Errorf("experiment on clone %s: %w", c.ID, err)
	}
	var err error
	if err := r.setup(ctx); err != nil {
		return nil, fmt.Errorf("experiment on clone %s: %w", c.ID, err)
	}
	if opts.ProbeTraffic {
		if r.probe, err = startProbe(ctx, c.DSN, r.pid, r.probeTargets(files), opts.Logger); err != nil {
			return nil, fmt.Errorf("experiment on clone %s: %w", c.ID, err)
		}
	}
	start := time.Now()
	r.t0 = start
	runErr := r.run(ctx, files)
	r.res.DurationMS = ms(time.Since(start))
	if r.probe != nil {
		r.attributeProbe(r.probe.stop())
	}
	collapseLocks(r.res.Measurements)
	if parent.Err() != nil {
		r.res.Interrupted = true
		if r.notRun == "" {
			r.notRun = "interrupted"
		}
	}
	r.account(files)
	r.res.Findings = Derive(r.res, opts.Thresholds)
	if runErr != nil {
		return r.res, fmt.Errorf("experiment on clone %s: %w", c.ID, runErr)
	}
	return r.res, nil
}

func connect(ctx context.Context, dsn, app string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse clone DSN: %w", err)
	}
	cfg.RuntimeParams["application_name"] = app
	// Cancel a running statement on the server when ctx ends, rather than
	// only closing the socket, so that the connection stays usable.
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: 5 * time.Second}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to clone: %w", err)
	}
	return conn, nil
}

// setup sets the session timeouts and reads the existing relations.
func (r *runner) setup(ctx context.Context) error {
	set := fmt.Sprintf("SET lock_timeout = %d; SET statement_timeout = %d",
		r.opts.LockTimeout.Milliseconds(), r.opts.StatementTimeout.Milliseconds())
	if _, err := r.mig.Exec(ctx, set); err != nil {
		return fmt.Errorf("set timeouts: %w", err)
	}
	if err := r.mig.QueryRow(ctx, "SELECT pg_backend_pid(), (SELECT oid FROM pg_database WHERE datname = current_database())").Scan(&r.pid, &r.dbOID); err != nil {
		return fmt.Errorf("backend pid: %w", err)
	}
	rows, err := r.obs.Query(ctx, `SELECT c.oid, CASE WHEN n.nspname = 'public' THEN '' ELSE n.nspname || '.' END || c.relname,
		c.relkind::text, CASE WHEN c.relkind IN ('r','m','t','p') THEN pg_table_size(c.oid) ELSE pg_relation_size(c.oid) END,
		CASE WHEN c.relkind IN ('r','m','p') THEN pg_indexes_size(c.oid) ELSE 0 END, greatest(c.reltuples, 0)::int8
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'`)
	if err != nil {
		return fmt.Errorf("read relations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var oid uint32
		var kind string
		ri := &relInfo{existing: true}
		if err := rows.Scan(&oid, &ri.name, &kind, &ri.tableBytes, &ri.indexBytes, &ri.rows); err != nil {
			return fmt.Errorf("read relations: %w", err)
		}
		ri.kind = kind[0]
		r.rels[oid] = ri
		if ri.kind == 'r' || ri.kind == 'p' || ri.kind == 'm' {
			r.res.Tables[ri.name] = TableInfo{TableBytes: ri.tableBytes, IndexBytes: ri.indexBytes, Rows: ri.rows}
		}
	}
	return rows.Err()
}

// errStop ends the run after a failed statement, as a deployment ends.
var errStop = errors.New("stopped")

func (r *runner) run(ctx context.Context, files []*sqlparse.File) error {
	for _, f := range files {
		if !f.Analysed {
			continue
		}
		start := time.Now()
		fr := FileRun{Path: f.Path}
		err := r.runFile(ctx, f, &fr)
		fr.DurationMS = ms(time.Since(start))
		r.res.Files = append(r.res.Files, fr)
		if errors.Is(err, errStop) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) txStatus() byte { return r.mig.PgConn().TxStatus() }

func (r *runner) runFile(ctx context.Context, f *sqlparse.File, fr *FileRun) error {
	block := 0
	toolTx := false
	for _, st := range f.Up() {
		if st.Err != nil {
			r.res.Stopped = fmt.Sprintf("%s:%d: syntax error, the statement and those after it were not run", f.Path, st.Start.Line)
			r.notRun = fmt.Sprintf("syntax error at %s:%d", f.Path, st.Start.Line)
			fr.Failed = true
			_ = r.endTx(ctx, "ROLLBACK")
			return errStop
		}
		if st.Node == nil {
			continue
		}
		if len(st.Unresolved) > 0 {
			r.res.Stopped = fmt.Sprintf("%s:%d: placeholders %s have no value (give them with --var name=value); the experiment stopped before this statement",
				f.Path, st.Start.Line, strings.Join(st.Unresolved, ", "))
			r.notRun = "placeholders " + strings.Join(st.Unresolved, ", ") + " have no value"
			_ = r.endTx(ctx, "ROLLBACK")
			return errStop
		}
		kind := classify(st)
		if st.TxBlock != block {
			if toolTx && r.txStatus() == 'T' {
				if err := r.endTx(ctx, "COMMIT"); err != nil {
					r.commitFailed(err)
					return r.fail(ctx, fr, f, nil, err)
				}
			}
			toolTx = false
			block = st.TxBlock
			if block != 0 && kind != kindTxStart && r.txStatus() == 'I' {
				if err := r.begin(ctx); err != nil {
					return err
				}
				toolTx = true
			}
		}
		fr.Statements++
		if err := r.measure(ctx, f, st, kind); err != nil {
			return r.fail(ctx, fr, f, st, err)
		}
	}
	switch r.txStatus() {
	case 'T':
		if toolTx {
			if err := r.endTx(ctx, "COMMIT"); err != nil {
				r.commitFailed(err)
				return r.fail(ctx, fr, f, nil, err)
			}
			return nil
		}
		// BEGIN without COMMIT: the session ends and PostgreSQL rolls back.
		r.res.Stopped = fmt.Sprintf("%s: the file leaves a transaction open; it was rolled back, as at disconnection", f.Path)
		r.notRun = "the transaction before it was left open and rolled back"
		fr.Failed = true
		_ = r.endTx(ctx, "ROLLBACK")
		return errStop
	case 'E':
		_ = r.endTx(ctx, "ROLLBACK")
	}
	return nil
}

// fail handles a statement error: SQL errors end the run as they end a
// deployment; others (connection lost, ctx canceled) are returned.
func (r *runner) fail(ctx context.Context, fr *FileRun, f *sqlparse.File, st *sqlparse.Statement, err error) error {
	if r.txStatus() != 'I' && !r.mig.IsClosed() {
		_ = r.endTx(context.WithoutCancel(ctx), "ROLLBACK")
	}
	if r.parent.Err() != nil {
		// Interrupted: not a defect of the migration. The statement that
		// was running is marked, its partial figures dropped.
		if n := len(r.res.Measurements); n > 0 && st != nil {
			m := &r.res.Measurements[n-1]
			if m.Path == f.Path && m.Line == st.Start.Line {
				*m = Measurement{Path: m.Path, Line: m.Line, Column: m.Column, EndLine: m.EndLine, Statement: m.Statement,
					Status: StatusInterrupted, Note: "interrupted while it ran", Rows: -1, Locks: []Lock{}, Rewritten: []string{}}
			}
		}
		r.notRun = "interrupted"
		r.res.Stopped = "interrupted: the statements from here on were not measured"
		return fmt.Errorf("interrupted: %w", context.Cause(r.parent))
	}
	fr.Failed = true
	var pe *pgconn.PgError
	if errors.As(err, &pe) || errors.Is(err, context.DeadlineExceeded) {
		if st != nil && (len(r.res.Measurements) == 0 || r.res.Measurements[len(r.res.Measurements)-1].Line != st.Start.Line ||
			r.res.Measurements[len(r.res.Measurements)-1].Path != f.Path) {
			// It failed before it ran (BEGIN or COMMIT around it, or the
			// deadline): record it so that it becomes a finding.
			m := Measurement{Path: f.Path, Line: st.Start.Line, Column: st.Start.Col, EndLine: st.End.Line,
				Statement: st.Text, Status: StatusMeasured, Rows: -1, Locks: []Lock{}, Rewritten: []string{}, Error: err.Error()}
			if pe != nil {
				m.SQLState, m.Error = pe.Code, pe.Message
			} else {
				m.SQLState = "57014"
				m.Error = fmt.Sprintf("the experiment deadline (%s) passed before this statement ran", r.opts.Deadline)
			}
			r.res.Measurements = append(r.res.Measurements, m)
		}
		where := f.Path
		if st != nil {
			where = fmt.Sprintf("%s:%d", f.Path, st.Start.Line)
			r.failedPath, r.failedLine = f.Path, st.Start.Line
		} else if n := len(r.res.Measurements); n > 0 {
			r.failedPath, r.failedLine = r.res.Measurements[n-1].Path, r.res.Measurements[n-1].Line
		}
		r.res.Stopped = fmt.Sprintf("%s: the statement failed; the rest of its transaction was rolled back and later statements were not run, as in a deployment", where)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			r.res.Stopped = fmt.Sprintf("%s: the experiment deadline (%s) passed", where, r.opts.Deadline)
			r.failedLine, r.notRun = 0, fmt.Sprintf("the experiment deadline (%s) passed", r.opts.Deadline)
		}
		return errStop
	}
	return err
}

// commitFailed records the failure of the tool's COMMIT (a deferred
// constraint, a serialization failure) on the transaction's last statement.
func (r *runner) commitFailed(err error) {
	if len(r.res.Measurements) == 0 {
		return
	}
	m := &r.res.Measurements[len(r.res.Measurements)-1]
	if m.Error != "" {
		return
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		m.SQLState, m.Error = pe.Code, "at COMMIT: "+pe.Message
	} else {
		m.Error = "at COMMIT: " + err.Error()
	}
}

func (r *runner) begin(ctx context.Context) error {
	if _, err := r.mig.Exec(ctx, "BEGIN"); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	r.txFrom = len(r.res.Measurements)
	r.last = nil
	return nil
}

// endTx commits or rolls back the open transaction and closes its locks.
func (r *runner) endTx(ctx context.Context, sql string) error {
	if r.mig.IsClosed() || r.txStatus() == 'I' {
		return nil
	}
	_, err := r.mig.Exec(ctx, sql)
	r.afterTx(ctx, time.Now())
	if err != nil {
		return fmt.Errorf("%s: %w", strings.ToLower(sql), err)
	}
	return nil
}

// afterTx closes every held lock at end and records table sizes for the
// statements of the transaction that just ended.
func (r *runner) afterTx(ctx context.Context, end time.Time) {
	r.last = nil
	for k, h := range r.held {
		r.closeLock(k, h, end)
	}
	from := r.txFrom
	if from < 0 {
		from = len(r.res.Measurements) - 1
	}
	r.txFrom = -1
	if from < 0 || from >= len(r.res.Measurements) {
		return
	}
	r.recordSizes(ctx, r.res.Measurements[from:])
}

func (r *runner) closeLock(k lockKey, h *heldLock, end time.Time) {
	held := end.Sub(h.first) - (r.overhead - h.overheadAt)
	if held < 0 {
		held = 0
	}
	if h.idx >= 0 && h.idx < len(r.res.Measurements[h.meas].Locks) {
		l := &r.res.Measurements[h.meas].Locks[h.idx]
		l.HeldMS = ms(held)
		l.AcquiredMS = ms(h.first.Sub(r.t0) - h.overheadAt)
		l.ReleasedMS = l.AcquiredMS + l.HeldMS
	}
	r.spans = append(r.spans, lockSpan{meas: h.meas, oid: k.oid, mode: k.mode, first: h.first, last: end})
	delete(r.held, k)
}

// stateSnap is what the migrating session sees of relations and stats.
type stateSnap struct {
	ok       bool
	lsn      uint64
	filenode map[uint32]uint32
	seqScan  map[uint32]int64
}

const stateQuery = `SELECT pg_current_wal_insert_lsn()::text,
	coalesce((SELECT json_object_agg(c.oid, c.relfilenode::int8) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r','i','m','S') AND c.relfilenode <> 0
		AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'), '{}'),
	coalesce((SELECT json_object_agg(relid, seq_scan) FROM pg_stat_xact_user_tables WHERE seq_scan > 0), '{}')`

// snapshot reads the session's view; it is skipped in a failed
// transaction.
func (r *runner) snapshot(ctx context.Context) stateSnap {
	var s stateSnap
	if r.txStatus() == 'E' || r.mig.IsClosed() {
		return s
	}
	var lsn string
	var fn, ss []byte
	if err := r.mig.QueryRow(ctx, stateQuery).Scan(&lsn, &fn, &ss); err != nil {
		r.opts.Logger.DebugContext(ctx, "state snapshot", slog.Any("error", err))
		return s
	}
	s.lsn = parseLSN(lsn)
	s.filenode, s.seqScan = map[uint32]uint32{}, map[uint32]int64{}
	var fnm map[string]uint32
	var ssm map[string]int64
	if err := json.Unmarshal(fn, &fnm); err != nil {
		r.opts.Logger.DebugContext(ctx, "state snapshot: relfilenodes", slog.Any("error", err))
		return s
	}
	if err := json.Unmarshal(ss, &ssm); err != nil {
		r.opts.Logger.DebugContext(ctx, "state snapshot: scans", slog.Any("error", err))
		return s
	}
	for k, v := range fnm {
		if oid, err := strconv.ParseUint(k, 10, 32); err == nil {
			s.filenode[uint32(oid)] = v
		}
	}
	for k, v := range ssm {
		if oid, err := strconv.ParseUint(k, 10, 32); err == nil {
			s.seqScan[uint32(oid)] = v
		}
	}
	s.ok = true
	return s
}

func parseLSN(s string) uint64 {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0
	}
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if err1 != nil || err2 != nil {
		return 0
	}
	return h<<32 | l
}

type lockRow struct {
	oid     uint32
	mode    string
	granted bool
}

type lockSample struct {
	at    time.Time
	locks []lockRow
}

// readLocks reads the migrating backend's relation locks, from the
// observer connection.
func (r *runner) readLocks(ctx context.Context) ([]lockRow, error) {
	rows, err := r.obs.Query(ctx, `SELECT relation, mode, granted FROM pg_locks
		WHERE pid = $1 AND locktype = 'relation' AND database = $2 AND relation >= 16384`, r.pid, r.dbOID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (lockRow, error) {
		var l lockRow
		return l, row.Scan(&l.oid, &l.mode, &l.granted)
	})
}

// maxSampleInterval caps the sampling interval of long statements.
const maxSampleInterval = 250 * time.Millisecond

// sampler reads pg_locks until stop is closed: every SampleInterval at
// first, then every 1% of the time the statement has run so far (at most
// maxSampleInterval), so that a long rewrite is not slowed by a busy
// observer while the error on when a lock was taken stays near 1%.
func (r *runner) sampler(ctx context.Context, stop <-chan struct{}, out chan<- []lockSample) {
	var samples []lockSample
	begun := time.Now()
	t := time.NewTimer(r.opts.SampleInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			out <- samples
			return
		case <-t.C:
		}
		at := time.Now()
		locks, err := r.readLocks(ctx)
		if err != nil {
			out <- samples
			<-stop
			return
		}
		samples = append(samples, lockSample{at: at, locks: locks})
		t.Reset(min(max(r.opts.SampleInterval, time.Since(begun)/100), maxSampleInterval))
	}
}

// measure runs one statement and records its measurement.
func (r *runner) measure(ctx context.Context, f *sqlparse.File, st *sqlparse.Statement, kind stmtKind) error {
	begun := time.Now()
	m := Measurement{Path: f.Path, Line: st.Start.Line, Column: st.Start.Col, EndLine: st.End.Line,
		Statement: st.Text, Status: StatusMeasured, Rows: -1, Locks: []Lock{}, Rewritten: []string{}}
	light := kind == kindTxStart || kind == kindTxEnd || kind == kindTxOther || kind == kindSetting
	wrap := r.txStatus() == 'I' && (kind == kindOther || kind == kindDML)
	var pre stateSnap
	switch {
	case light:
		if kind != kindSetting {
			r.last = nil // ROLLBACK TO and friends change what the session sees
		}
	case r.last != nil && !wrap && r.txStatus() == 'T':
		pre = *r.last
	default:
		pre = r.snapshot(ctx)
	}
	r.last = nil
	if wrap {
		if err := r.begin(ctx); err != nil {
			return err
		}
	}
	m.InTransaction = r.txStatus() != 'I' && !wrap && kind != kindTxEnd
	if kind == kindTxStart {
		m.InTransaction = true
	}
	idx := len(r.res.Measurements)
	r.res.Measurements = append(r.res.Measurements, m)
	if kind == kindTxStart {
		r.txFrom = idx
	}
	mp := &r.res.Measurements[idx]

	sql := st.SQL
	explain := kind == kindDML && !r.opts.NoExplain
	if explain {
		sql = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql
	}
	var stop chan struct{}
	var samplesC chan []lockSample
	if r.opts.SampleInterval > 0 && !light {
		stop, samplesC = make(chan struct{}), make(chan []lockSample, 1)
		go r.sampler(ctx, stop, samplesC)
	}
	start := time.Now()
	if !wrap {
		r.overhead += start.Sub(begun)
	}
	mp.StartMS = ms(start.Sub(r.t0) - r.overhead)
	results, execErr := r.mig.PgConn().Exec(ctx, sql).ReadAll()
	end := time.Now()
	mp.DurationMS = ms(end.Sub(start))
	var samples []lockSample
	if stop != nil {
		close(stop)
		samples = <-samplesC
	}
	if execErr == nil {
		mp.Rows = rowsOf(results, explain, &mp.Plan)
	} else {
		var pe *pgconn.PgError
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			mp.SQLState = "57014"
			mp.Error = fmt.Sprintf("the experiment deadline (%s) passed during this statement, which was canceled", r.opts.Deadline)
		case errors.As(execErr, &pe):
			mp.SQLState, mp.Error = pe.Code, pe.Message
			if pe.Detail != "" {
				mp.Error += " (" + pe.Detail + ")"
			}
		default:
			mp.Error = execErr.Error()
		}
	}
	var post stateSnap
	if !light {
		post = r.snapshot(ctx)
		if post.ok && execErr == nil && !wrap && r.txStatus() == 'T' {
			r.last = &post
		}
	}
	final, lockErr := r.readLocks(ctx)
	if lockErr == nil {
		samples = append(samples, lockSample{at: end, locks: final})
	}
	r.accountLocks(ctx, idx, start, samples)
	if pre.ok && post.ok {
		r.compare(ctx, mp, pre, post)
	}
	postPhase := time.Since(end)
	switch {
	case execErr != nil:
		r.overhead += postPhase // the ROLLBACK comes after it
		return execErr
	case wrap:
		r.overhead += postPhase
		return r.endTx(ctx, "COMMIT")
	case r.txStatus() == 'I':
		// A COMMIT, or a statement that ran on its own: its locks were
		// gone when it returned.
		r.afterTx(ctx, end)
	}
	r.overhead += postPhase
	return nil
}

// rowsOf reads rows affected from the command tag, or from the plan when
// the statement ran under EXPLAIN ANALYZE.
func rowsOf(results []*pgconn.Result, explain bool, plan *any) int64 {
	if len(results) == 0 {
		return -1
	}
	last := results[len(results)-1]
	if explain && len(last.Rows) > 0 && len(last.Rows[0]) > 0 {
		var p []map[string]any
		if json.Unmarshal(last.Rows[0][0], &p) == nil && len(p) > 0 {
			*plan = p
			return planRows(p[0])
		}
	}
	tag := last.CommandTag
	if tag.Insert() || tag.Update() || tag.Delete() || tag.Select() || strings.HasPrefix(tag.String(), "MERGE") || strings.HasPrefix(tag.String(), "COPY") {
		return tag.RowsAffected()
	}
	return -1
}

// planRows is the number of rows a statement processed, from its plan:
// for INSERT, UPDATE, DELETE and MERGE (ModifyTable) the rows its input
// produced, less conflicts for ON CONFLICT; for SELECT the rows returned.
func planRows(top map[string]any) int64 {
	plan, _ := top["Plan"].(map[string]any)
	if plan == nil {
		return -1
	}
	num := func(m map[string]any, k string) float64 { v, _ := m[k].(float64); return v }
	if plan["Node Type"] == "ModifyTable" {
		if _, ok := plan["Tuples Inserted"]; ok {
			return int64(num(plan, "Tuples Inserted"))
		}
		if subs, _ := plan["Plans"].([]any); len(subs) > 0 {
			if c, _ := subs[0].(map[string]any); c != nil {
				return int64(num(c, "Actual Rows") * max(num(c, "Actual Loops"), 1))
			}
		}
		return int64(num(plan, "Actual Rows"))
	}
	return int64(num(plan, "Actual Rows") * max(num(plan, "Actual Loops"), 1))
}

// accountLocks turns lock samples into locks of measurement idx: a lock
// first seen in a sample taken while the statement ran starts at that
// sample; a lock first seen after the statement started after the last
// sample without it (or at the statement's start). Locks that vanished
// were released at the first sample without them.
func (r *runner) accountLocks(ctx context.Context, idx int, start time.Time, samples []lockSample) {
	lastAbsent := start
	var keys []lockKey // parallel to the measurement's new locks
	for i, s := range samples {
		final := i == len(samples)-1
		present := map[lockKey]bool{}
		for _, l := range s.locks {
			if !l.granted {
				continue
			}
			k := lockKey{l.oid, l.mode}
			present[k] = true
			if _, ok := r.held[k]; ok {
				continue
			}
			first := s.at
			if final {
				first = lastAbsent // seen only after the statement: acquired since the last sample
			}
			m := &r.res.Measurements[idx]
			m.Locks = append(m.Locks, Lock{Mode: l.mode, Blocks: Blocks(l.mode)})
			keys = append(keys, k)
			r.held[k] = &heldLock{meas: idx, idx: len(m.Locks) - 1, first: first, overheadAt: r.overhead}
		}
		if !final {
			for k, h := range r.held {
				if !present[k] && h.meas == idx {
					r.closeLock(k, h, s.at)
				}
			}
			lastAbsent = s.at
		}
	}
	if len(keys) == 0 {
		return
	}
	var oids []uint32
	seen := map[uint32]bool{}
	for _, k := range keys {
		if !seen[k.oid] {
			seen[k.oid] = true
			oids = append(oids, k.oid)
		}
	}
	names := r.names(ctx, oids)
	// Resolve names and drop the noise of weak locks on indexes (every
	// DML takes them); such locks stay tracked, unreported, until released.
	m := &r.res.Measurements[idx]
	keep := m.Locks[:0]
	for i, l := range m.Locks {
		k := keys[i]
		ri := names[k.oid]
		h := r.held[k]
		// Skip relations that no longer exist and never did before the
		// statement (the transient heap of a rewrite), TOAST tables (their
		// table's lock says it all) and weak locks on indexes.
		if ri == nil || ri.kind == 't' || ((ri.kind == 'i' || ri.kind == 'I') && LockStrength(l.Mode) < LockStrength(ShareLock)) {
			if h != nil && h.meas == idx {
				h.idx = -1
			}
			continue
		}
		l.Relation, l.Kind = ri.name, relKind(ri.kind)
		if h != nil && h.meas == idx {
			h.idx = len(keep)
		}
		keep = append(keep, l)
	}
	m.Locks = keep
	if r.probe != nil {
		for _, oid := range oids {
			if ri := r.rels[oid]; ri != nil && ri.existing && (ri.kind == 'r' || ri.kind == 'p' || ri.kind == 'm') {
				r.probe.target(oid, ri.name)
			}
		}
	}
}

// names resolves relation OIDs: on the migrating session first (it sees
// relations its open transaction created or renamed), else the observer.
func (r *runner) names(ctx context.Context, oids []uint32) map[uint32]*relInfo {
	out := map[uint32]*relInfo{}
	conn := r.mig
	if r.txStatus() == 'E' || r.mig.IsClosed() {
		conn = r.obs
	}
	rows, err := conn.Query(ctx, `SELECT c.oid, CASE WHEN n.nspname = 'public' THEN '' ELSE n.nspname || '.' END || c.relname, c.relkind::text
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ANY($1)`, oids)
	if err == nil {
		for rows.Next() {
			var oid uint32
			var name, kind string
			if rows.Scan(&oid, &name, &kind) == nil {
				ri := r.rels[oid]
				if ri == nil {
					ri = &relInfo{}
					r.rels[oid] = ri
				}
				ri.name, ri.kind = name, kind[0]
				out[oid] = ri
			}
		}
		rows.Close()
	}
	for _, oid := range oids {
		if out[oid] == nil && r.rels[oid] != nil {
			out[oid] = r.rels[oid] // dropped by the statement: its last known name
		}
	}
	return out
}

// collapseLocks keeps, for each relation of a statement, its strongest
// lock, and a weaker one only when it was held longer (taken earlier):
// PostgreSQL also records the weaker locks a statement took on its way
// (ACCESS SHARE to look the table up, then ACCESS EXCLUSIVE), which say
// nothing more. Locks are sorted by relation, strongest first.
func collapseLocks(ms []Measurement) {
	for i := range ms {
		locks := ms[i].Locks
		sort.SliceStable(locks, func(a, b int) bool {
			if locks[a].Relation != locks[b].Relation {
				return locks[a].Relation < locks[b].Relation
			}
			return LockStrength(locks[a].Mode) > LockStrength(locks[b].Mode)
		})
		keep := locks[:0]
		var rel string
		var longest float64
		for _, l := range locks {
			if l.Relation != rel {
				rel, longest = l.Relation, l.HeldMS
				keep = append(keep, l)
				continue
			}
			if l.HeldMS > longest {
				longest = l.HeldMS
				keep = append(keep, l)
			}
		}
		ms[i].Locks = keep
	}
}

func relKind(k byte) string {
	switch k {
	case 'r':
		return "table"
	case 'i':
		return "index"
	case 'S':
		return "sequence"
	case 'v':
		return "view"
	case 'm':
		return "materialized view"
	case 'p':
		return "partitioned table"
	case 'I':
		return "partitioned index"
	case 't':
		return "toast table"
	case 'f':
		return "foreign table"
	}
	return ""
}

// compare fills rewrites, scans and WAL from the snapshots around a
// statement.
func (r *runner) compare(ctx context.Context, m *Measurement, pre, post stateSnap) {
	if post.lsn >= pre.lsn {
		m.WALBytes = int64(post.lsn - pre.lsn)
	}
	if len(pre.filenode) == len(post.filenode) && len(post.seqScan) == 0 && !filenodesDiffer(pre, post) {
		return
	}
	var changed, scanned []uint32
	for oid, fn := range pre.filenode {
		if after, ok := post.filenode[oid]; ok && after != fn {
			changed = append(changed, oid)
		}
	}
	for oid, n := range post.seqScan {
		if n > pre.seqScan[oid] {
			scanned = append(scanned, oid)
		}
	}
	names := r.names(ctx, append(append([]uint32{}, changed...), scanned...))
	name := func(oid uint32) string {
		if ri := names[oid]; ri != nil {
			return ri.name
		}
		return "oid " + strconv.FormatUint(uint64(oid), 10)
	}
	for _, oid := range changed {
		m.Rewritten = append(m.Rewritten, name(oid))
	}
	for _, oid := range scanned {
		m.Scanned = append(m.Scanned, name(oid))
	}
	sort.Strings(m.Rewritten)
	sort.Strings(m.Scanned)
}

func filenodesDiffer(pre, post stateSnap) bool {
	for oid, fn := range pre.filenode {
		if post.filenode[oid] != fn {
			return true
		}
	}
	return false
}

// recordSizes measures, after a transaction, the tables its statements
// locked or rewrote. The observer reads committed state only, so this
// waits until the transaction has ended.
func (r *runner) recordSizes(ctx context.Context, ms []Measurement) {
	for i := range ms {
		m := &ms[i]
		names := map[string]bool{}
		for _, l := range m.Locks {
			if l.Kind == "table" || l.Kind == "partitioned table" || l.Kind == "materialized view" {
				names[l.Relation] = true
			}
		}
		for _, n := range m.Rewritten {
			names[n] = true
		}
		for name := range names {
			var oid uint32
			for o, ri := range r.rels {
				if ri.name == name && (ri.kind == 'r' || ri.kind == 'p' || ri.kind == 'm') {
					oid = o
				}
			}
			if oid == 0 {
				continue
			}
			ri := r.rels[oid]
			s := Size{Relation: name, TableBefore: ri.tableBytes, IndexBefore: ri.indexBytes, RowsEstimate: ri.rows}
			err := r.obs.QueryRow(ctx, `SELECT coalesce(pg_table_size($1), 0), coalesce(pg_indexes_size($1), 0),
				greatest((SELECT reltuples FROM pg_class WHERE oid = $1), 0)::int8`, oid).Scan(&s.TableAfter, &s.IndexAfter, &s.RowsEstimate)
			if err != nil {
				continue
			}
			if !ri.existing {
				s.TableBefore, s.IndexBefore = 0, 0
			}
			ri.tableBytes, ri.indexBytes, ri.existing = s.TableAfter, s.IndexAfter, true
			if s.RowsEstimate < ri.rows {
				s.RowsEstimate = ri.rows
			}
			m.Sizes = append(m.Sizes, s)
		}
		sort.Slice(m.Sizes, func(a, b int) bool { return m.Sizes[a].Relation < m.Sizes[b].Relation })
	}
}

// attributeProbe gives each probe wait to the statement whose lock held
// it up: the lock on the same table, in a conflicting mode, whose span
// covers the wait. A writer that waited with no conflicting table lock in
// the way waited for a row the migration changed: the wait goes to the
// statement whose lock on the table (the DML's ROW EXCLUSIVE) was held
// longest across it.
func (r *runner) attributeProbe(waits []probeWait) {
	type key struct {
		meas      int
		rel, kind string
	}
	best := map[key]float64{}
	for _, w := range waits {
		want := AccessShareLock
		if w.kind == "write" {
			want = RowExclusiveLock
		}
		// The culprit is the earliest conflicting lock on the table that
		// was held while the probe waited.
		var culprit, rowHolder *lockSpan
		for i := range r.spans {
			s := &r.spans[i]
			if s.oid != w.oid || s.last.Before(w.start) || s.first.After(w.end) {
				continue
			}
			if !Conflicts(s.mode, want) {
				if w.kind == "write" && LockStrength(s.mode) >= LockStrength(RowExclusiveLock) && (rowHolder == nil || s.first.Before(rowHolder.first)) {
					rowHolder = s
				}
				continue
			}
			if culprit == nil || s.first.Before(culprit.first) {
				culprit = s
			}
		}
		if culprit == nil {
			culprit = rowHolder
		}
		if culprit == nil {
			continue
		}
		k := key{culprit.meas, w.rel, w.kind}
		if v := ms(w.end.Sub(w.start)); v > best[k] {
			best[k] = v
		}
	}
	for k, v := range best {
		m := &r.res.Measurements[k.meas]
		m.Blocked = append(m.Blocked, Blocked{Relation: k.rel, Kind: k.kind, MaxWaitMS: v})
	}
	for i := range r.res.Measurements {
		b := r.res.Measurements[i].Blocked
		sort.Slice(b, func(x, y int) bool {
			if b[x].Relation != b[y].Relation {
				return b[x].Relation < b[y].Relation
			}
			return b[x].Kind < b[y].Kind
		})
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// account gives every statement of the files a measurement, in migration
// order: those that did not run get StatusNotRun with the reason, so a
// report never passes over a statement in silence.
func (r *runner) account(files []*sqlparse.File) {
	ms := r.res.Measurements
	out := make([]Measurement, 0, len(ms))
	i := 0
	for _, f := range files {
		if !f.Analysed {
			continue
		}
		for _, st := range f.Up() {
			if st.Node == nil && st.Err == nil {
				continue
			}
			if i < len(ms) && ms[i].Path == f.Path && ms[i].Line == st.Start.Line && ms[i].Column == st.Start.Col {
				out = append(out, ms[i])
				i++
				continue
			}
			why := r.notRun
			if r.failedLine > 0 {
				if r.failedPath == f.Path {
					why = fmt.Sprintf("stopped after line %d failed", r.failedLine)
				} else {
					why = fmt.Sprintf("stopped after %s:%d failed", r.failedPath, r.failedLine)
				}
			}
			if why == "" {
				why = "the run stopped before it"
			}
			out = append(out, Measurement{Path: f.Path, Line: st.Start.Line, Column: st.Start.Col, EndLine: st.End.Line,
				Statement: st.Text, Status: StatusNotRun, Note: why, Rows: -1, Locks: []Lock{}, Rewritten: []string{}})
		}
	}
	r.res.Measurements = append(out, ms[i:]...)
}
