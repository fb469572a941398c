package loadtest

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// sampler takes one sample per second during an iteration: wait events
// and states of the backends (pg_stat_activity), locks by mode and
// whether granted (pg_locks), who blocks whom, and this host's CPU, disk
// and memory counters.
type sampler struct {
	conn *pgx.Conn
	host bool

	waits, locks, blocked, cpu, disk, mem *csv.Writer
	bufs                                  map[string]*bytes.Buffer
	summary                               map[string]int
	samples                               int
	errs                                  int
	lastErr                               error
	prevCPU                               []uint64
	prevDisk                              map[string][]uint64
}

func newSampler(conn *pgx.Conn, host bool) *sampler {
	s := &sampler{conn: conn, host: host, bufs: map[string]*bytes.Buffer{}, summary: map[string]int{}, prevDisk: map[string][]uint64{}}
	mk := func(name string, head ...string) *csv.Writer {
		b := &bytes.Buffer{}
		s.bufs[name] = b
		w := csv.NewWriter(b)
		_ = w.Write(head)
		return w
	}
	s.waits = mk("samples/wait_events.csv", "ts", "backend_type", "state", "wait_event_type", "wait_event", "backends")
	s.locks = mk("samples/locks.csv", "ts", "locktype", "mode", "granted", "count")
	s.blocked = mk("samples/lock_waits.csv", "ts", "pid", "blocked_by", "wait_event_type", "wait_event", "waiting_s", "query")
	if host {
		s.cpu = mk("samples/host_cpu.csv", "ts", "user_pct", "system_pct", "iowait_pct", "idle_pct", "steal_pct", "runnable", "blocked")
		s.disk = mk("samples/host_disk.csv", "ts", "device", "reads", "writes", "read_kib", "write_kib", "io_ms")
		s.mem = mk("samples/host_memory.csv", "ts", "mem_free_kib", "cached_kib", "dirty_kib", "writeback_kib")
	}
	return s
}

// run samples every second until ctx ends.
func (s *sampler) run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	s.sample(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.sample(ctx)
		}
	}
}

func (s *sampler) sample(ctx context.Context) {
	ts := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	s.samples++
	qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	err := s.query(qctx, `SELECT coalesce(backend_type, ''), coalesce(state, ''), coalesce(wait_event_type, 'CPU'), coalesce(wait_event, 'CPU'), count(*)
		FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type IS NOT NULL GROUP BY 1, 2, 3, 4 ORDER BY 5 DESC`, func(v []string) {
		_ = s.waits.Write(append([]string{ts}, v...))
		if v[1] == "active" {
			n, _ := strconv.Atoi(v[4])
			s.summary[v[2]+":"+v[3]] += n
		}
	})
	if err == nil {
		err = s.query(qctx, `SELECT locktype, mode, granted::text, count(*) FROM pg_locks WHERE pid <> pg_backend_pid() GROUP BY 1, 2, 3 ORDER BY 4 DESC`, func(v []string) {
			_ = s.locks.Write(append([]string{ts}, v...))
		})
	}
	if err == nil {
		err = s.query(qctx, `SELECT pid::text, pg_blocking_pids(pid)::text, coalesce(wait_event_type, ''), coalesce(wait_event, ''),
			round(extract(epoch FROM clock_timestamp() - state_change)::numeric, 3)::text, left(query, 200)
			FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()`, func(v []string) {
			_ = s.blocked.Write(append([]string{ts}, v...))
		})
	}
	if err != nil && ctx.Err() == nil {
		s.errs++
		s.lastErr = err
	}
	if s.host {
		s.sampleHost(ts)
	}
}

func (s *sampler) query(ctx context.Context, sql string, row func([]string)) error {
	rows, err := s.conn.Query(ctx, mark+sql, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		raw := rows.RawValues()
		v := make([]string, len(raw))
		for i, b := range raw {
			v[i] = string(b)
		}
		row(v)
	}
	return rows.Err()
}

func (s *sampler) sampleHost(ts string) {
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		var cur []uint64
		var runnable, blocked string
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) > 8 && f[0] == "cpu":
				for _, x := range f[1:] {
					n, _ := strconv.ParseUint(x, 10, 64)
					cur = append(cur, n)
				}
			case len(f) == 2 && f[0] == "procs_running":
				runnable = f[1]
			case len(f) == 2 && f[0] == "procs_blocked":
				blocked = f[1]
			}
		}
		if s.prevCPU != nil && len(cur) >= 8 {
			var total float64
			d := make([]float64, len(cur))
			for i := range cur {
				d[i] = float64(cur[i] - s.prevCPU[i])
				total += d[i]
			}
			if total > 0 {
				pct := func(x float64) string { return fmt.Sprintf("%.1f", x/total*100) }
				_ = s.cpu.Write([]string{ts, pct(d[0] + d[1]), pct(d[2] + d[5] + d[6]), pct(d[4]), pct(d[3]), pct(d[7]), runnable, blocked})
			}
		}
		s.prevCPU = cur
	}
	if b, err := os.ReadFile("/proc/diskstats"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) < 14 || strings.HasPrefix(f[2], "loop") || strings.HasPrefix(f[2], "ram") {
				continue
			}
			var cur []uint64
			for _, i := range []int{3, 7, 5, 9, 12} { // reads, writes, sectors read, sectors written, io ms
				n, _ := strconv.ParseUint(f[i], 10, 64)
				cur = append(cur, n)
			}
			if prev, ok := s.prevDisk[f[2]]; ok {
				_ = s.disk.Write([]string{ts, f[2], fmt.Sprint(cur[0] - prev[0]), fmt.Sprint(cur[1] - prev[1]),
					fmt.Sprint((cur[2] - prev[2]) / 2), fmt.Sprint((cur[3] - prev[3]) / 2), fmt.Sprint(cur[4] - prev[4])})
			}
			s.prevDisk[f[2]] = cur
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m := map[string]string{}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if ok {
				m[k] = strings.TrimSuffix(strings.TrimSpace(v), " kB")
			}
		}
		_ = s.mem.Write([]string{ts, m["MemFree"], m["Cached"], m["Dirty"], m["Writeback"]})
	}
}

// write flushes the samples into the iteration's artifacts, with a
// summary of the active backends' wait events over all samples.
func (s *sampler) write(a *artifactSet) {
	for _, w := range []*csv.Writer{s.waits, s.locks, s.blocked, s.cpu, s.disk, s.mem} {
		if w != nil {
			w.Flush()
		}
	}
	names := make([]string, 0, len(s.bufs))
	for n := range s.bufs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		_ = a.write(n, s.bufs[n].Bytes())
	}
	type kv struct {
		k string
		n int
	}
	var all []kv
	total := 0
	for k, n := range s.summary {
		all = append(all, kv{k, n})
		total += n
	}
	sort.Slice(all, func(i, j int) bool { return all[i].n > all[j].n || all[i].n == all[j].n && all[i].k < all[j].k })
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"wait_event_type", "wait_event", "active_backend_samples", "pct"})
	for _, x := range all {
		typ, ev, _ := strings.Cut(x.k, ":")
		_ = w.Write([]string{typ, ev, strconv.Itoa(x.n), fmt.Sprintf("%.1f", float64(x.n)/float64(max(total, 1))*100)})
	}
	w.Flush()
	_ = a.write("samples/wait_events_summary.csv", buf.Bytes())
	if s.errs > 0 {
		a.fail("samples", fmt.Errorf("%d of %d samples failed, last: %v", s.errs, s.samples, s.lastErr))
	}
}
