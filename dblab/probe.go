package dblab

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/sqlparse"
)

// probeWait is one probe statement that waited noticeably.
type probeWait struct {
	oid        uint32
	rel, kind  string
	start, end time.Time
}

// minProbeWait is the shortest wait worth recording: a probe on an idle
// table takes well under a millisecond on loopback.
const minProbeWait = 2 * time.Millisecond

// probePause separates probes of one session: often enough to catch any
// wait longer than itself, rarely enough not to compete with the
// migration for CPU on a small clone host.
const probePause = 10 * time.Millisecond

// maxProbeTables bounds the tables probed (two sessions each).
const maxProbeTables = 8

// guardInterval is how often the guard looks for a probe that the
// migration waits for.
const guardInterval = 50 * time.Millisecond

// probeTarget is an existing table to probe.
type probeTarget struct {
	oid  uint32
	name string
}

// prober plays traffic while the migration runs: for every existing table
// the migration will touch (known from the SQL before it runs, so the
// first statement is probed too), one session reads a row (SELECT …
// LIMIT 1, ACCESS SHARE like any query) and another updates an existing
// row and rolls back (the ROW EXCLUSIVE table lock of every INSERT, UPDATE
// and DELETE, plus a row lock, so it also waits for rows the migration
// changed). Each waits in the lock queue like real traffic, so its waits
// are what the application would see. A guard cancels a probe that the
// migration itself comes to wait for (a row-lock wait turning into a
// deadlock): the probe yields, the migration is measured unhindered.
type prober struct {
	mu      sync.Mutex
	ctx     context.Context
	dsn     string
	targets map[uint32]string
	pids    map[uint32]bool // probe backends
	waits   []probeWait
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	logger  *slog.Logger
}

// probeTargets are the existing tables the files' statements lock, in
// order of first mention, from the static lock model.
func (r *runner) probeTargets(files []*sqlparse.File) []probeTarget {
	byName := map[string]uint32{}
	for oid, ri := range r.rels {
		if ri.existing && (ri.kind == 'r' || ri.kind == 'p' || ri.kind == 'm') {
			byName[strings.ToLower(ri.name)] = oid
		}
	}
	var out []probeTarget
	seen := map[uint32]bool{}
	for _, f := range files {
		if !f.Analysed {
			continue
		}
		for _, st := range f.Up() {
			if st.Node == nil {
				continue
			}
			for _, l := range checks.StatementLocks(st.Node, nil, true) {
				name := strings.ToLower(l.Rel.Relname)
				if s := strings.ToLower(l.Rel.Schemaname); s != "" && s != "public" {
					name = s + "." + name
				}
				oid, ok := byName[name]
				if ok && !seen[oid] {
					seen[oid] = true
					out = append(out, probeTarget{oid, r.rels[oid].name})
				}
			}
		}
	}
	return out
}

func startProbe(ctx context.Context, dsn string, migPID uint32, targets []probeTarget, logger *slog.Logger) (*prober, error) {
	pctx, cancel := context.WithCancel(ctx)
	p := &prober{ctx: pctx, dsn: dsn, targets: map[uint32]string{}, pids: map[uint32]bool{}, cancel: cancel, logger: logger}
	guard, err := connect(ctx, dsn, "pgai-probe-guard")
	if err != nil {
		cancel()
		return nil, err
	}
	p.wg.Add(1)
	go p.guard(guard, migPID)
	// Connect every session before the first statement runs.
	var ready sync.WaitGroup
	for _, t := range targets {
		p.add(t.oid, t.name, &ready)
	}
	ready.Wait()
	return p, nil
}

// target adds a table seen locked at run time that the static model did
// not name.
func (p *prober) target(oid uint32, name string) {
	p.add(oid, name, nil)
}

func (p *prober) add(oid uint32, name string, ready *sync.WaitGroup) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.targets[oid]; ok || len(p.targets) >= maxProbeTables || p.ctx.Err() != nil {
		return
	}
	p.targets[oid] = name
	for _, kind := range []string{"read", "write"} {
		p.wg.Add(1)
		if ready != nil {
			ready.Add(1)
		}
		go p.loop(oid, name, kind, ready)
	}
}

