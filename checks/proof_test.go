package checks

// The PostgreSQL proof test: every rule's lock, rewrite, scan and
// deploy-failure claims are checked on a real server (issue 3, "Proven on
// PostgreSQL"). A claim the server does not confirm fails the test.
//
// A fixture (testdata/<rule-id>[.variant].txtar) with a setup.sql section
// and a proof section is run like this, once per section named in a claim,
// each time on a fresh database:
//
//  1. setup.sql runs (in one implicit transaction): create the tables and
//     insert some rows, so that scans and rewrites are real.
//  2. The section is split and parsed with the fixture's settings
//     (in_transaction=, framework=, timezone=, path=) and run statement by
//     statement as the migration tool would: statements of a tool-wrapped
//     file or of an explicit BEGIN … COMMIT share one transaction; any other
//     statement runs in a transaction of its own (which is what autocommit
//     does), so its locks can be read before it commits. After every
//     statement the runner reads, on the migrating connection, its own
//     relation locks from pg_locks (locks of an open transaction stay until
//     commit), relfilenode of every user relation, and the sequential scans
//     of the transaction (pg_stat_xact_user_tables).
//  3. Statements that cannot run in a transaction block (CONCURRENTLY,
//     VACUUM, …; see NonTransactional) run in autocommit while a second
//     session holds a REPEATABLE READ snapshot and ACCESS SHARE on every user
//     table. Every such statement waits for that session at some point
//     (CREATE INDEX CONCURRENTLY for old snapshots, DROP/REINDEX/DETACH …
//     CONCURRENTLY for lockers, VACUUM FULL for its ACCESS EXCLUSIVE); a
//     third session polls pg_locks of the migrating backend, and once the
//     statement is seen waiting it records the locks held (and awaited) at
//     that moment and releases the second session. Those are the locks
//     that matter for a statement that waits behind running queries: what
//     it holds while it waits is what other sessions queue behind. Locks
//     taken in later, short phases are recorded only when a poll happens to
//     see them (DETACH … CONCURRENTLY holds no relation lock while it waits
//     and takes SHARE UPDATE EXCLUSIVE only afterwards). A statement that
//     never waits has unknown locks, and any lock claim about it fails
//     rather than passing silently. Scans are not observable on this path.
//  4. The first error stops the section, as it stops a migration tool. An
//     error that no "fails" claim expects fails the test.
//  5. A section with a blocks-queue claim runs under contention (the lock
//     queue that lock_timeout is about): before it starts, a holder session
//     opens a transaction and reads the relation (ACCESS SHARE, a
//     long-running reader). A watcher session polls pg_locks until some
//     session waits for a lock on the relation (or the section ends), then
//     runs a cheap SELECT on it under statement_timeout = 2s: a reader
//     arriving while the migration waits. The SELECT hitting its timeout
//     means it queued behind the migration's lock request. Then the holder
//     commits and the section goes on. Every wait is bounded: the holder
//     commits after the probe at the latest, the watcher gives up after 30
//     seconds, and the section's context after two minutes.
//
// Claim format, one per line in the "-- proof --" section (blank lines and
// lines starting with # are ignored):
//
//	<section>[:<line>]: [!]<claim>
//
// <section> is a section of the fixture (bad.sql, good.sql, …). With :<line>
// the claim is about the statement that starts on that line of the section:
// the locks held while it runs (its own and those its transaction took
// earlier and still holds, since locks last until commit), its own rewrite
// or scan; without it, about the whole section. <claim> is one of:
//
//	AccessExclusiveLock orders  the section takes that lock mode (pg_locks
//	                            name: AccessShareLock, RowShareLock,
//	                            RowExclusiveLock, ShareUpdateExclusiveLock,
//	                            ShareLock, ShareRowExclusiveLock,
//	                            ExclusiveLock, AccessExclusiveLock) on that
//	                            relation (granted or waited for)
//	!ShareLock orders           it takes no lock on orders that blocks
//	                            everything ShareLock blocks (ShareLock itself
//	                            or a stronger mode: ShareRowExclusiveLock,
//	                            ExclusiveLock, AccessExclusiveLock)
//	rewrite orders              relfilenode of orders changed (table rewrite
//	                            or index rebuild); !rewrite: it did not
//	scan orders                 orders was read by a sequential scan (a
//	                            constraint validation, a NOT NULL check);
//	                            !scan: it was not
//	fails 25001                 the section stops with an error of that
//	                            SQLSTATE (e.g. CONCURRENTLY in a transaction)
//	succeeds                    the section runs without error (implied by
//	                            every claim except fails; use it alone when
//	                            nothing else is claimed)
//	exists refunds              after the section (and the rollback of a
//	                            transaction it left open) the relation
//	                            exists; !exists: it does not
//	blocks-queue orders         run under contention (step 5): the section
//	                            waited for a lock on orders behind the
//	                            holder, and a SELECT on orders arriving
//	                            meanwhile was blocked (for its whole 2s
//	                            statement_timeout); !blocks-queue: that
//	                            SELECT was not blocked for 2s (the section
//	                            gave up its lock request first, e.g. on
//	                            lock_timeout, or never conflicted)
//
// Relations are named as in pg_class, schema-qualified unless in public; a
// relation renamed by the section answers to its old and its new name.
// Example:
//
//	-- proof --
//	bad.sql: AccessExclusiveLock orders
//	bad.sql: rewrite orders
//	good.sql: !AccessExclusiveLock orders
//	good.sql:3: ShareUpdateExclusiveLock orders
//
// Fixtures whose settings name a pg_version other than the test server's
// major version may not carry a proof section: their claims could not be
// checked. The server is the one internal/pgtest starts (PostgreSQL 15).

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	pg_query "github.com/pganalyze/pg_query_go/v6"

	"gitlab.com/pgai/reviewer/internal/pgtest"
	"gitlab.com/pgai/reviewer/sqlparse"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// lockModes are pg_locks' mode names in order of strength, with the modes
