package dblab

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
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

// probePause separates rounds of probes: often enough to catch any wait
// longer than itself, rarely enough not to compete with the migration
// for CPU on a small clone host.
const probePause = 25 * time.Millisecond

// prober plays traffic while the migration runs: one session repeatedly
// reads one row of every existing table the migration has locked so far
// (SELECT … LIMIT 1, ACCESS SHARE like any query), another takes the
// ROW EXCLUSIVE table lock that every INSERT, UPDATE and DELETE takes, in a
// transaction it rolls back. Both wait in the lock queue like real
// traffic, so their waits are what the application would see. The writer
// takes no row locks and holds nothing while it waits, so it cannot
// deadlock with the migration.
type prober struct {
	mu      sync.Mutex
	targets map[uint32]string // oid → display name
	waits   []probeWait
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	logger  *slog.Logger
}

func startProbe(ctx context.Context, dsn string, logger *slog.Logger) (*prober, error) {
	p := &prober{targets: map[uint32]string{}, logger: logger}
	var conns []*pgx.Conn
	for _, app := range []string{"pgai-probe-read", "pgai-probe-write"} {
		c, err := connect(ctx, dsn, app)
		if err != nil {
			for _, c := range conns {
				c.Close(context.WithoutCancel(ctx))
			}
			return nil, fmt.Errorf("traffic probe: %w", err)
		}
		conns = append(conns, c)
	}
	pctx, cancel := context.WithCancel(ctx)
	p.cancel = cancel
	for i, kind := range []string{"read", "write"} {
		p.wg.Add(1)
		go p.loop(pctx, conns[i], kind)
	}
	return p, nil
}

// target adds a table to probe.
func (p *prober) target(oid uint32, name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.targets[oid] = name
}

// stop ends the probe and returns the waits it recorded.
func (p *prober) stop() []probeWait {
	p.cancel()
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waits
}

func (p *prober) loop(ctx context.Context, conn *pgx.Conn, kind string) {
	defer p.wg.Done()
	defer conn.Close(context.WithoutCancel(ctx))
	idents := map[uint32]string{}
	gone := map[uint32]bool{}
	for ctx.Err() == nil {
		p.mu.Lock()
		targets := make(map[uint32]string, len(p.targets))
		for k, v := range p.targets {
			targets[k] = v
		}
		p.mu.Unlock()
		for oid, name := range targets {
			if gone[oid] || ctx.Err() != nil {
				continue
			}
			ident, ok := idents[oid]
			if !ok {
				if err := conn.QueryRow(ctx, `SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c
					JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1`, oid).Scan(&ident); err != nil {
					gone[oid] = true
					continue
				}
				idents[oid] = ident
			}
			sql := "SELECT 1 FROM " + ident + " LIMIT 1"
			if kind == "write" {
				sql = "BEGIN; LOCK TABLE " + ident + " IN ROW EXCLUSIVE MODE; ROLLBACK"
			}
			start := time.Now()
			_, err := conn.PgConn().Exec(ctx, sql).ReadAll()
			end := time.Now()
			if conn.PgConn().TxStatus() != 'I' {
				_, _ = conn.PgConn().Exec(context.WithoutCancel(ctx), "ROLLBACK").ReadAll()
			}
			if err != nil {
				if ctx.Err() == nil {
					p.logger.DebugContext(ctx, "traffic probe", slog.String("relation", name), slog.Any("error", err))
					gone[oid] = true // dropped or renamed away: stop probing it
				}
				// A wait cut short by the end of the run still counts.
			}
			if end.Sub(start) >= minProbeWait {
				p.mu.Lock()
				p.waits = append(p.waits, probeWait{oid: oid, rel: name, kind: kind, start: start, end: end})
				p.mu.Unlock()
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(probePause):
		}
	}
}