// stop ends the probe and returns the waits it recorded.
func (p *prober) stop() []probeWait {
	p.cancel()
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waits
}

// guard cancels a probe statement that waits for a lock while the
// migrating session waits for it.
func (p *prober) guard(conn *pgx.Conn, migPID uint32) {
	defer p.wg.Done()
	defer conn.Close(context.WithoutCancel(p.ctx))
	t := time.NewTicker(guardInterval)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		}
		p.mu.Lock()
		pids := make([]uint32, 0, len(p.pids))
		for pid := range p.pids {
			pids = append(pids, pid)
		}
		p.mu.Unlock()
		if len(pids) == 0 {
			continue
		}
		rows, err := conn.Query(p.ctx, `SELECT a.pid, pg_cancel_backend(a.pid) FROM pg_stat_activity a
			WHERE a.pid = ANY(pg_blocking_pids($1)) AND a.pid = ANY($2) AND a.wait_event_type = 'Lock'`, migPID, pids)
		if err != nil {
			continue
		}
		for rows.Next() {
			var pid uint32
			var ok bool
			if rows.Scan(&pid, &ok) == nil {
				p.logger.DebugContext(p.ctx, "traffic probe yielded to the migration", slog.Any("pid", pid))
			}
		}
		rows.Close()
	}
}

func (p *prober) loop(oid uint32, name, kind string, ready *sync.WaitGroup) {
	defer p.wg.Done()
	ctx := p.ctx
	conn, err := connect(ctx, p.dsn, "pgai-probe-"+kind)
	if ready != nil {
		ready.Done()
	}
	if err != nil {
		p.logger.DebugContext(ctx, "traffic probe", slog.String("relation", name), slog.Any("error", err))
		return
	}
	defer conn.Close(context.WithoutCancel(ctx))
	p.mu.Lock()
	p.pids[conn.PgConn().PID()] = true
	p.mu.Unlock()
	var ident, col string
	for ctx.Err() == nil {
		if ident == "" {
			if err := conn.QueryRow(ctx, `SELECT format('%I.%I', n.nspname, c.relname),
				coalesce((SELECT quote_ident(a.attname) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
					AND NOT a.attisdropped AND a.attgenerated = '' AND a.attidentity <> 'a' ORDER BY a.attnum LIMIT 1), '')
				FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1`, oid).Scan(&ident, &col); err != nil {
				return // dropped: nothing left to probe
			}
		}
		sql := "SELECT 1 FROM " + ident + " LIMIT 1"
		if kind == "write" {
			sql = "BEGIN; LOCK TABLE " + ident + " IN ROW EXCLUSIVE MODE; ROLLBACK"
			if col != "" {
				sql = "BEGIN; UPDATE " + ident + " SET " + col + " = " + col + " WHERE ctid = (SELECT ctid FROM " + ident + " LIMIT 1); ROLLBACK"
			}
		}
		start := time.Now()
		_, err := conn.PgConn().Exec(ctx, sql).ReadAll()
		end := time.Now()
		if conn.PgConn().TxStatus() != 'I' {
			_, _ = conn.PgConn().Exec(context.WithoutCancel(ctx), "ROLLBACK").ReadAll()
		}
		if err != nil && ctx.Err() == nil {
			// Renamed, a column changed, or canceled by the guard: look the
			// table up again; the wait still counts.
			p.logger.DebugContext(ctx, "traffic probe", slog.String("relation", name), slog.Any("error", err))
			ident = ""
		}
		if end.Sub(start) >= minProbeWait {
			p.mu.Lock()
			p.waits = append(p.waits, probeWait{oid: oid, rel: name, kind: kind, start: start, end: end})
			p.mu.Unlock()
		}
		select {
		case <-ctx.Done():
		case <-time.After(probePause):
		}
	}
}