// each conflicts with (PostgreSQL docs, "Table-Level Locks", table 13.2).
var lockModes = []string{
	"AccessShareLock", "RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock",
	"ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock",
}

var lockConflicts = map[string][]string{
	"AccessShareLock":          {"AccessExclusiveLock"},
	"RowShareLock":             {"ExclusiveLock", "AccessExclusiveLock"},
	"RowExclusiveLock":         {"ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"},
	"ShareUpdateExclusiveLock": {"ShareUpdateExclusiveLock", "ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"},
	"ShareLock":                {"RowExclusiveLock", "ShareUpdateExclusiveLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"},
	"ShareRowExclusiveLock":    {"RowExclusiveLock", "ShareUpdateExclusiveLock", "ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"},
	"ExclusiveLock":            {"RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock", "ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"},
	"AccessExclusiveLock":      lockModes,
}

// blocksAtLeast reports whether mode m conflicts with every mode that x
// conflicts with: m blocks at least what x blocks.
func blocksAtLeast(m, x string) bool {
	have := map[string]bool{}
	for _, c := range lockConflicts[m] {
		have[c] = true
	}
	for _, c := range lockConflicts[x] {
		if !have[c] {
			return false
		}
	}
	return true
}

// claim is one line of a proof section.
type claim struct {
	raw     string
	section string
	line    int // statement start line in the section; 0 = whole section
	negate  bool
	kind    string // "lock", "rewrite", "scan", "fails", "succeeds", "exists", "queue"
	mode    string
	rel     string
	code    string
}

func parseClaims(text string) ([]claim, error) {
	var out []claim
	var errs []error
	for _, raw := range strings.Split(text, "\n") {
		raw = strings.TrimSpace(raw)
		if raw == "" || strings.HasPrefix(raw, "#") {
			continue
		}
		c, err := parseClaim(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("claim %q: %w", raw, err))
			continue
		}
		out = append(out, c)
	}
	return out, errors.Join(errs...)
}

func parseClaim(raw string) (claim, error) {
	c := claim{raw: raw}
	where, what, ok := strings.Cut(raw, ": ")
	if !ok {
		return c, errors.New(`want "<section>[:<line>]: <claim>"`)
	}
	c.section = where
	if sec, ln, ok := strings.Cut(where, ":"); ok {
		n, err := strconv.Atoi(ln)
		if err != nil || n < 1 {
			return c, fmt.Errorf("bad line number %q", ln)
		}
		c.section, c.line = sec, n
	}
	if !strings.HasSuffix(c.section, ".sql") {
		return c, fmt.Errorf("section %q is not a .sql section", c.section)
	}
	what = strings.TrimSpace(what)
	if strings.HasPrefix(what, "!") {
		c.negate, what = true, strings.TrimSpace(what[1:])
	}
	f := strings.Fields(what)
	switch {
	case len(f) == 1 && f[0] == "succeeds" && !c.negate:
		c.kind = "succeeds"
	case len(f) == 2 && f[0] == "fails" && !c.negate:
		if len(f[1]) != 5 {
			return c, fmt.Errorf("SQLSTATE %q is not 5 characters", f[1])
		}
		c.kind, c.code = "fails", strings.ToUpper(f[1])
	case len(f) == 2 && f[0] == "exists":
		c.kind, c.rel = "exists", f[1]
	case len(f) == 2 && (f[0] == "rewrite" || f[0] == "scan"):
		c.kind, c.rel = f[0], f[1]
	case len(f) == 2 && f[0] == "blocks-queue":
		c.kind, c.rel = "queue", f[1]
	case len(f) == 2 && lockConflicts[f[0]] != nil:
		c.kind, c.mode, c.rel = "lock", f[0], f[1]
	default:
		return c, fmt.Errorf("unknown claim %q (want a pg_locks mode, rewrite, scan, fails SQLSTATE, succeeds, exists or blocks-queue)", what)
	}
	if c.line != 0 && (c.kind == "fails" || c.kind == "succeeds" || c.kind == "exists" || c.kind == "queue") {
		return c, errors.New("fails, succeeds, exists and blocks-queue are claims about a whole section")
	}
	return c, nil
}

// stmtObs is what the server showed for one statement.
type stmtObs struct {
	line int
	sql  string
	// locks are the relation locks held while the statement runs: its own
	// (granted or waited for) and those its transaction took before and
	// still holds, relation → modes. locksKnown is false when they could
	// not be observed.
	locks      map[string]map[string]bool
	locksKnown bool
	rewritten  map[string]bool
	scanned    map[string]bool
	scansKnown bool
	outside    bool // ran outside a transaction block, observed from another session
}

// sectionObs is the run of one section.
type sectionObs struct {
	stmts []stmtObs
	err   error // the error that stopped the section
	// final names the user relations that exist after the section, once
	// the tool would have disconnected (an open transaction rolled back).
	final map[string]bool
	// queue is what the contention sessions saw (step 5); nil when the
	// section ran without them.
	queue *contention
}

type relInfo struct {
	name     string
	kind     string
	filenode uint32
}

const userRelsSQL = `SELECT c.oid, CASE WHEN n.nspname = 'public' THEN c.relname ELSE n.nspname || '.' || c.relname END,
       c.relkind::text, COALESCE(pg_relation_filenode(c.oid), 0)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'`

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func userRels(ctx context.Context, q querier) (map[uint32]relInfo, error) {
	rows, err := q.Query(ctx, userRelsSQL)
	if err != nil {
		return nil, fmt.Errorf("read pg_class: %w", err)
	}
	out := map[uint32]relInfo{}
	for rows.Next() {
		var oid, fn uint32
		var ri relInfo
		if err := rows.Scan(&oid, &ri.name, &ri.kind, &fn); err != nil {
			return nil, fmt.Errorf("read pg_class: %w", err)
		}
		ri.filenode = fn
		out[oid] = ri
	}
	return out, rows.Err()
}

// ownLocks reads the relation locks of the connection's own backend in
// the current database, as oid → modes.
func ownLocks(ctx context.Context, q querier) (map[uint32]map[string]bool, error) {
	rows, err := q.Query(ctx, `SELECT relation, mode FROM pg_locks
		WHERE pid = pg_backend_pid() AND locktype = 'relation'
		  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)
	if err != nil {
		return nil, fmt.Errorf("read pg_locks: %w", err)
	}
	out := map[uint32]map[string]bool{}
	for rows.Next() {
		var oid uint32
		var mode string
		if err := rows.Scan(&oid, &mode); err != nil {
			return nil, fmt.Errorf("read pg_locks: %w", err)
		}
		if out[oid] == nil {
			out[oid] = map[string]bool{}
		}
		out[oid][mode] = true
	}
	return out, rows.Err()
}

func xactScans(ctx context.Context, q querier) (map[uint32]int64, error) {
	rows, err := q.Query(ctx, `SELECT relid, seq_scan FROM pg_stat_xact_user_tables`)
	if err != nil {
		return nil, fmt.Errorf("read pg_stat_xact_user_tables: %w", err)
	}
	out := map[uint32]int64{}
	for rows.Next() {
		var oid uint32
		var n int64
		if err := rows.Scan(&oid, &n); err != nil {
			return nil, fmt.Errorf("read pg_stat_xact_user_tables: %w", err)
		}
		out[oid] = n
	}
	return out, rows.Err()
}

// relNamer names relations by OID, by every name they had in the catalog
// reads so far (a table renamed by the section answers to its old and its
// new name in claims).
type relNamer []map[uint32]relInfo

func (n relNamer) names(oid uint32) []string {
	var out []string
	for i := range n {
		if ri, ok := n[i][oid]; ok && !slices.Contains(out, ri.name) {
			out = append(out, ri.name)
		}
	}
	return out
}

// proofRun runs the sections of one fixture on fresh databases.
type proofRun struct {
	t       *testing.T
	fx      Fixture
	section string
	// contend names the relation a holder session reads while the
	// section runs (step 5); "" runs the section alone.
	contend string
}

func (r *proofRun) run(ctx context.Context) (*sectionObs, error) {
	db := pgtest.New(r.t)
	db.Exec(r.t, r.fx.Sections["setup.sql"])
	var c *contention
	if r.contend != "" {
		var err error
		if c, err = startContention(ctx, r.t, db, r.contend); err != nil {
			return nil, err
		}
	}
	obs, m, err := r.execute(ctx, db)
	if c != nil {
		// Stop the watcher before the rollback below: locks a failed
		// transaction still holds count as what readers queue behind.
		if cerr := c.finish(); cerr != nil && err == nil {
			err = cerr
		}
	}
	if err != nil {
		return nil, err
	}
	obs.queue = c
	if m.PgConn().TxStatus() != 'I' {
		// A transaction left open (or failed) at the end of the file is
		// rolled back when the tool disconnects.
		if _, err := m.Exec(ctx, "ROLLBACK"); err != nil {
			return nil, fmt.Errorf("rollback: %w", err)
		}
	}
	rels, err := userRels(ctx, m)
	if err != nil {
		return nil, err
	}
	obs.final = map[string]bool{}
	for _, ri := range rels {
		obs.final[ri.name] = true
	}
	return obs, nil
}

func (r *proofRun) execute(ctx context.Context, db *pgtest.Database) (*sectionObs, *pgx.Conn, error) {
	t := r.t
	s, o, path := fixtureSettings(t, r.fx)
	name := r.section
	if path != "" {
		name = strings.ReplaceAll(path, "{}", strings.TrimSuffix(r.section, ".sql"))
	}
	f := sqlparse.ParseFile(name, []byte(r.fx.Sections[r.section]), o)
	if !f.Analysed {
		return nil, nil, fmt.Errorf("%s not analysed: %s", r.section, f.SkippedReason)
	}
	tz := s.SessionTimeZone
	if tz == "" {
		tz = "UTC"
	}
	m := db.Conn(t)
	if _, err := m.Exec(ctx, "SET TimeZone = "+quoteLiteral(tz)); err != nil {
		return nil, nil, fmt.Errorf("set TimeZone: %w", err)
	}
	stmts := f.Up()
	var run []*sqlparse.Statement
	for _, st := range stmts {
		if st.Err != nil {
			return nil, nil, fmt.Errorf("%s:%d: syntax error: %s", r.section, st.Err.Pos.Line, st.Err.Msg)
		}
		if st.Node != nil {
			run = append(run, st)
		}
	}
	obs := &sectionObs{}
	rels, err := userRels(ctx, m)
	if err != nil {
		return nil, nil, err
	}
	namer := relNamer{rels}
	toolBlock := 0 // TxBlock of a transaction the runner opened for the tool
	for i, st := range run {
		so := stmtObs{line: st.Start.Line, sql: st.SQL, locks: map[string]map[string]bool{}, rewritten: map[string]bool{}, scanned: map[string]bool{}}
		status := m.PgConn().TxStatus()
		if !st.InTransaction && NonTransactional(st.Node) != "" && status == 'I' {
			so.outside = true
			after, err := r.observeOutside(ctx, db, m, st.SQL, rels, &so)
			var sf *stmtFailure
			if errors.As(err, &sf) {
				obs.err = sf.err
				obs.stmts = append(obs.stmts, so)
				return obs, m, nil
			}
			if err != nil {
				return nil, nil, err
			}
			namer = append(namer, after)
			rels = after
			obs.stmts = append(obs.stmts, so)
			continue
		}
		_, isTx := st.Node.Node.(*pg_query.Node_TransactionStmt)
		wrapped := false
		if !isTx && status == 'I' {
			// Autocommit runs the statement in a transaction of its own;
			// opening it explicitly lets us read its locks before commit.
			// The first statement of a tool-wrapped block opens the
			// tool's transaction here too.
			if _, err := m.Exec(ctx, "BEGIN"); err != nil {
				return nil, nil, fmt.Errorf("begin: %w", err)
			}
			wrapped = true
			if st.InTransaction {
				toolBlock = st.TxBlock
			}
		}
		var scansBefore map[uint32]int64
		if m.PgConn().TxStatus() == 'T' {
			if scansBefore, err = xactScans(ctx, m); err != nil {
				return nil, nil, err
			}
		}
		_, execErr := m.Exec(ctx, st.SQL)
		if execErr != nil {
			obs.err = execErr
			obs.stmts = append(obs.stmts, so)
			return obs, m, nil
		}
		if m.PgConn().TxStatus() == 'T' {
			locksAfter, err := ownLocks(ctx, m)
			if err != nil {
				return nil, nil, err
			}
			scansAfter, err := xactScans(ctx, m)
			if err != nil {
				return nil, nil, err
			}
			after, err := userRels(ctx, m)
			if err != nil {
				return nil, nil, err
			}
			namer = append(namer, after)
			for oid, modes := range locksAfter {
				for _, name := range namer.names(oid) { // none for system catalogs
					for mode := range modes {
						if so.locks[name] == nil {
							so.locks[name] = map[string]bool{}
						}
						so.locks[name][mode] = true
					}
				}
			}
			for oid, n := range scansAfter {
				if n > scansBefore[oid] {
					for _, name := range namer.names(oid) {
						so.scanned[name] = true
					}
				}
			}
			so.locksKnown, so.scansKnown = true, true
			diffRewrites(rels, after, so.rewritten)
			rels = after
		} else {
			// COMMIT/ROLLBACK: no locks left to read.
			after, err := userRels(ctx, m)
			if err != nil {
				return nil, nil, err
			}
			namer = append(namer, after)
			diffRewrites(rels, after, so.rewritten)
			rels = after
			so.locksKnown, so.scansKnown = true, true
		}
		obs.stmts = append(obs.stmts, so)
		lastOfBlock := i == len(run)-1 || run[i+1].TxBlock != st.TxBlock || !run[i+1].InTransaction
		if m.PgConn().TxStatus() == 'T' && ((wrapped && !st.InTransaction) || (toolBlock != 0 && toolBlock == st.TxBlock && lastOfBlock)) {
			if _, err := m.Exec(ctx, "COMMIT"); err != nil {
				obs.err = err
				return obs, m, nil
			}
			if toolBlock == st.TxBlock {
				toolBlock = 0
			}
		}
	}
	return obs, m, nil
}

// diffRewrites records the relations whose storage was replaced: the same
// OID with a new relfilenode (a rewrite, a rebuilt index), or a relation
// dropped and created again under the same name (ALTER COLUMN TYPE
// re-creates the indexes on the column).
func diffRewrites(before, after map[uint32]relInfo, into map[string]bool) {
	byName := map[string]relInfo{}
	for _, b := range before {
		byName[b.name] = b
	}
	for oid, a := range after {
		if a.filenode == 0 {
			continue
		}
		if b, ok := before[oid]; ok {
			if b.filenode != 0 && a.filenode != b.filenode {
				into[a.name], into[b.name] = true, true
			}
			continue
		}
		if b, ok := byName[a.name]; ok && b.filenode != 0 && b.kind == a.kind && b.filenode != a.filenode {
			into[a.name] = true
		}
	}
}

// observeOutside runs a statement that may not run in a transaction block
// in autocommit and watches its locks from other sessions (see the file
// comment). It returns the relations after the statement.
func (r *proofRun) observeOutside(ctx context.Context, db *pgtest.Database, m *pgx.Conn, sql string, rels map[uint32]relInfo, so *stmtObs) (map[uint32]relInfo, error) {
	t := r.t
	blocker := db.Conn(t)
	observer := db.Conn(t)
	if _, err := blocker.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ"); err != nil {
		return nil, fmt.Errorf("blocker begin: %w", err)
	}
	held := 0
	for _, ri := range rels {
		if ri.kind == "r" || ri.kind == "p" || ri.kind == "m" {
			if _, err := blocker.Exec(ctx, "SELECT 1 FROM "+quoteRel(ri.name)+" LIMIT 0"); err != nil {
				return nil, fmt.Errorf("blocker lock %s: %w", ri.name, err)
			}
			held++
		}
	}
	if held == 0 {
		if _, err := blocker.Exec(ctx, "SELECT 1"); err != nil { // take the snapshot
			return nil, fmt.Errorf("blocker snapshot: %w", err)
		}
	}
	pid := m.PgConn().PID()
	var wg sync.WaitGroup
	var execErr error
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		_, execErr = m.Exec(ctx, sql)
	}()
	seen := map[uint32]map[string]bool{}
	waited, released := false, false
	release := func() error {
		if released {
			return nil
		}
		released = true
		_, err := blocker.Exec(ctx, "COMMIT")
		return err
	}
	var pollErr error
poll:
	for {
		select {
		case <-done:
			break poll
		default:
		}
		rows, err := observer.Query(ctx, `SELECT locktype, COALESCE(relation, 0), mode, granted FROM pg_locks WHERE pid = $1`, pid)
		if err != nil {
			pollErr = fmt.Errorf("observe pg_locks: %w", err)
			break
		}
		blocked := false
		for rows.Next() {
			var lt, mode string
			var oid uint32
			var granted bool
			if err := rows.Scan(&lt, &oid, &mode, &granted); err != nil {
				pollErr = fmt.Errorf("observe pg_locks: %w", err)
				break
			}
			if !granted {
				blocked = true
			}
			if os.Getenv("PROOF_DEBUG") != "" {
				fmt.Println("observed", lt, oid, mode, granted)
			}
			if lt == "relation" {
				if seen[oid] == nil {
					seen[oid] = map[string]bool{}
				}
				seen[oid][mode] = true
			}
		}
		rows.Close()
		if pollErr != nil {
			break
		}
		if blocked && !released {
			waited = true
			if err := release(); err != nil {
				pollErr = fmt.Errorf("release blocker: %w", err)
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := release(); err != nil && pollErr == nil {
		pollErr = fmt.Errorf("release blocker: %w", err)
	}
	wg.Wait()
	if pollErr != nil {
		return nil, pollErr
	}
	after, err := userRels(ctx, m)
	if err != nil {
		return nil, err
	}
	obsRels, err := userRels(ctx, observer)
	if err != nil {
		return nil, err
	}
	namer := relNamer{rels, obsRels, after}
	for oid, modes := range seen {
		for _, name := range namer.names(oid) {
			for mode := range modes {
				if so.locks[name] == nil {
					so.locks[name] = map[string]bool{}
				}
				so.locks[name][mode] = true
			}
		}
	}
	so.locksKnown = waited
	diffRewrites(rels, after, so.rewritten)
	if execErr != nil {
		return after, &stmtFailure{err: execErr}
	}
	return after, nil
}

// contention is the holder and watcher sessions of a section run under
// contention (see the file comment, step 5).
type contention struct {
	rel    string
	holder *pgx.Conn
	prober *pgx.Conn
	stop   chan struct{} // closed when the section has ended
	done   chan struct{} // closed when the watcher has returned
	// waited: a session other than the holder and the watcher was seen
	// waiting for a lock on rel. blocked: the probe SELECT on rel ran into
	// its statement_timeout. probed: the probe ran.
	waited, blocked, probed bool
	err                     error
}

const (
	probeTimeout = "2s"             // the probe SELECT's statement_timeout
	watchLimit   = 30 * time.Second // the watcher gives up waiting for a lock wait after this
)

// startContention opens the holder's transaction on rel and starts the
// watcher.
func startContention(ctx context.Context, t *testing.T, db *pgtest.Database, rel string) (*contention, error) {
	c := &contention{rel: rel, holder: db.Conn(t), prober: db.Conn(t), stop: make(chan struct{}), done: make(chan struct{})}
	var oid uint32
	if err := c.prober.QueryRow(ctx, "SELECT to_regclass($1)::oid", quoteRel(rel)).Scan(&oid); err != nil {
		return nil, fmt.Errorf("contention on %s: relation not found after setup.sql: %w", rel, err)
	}
	if _, err := c.holder.Exec(ctx, "BEGIN"); err != nil {
		return nil, fmt.Errorf("holder begin: %w", err)
	}
	if _, err := c.holder.Exec(ctx, "SELECT count(*) FROM "+quoteRel(rel)); err != nil {
		return nil, fmt.Errorf("holder read %s: %w", rel, err)
	}
	go c.watch(ctx, oid)
	return c, nil
}

// watch waits for a lock wait on the relation (or the end of the section),
// probes with a SELECT, and releases the holder.
func (c *contention) watch(ctx context.Context, oid uint32) {
	defer close(c.done)
	defer func() {
		// Release the holder whatever happened, so that the section
		// never waits for it longer than the probe.
		if _, err := c.holder.Exec(ctx, "COMMIT"); err != nil && c.err == nil {
			c.err = fmt.Errorf("release holder: %w", err)
		}
	}()
	others := []uint32{c.holder.PgConn().PID(), c.prober.PgConn().PID()}
	limit := time.NewTimer(watchLimit)
	defer limit.Stop()
	for {
		select {
		case <-c.stop:
			c.err = c.probe(ctx)
			return
		case <-limit.C:
			c.err = fmt.Errorf("contention on %s: no session waited for a lock on it within %v and the section did not end", c.rel, watchLimit)
			return
		case <-ctx.Done():
			c.err = ctx.Err()
			return
		default:
		}
		var n int
		err := c.prober.QueryRow(ctx, `SELECT count(*) FROM pg_locks
			WHERE locktype = 'relation' AND relation = $1 AND NOT granted AND pid <> ALL($2)
			  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, oid, others).Scan(&n)
		if err != nil {
			c.err = fmt.Errorf("watch pg_locks: %w", err)
			return
		}
		if n > 0 {
			c.waited = true
			c.err = c.probe(ctx)
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// probe runs a cheap SELECT on the relation under a statement_timeout and
// records whether the timeout cancelled it (it was blocked all along).
func (c *contention) probe(ctx context.Context) error {
	if _, err := c.prober.Exec(ctx, "SET statement_timeout = "+quoteLiteral(probeTimeout)); err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	c.probed = true
	_, err := c.prober.Exec(ctx, "SELECT count(*) FROM "+quoteRel(c.rel))
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "57014":
		c.blocked = true
	case err != nil:
		return fmt.Errorf("probe SELECT on %s: %w", c.rel, err)
	}
	if _, err := c.prober.Exec(ctx, "RESET statement_timeout"); err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	return nil
}

// finish tells the watcher that the section has ended and waits for it.
func (c *contention) finish() error {
	close(c.stop)
	<-c.done
	return c.err
}

// stmtFailure marks the error of the statement under test (as opposed to
// an error of the runner).
type stmtFailure struct{ err error }

func (e *stmtFailure) Error() string { return e.err.Error() }

func quoteRel(name string) string {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = `"` + strings.ReplaceAll(p, `"`, `""`) + `"`
	}
	return strings.Join(parts, ".")
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// verify checks the claims about one section against what the server
// showed, and returns one message per unconfirmed claim.
func verify(section string, claims []claim, obs *sectionObs) []string {
	var out []string
	failsClaimed := false
	for _, c := range claims {
		if c.kind == "fails" {
			failsClaimed = true
		}
	}
	code := ""
	var pgErr *pgconn.PgError
	if errors.As(obs.err, &pgErr) {
		code = pgErr.Code
	}
	if obs.err != nil && !failsClaimed {
		out = append(out, fmt.Sprintf("%s failed: %v (no \"fails\" claim expects an error)", section, obs.err))
	}
	for _, c := range claims {
		var stmts []stmtObs
		if c.line == 0 {
			stmts = obs.stmts
		} else {
			for _, so := range obs.stmts {
				if so.line == c.line {
					stmts = append(stmts, so)
				}
			}
			if len(stmts) == 0 {
				out = append(out, fmt.Sprintf("%s: no statement of %s starts on line %d (or the section stopped before it)", c.raw, section, c.line))
				continue
			}
		}
		switch c.kind {
		case "succeeds":
			// reported above when it failed
		case "fails":
			switch {
			case obs.err == nil:
				out = append(out, fmt.Sprintf("%s: the section ran without error", c.raw))
			case code != c.code:
				out = append(out, fmt.Sprintf("%s: it failed with %s instead: %v", c.raw, orNone(code), obs.err))
			}
		case "lock":
			var got []string
			found := false
			for _, so := range stmts {
				if !so.locksKnown {
					out = append(out, fmt.Sprintf("%s: the locks of the statement on line %d could not be observed (it ran outside a transaction and never waited)", c.raw, so.line))
				}
				for mode := range so.locks[c.rel] {
					got = append(got, fmt.Sprintf("line %d: %s", so.line, mode))
					if (!c.negate && mode == c.mode) || (c.negate && blocksAtLeast(mode, c.mode)) {
						found = true
					}
				}
			}
			sort.Strings(got)
			if found == c.negate {
				out = append(out, fmt.Sprintf("%s: not confirmed; locks taken on %s: %s", c.raw, c.rel, orNone(strings.Join(got, ", "))))
			}
		case "exists":
			if obs.final[c.rel] == c.negate {
				out = append(out, fmt.Sprintf("%s: not confirmed (%s exists afterwards: %v)", c.raw, c.rel, obs.final[c.rel]))
			}
		case "queue":
			q := obs.queue
			switch {
			case q == nil || q.rel != c.rel || !q.probed:
				out = append(out, fmt.Sprintf("%s: the section did not run under contention on %s", c.raw, c.rel))
			case !c.negate && !q.waited:
				out = append(out, fmt.Sprintf("%s: not confirmed (the section never waited for a lock on %s behind the holder)", c.raw, c.rel))
			case q.blocked != !c.negate:
				out = append(out, fmt.Sprintf("%s: not confirmed (section waited for a lock on %s: %v; a SELECT on %s was blocked for %s: %v)", c.raw, c.rel, q.waited, c.rel, probeTimeout, q.blocked))
			}
		case "rewrite", "scan":
			found := false
			for _, so := range stmts {
				if c.kind == "scan" && !so.scansKnown {
					out = append(out, fmt.Sprintf("%s: scans of the statement on line %d cannot be observed (it ran outside a transaction)", c.raw, so.line))
				}
				set := so.rewritten
				if c.kind == "scan" {
					set = so.scanned
				}
				found = found || set[c.rel]
			}
			if found == c.negate {
				out = append(out, fmt.Sprintf("%s: not confirmed (%s %s)", c.raw, map[bool]string{true: "there was a", false: "there was no"}[found], c.kind))
			}
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// fixturesWithProof returns every fixture of every rule that has a proof
// section.
func fixturesWithProof() []Fixture {
	var out []Fixture
	seen := map[string]bool{}
	for _, r := range All() {
		for _, fx := range Fixtures(r.ID) {
			if _, ok := fx.Sections["proof"]; ok && !seen[fx.Name] {
				seen[fx.Name] = true
				out = append(out, fx)
			}
		}
	}
	return out
}

// TestProofClaims checks that every proof section parses and names
// sections that exist, and that each proved fixture has a setup.sql.
func TestProofClaims(t *testing.T) {
	t.Parallel()
	for _, fx := range fixturesWithProof() {
		claims, err := parseClaims(fx.Sections["proof"])
		if err != nil {
			t.Errorf("%s: %v", fx.Name, err)
		}
		if _, ok := fx.Sections["setup.sql"]; !ok {
			t.Errorf("%s: a proof section needs a setup.sql section", fx.Name)
		}
		for _, c := range claims {
			if _, ok := fx.Sections[c.section]; !ok {
				t.Errorf("%s: claim %q names missing section %s", fx.Name, c.raw, c.section)
			}
		}
		if _, err := contendedRel(claims); err != nil {
			t.Errorf("%s: %v", fx.Name, err)
		}
		s, _, _ := fixtureSettings(t, fx)
		if s.PGVersion.Major != 0 && s.PGVersion != DefaultVersion {
			t.Errorf("%s: proof claims on a fixture for PostgreSQL %s cannot be checked on the test server (PostgreSQL %s)", fx.Name, s.PGVersion, DefaultVersion)
		}
	}
}

// unprovable lists the rules of the lock and transaction groups whose
// hazard is not a lock mode, rewrite, scan or deploy-time error that a
// single run can show, with the reason.
var unprovable = map[string]string{
	"unbounded-dml-in-migration": "the hazard is the number of rows locked and the WAL written, which grow with the table; the lock mode (ROW EXCLUSIVE) is not the problem",
	"pg14-concurrent-index-bug":  "needs a PostgreSQL 14.0–14.3 server; the test server is PostgreSQL 15",
}

// TestProofCoverage checks that every rule of the lock and transaction
// groups proves its claim on a bad fixture and proves on a good fixture
// that the fix avoids it.
func TestProofCoverage(t *testing.T) {
	t.Parallel()
	for _, g := range [][]*Rule{lockRules, transactionRules} {
		for _, r := range g {
			if _, ok := unprovable[r.ID]; ok {
				continue
			}
			bad, good := false, false
			for _, fx := range Fixtures(r.ID) {
				claims, _ := parseClaims(fx.Sections["proof"])
				for _, c := range claims {
					bad = bad || strings.HasPrefix(c.section, "bad")
					good = good || strings.HasPrefix(c.section, "good")
				}
			}
			if !bad || !good {
				t.Errorf("%s: no proof claims on a bad section (%v) and a good section (%v); add a proof section or list the rule in unprovable with the reason", r.ID, bad, good)
			}
		}
	}
}

// proofWorkers is how many sections run at once: the work waits on the
// server, not on the CPU, so more than GOMAXPROCS (which bounds
// t.Parallel) pays off.
const proofWorkers = 6

// TestProofOnPostgres runs the proof sections on the test server.
func TestProofOnPostgres(t *testing.T) {
	t.Parallel()
	// Subtests run from goroutines (t.Run may be called concurrently) under
	// a semaphore instead of t.Parallel, so that -parallel does not cap them.
	var wg sync.WaitGroup
	sem := make(chan struct{}, proofWorkers)
	defer wg.Wait()
	for _, fx := range fixturesWithProof() {
		claims, err := parseClaims(fx.Sections["proof"])
		if err != nil {
			continue // TestProofClaims reports it
		}
		bySection := map[string][]claim{}
		var sections []string
		for _, c := range claims {
			if bySection[c.section] == nil {
				sections = append(sections, c.section)
			}
			bySection[c.section] = append(bySection[c.section], c)
		}
		for _, sec := range sections {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				t.Run(fx.Name+"/"+sec, func(t *testing.T) { proveSection(t, fx, sec, bySection[sec]) })
			}()
		}
	}
}

// contendedRel returns the relation the blocks-queue claims about one
// section name ("" when there are none); a section runs under contention
// on one relation at most.
func contendedRel(claims []claim) (string, error) {
	rels := map[string]string{} // section → relation
	for _, c := range claims {
		if c.kind != "queue" {
			continue
		}
		if r, ok := rels[c.section]; ok && r != c.rel {
			return "", fmt.Errorf("blocks-queue claims on %s name two relations (%s, %s); a section runs under contention on one", c.section, r, c.rel)
		}
		rels[c.section] = c.rel
	}
	if len(rels) > 1 {
		// Callers pass the claims of one section; several sections are
		// only checked for consistency above.
		return "", nil
	}
	for _, r := range rels {
		return r, nil
	}
	return "", nil
}

// proveSection runs one section and checks its claims.
func proveSection(t *testing.T, fx Fixture, sec string, claims []claim) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	rel, err := contendedRel(claims)
	if err != nil {
		t.Fatal(err)
	}
	r := &proofRun{t: t, fx: fx, section: sec, contend: rel}
	obs, err := r.run(ctx)
	if err != nil {
		t.Fatalf("run %s: %v", sec, err)
	}
	for _, msg := range verify(sec, claims, obs) {
		t.Errorf("%s: %s", fx.Name, msg)
	}
	if t.Failed() {
		for _, so := range obs.stmts {
			t.Logf("%s:%d %s\n  locks %v rewritten %v scanned %v (outside=%v locksKnown=%v)", sec, so.line, abbreviateSQL(so.sql), so.locks, so.rewritten, so.scanned, so.outside, so.locksKnown)
		}
	}
}

func abbreviateSQL(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 100 {
		return s[:97] + "..."
	}
	return s
}
