package loadtest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Summary is what pgbench prints at the end of a run (stdout).
type Summary struct {
	Version         string  `json:"version,omitempty"`
	TransactionType string  `json:"transaction_type,omitempty"`
	Scale           int     `json:"scale,omitempty"`
	QueryMode       string  `json:"query_mode,omitempty"`
	Clients         int     `json:"clients"`
	Threads         int     `json:"threads"`
	DurationS       float64 `json:"duration_s,omitempty"`
	Transactions    int64   `json:"transactions"`
	Failed          int64   `json:"failed"`
	LatencyAvgMs    float64 `json:"latency_avg_ms"`
	LatencyStddevMs float64 `json:"latency_stddev_ms"`
	InitialConnMs   float64 `json:"initial_connection_ms"`
	TPS             float64 `json:"tps"`
	// Statements are the per-statement latencies (-r), of every script.
	Statements []StatementLatency `json:"statements,omitempty"`
	// Scripts are the per-script figures when several scripts ran.
	Scripts []ScriptSummary `json:"scripts,omitempty"`
}

// StatementLatency is one line of pgbench -r.
type StatementLatency struct {
	Script    int     `json:"script"` // 1-based
	LatencyMs float64 `json:"latency_ms"`
	Failures  int64   `json:"failures"`
	Command   string  `json:"command"`
}

// ScriptSummary is the block pgbench prints per script when it ran more
// than one.
type ScriptSummary struct {
	Name         string  `json:"name"`
	Weight       int     `json:"weight"`
	Transactions int64   `json:"transactions"`
	TPS          float64 `json:"tps"`
	LatencyAvgMs float64 `json:"latency_avg_ms"`
}

var (
	reScriptHead = regexp.MustCompile(`^SQL script (\d+): (.*)$`)
	reStatement  = regexp.MustCompile(`^\s+(\d+\.\d+)\s+(?:(\d+)\s+)?(\S.*)$`)
	reFloatLead  = regexp.MustCompile(`[-+]?\d+(?:\.\d+)?`)
	reScriptTx   = regexp.MustCompile(`^ - (\d+) transactions \([^)]*tps = ([\d.]+)\)`)
)

func leadFloat(s string) float64 {
	m := reFloatLead.FindString(s)
	f, _ := strconv.ParseFloat(m, 64)
	return f
}

// ParseSummary parses pgbench's standard output. It fails when the output
// has no "tps =" line (pgbench did not finish).
func ParseSummary(out string) (Summary, error) {
	var s Summary
	script := 1
	inStatements := false
	var cur *ScriptSummary
	sawTPS := false
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, "\r")
		if inStatements {
			if m := reStatement.FindStringSubmatch(line); m != nil {
				lat, _ := strconv.ParseFloat(m[1], 64)
				var fails int64
				if m[2] != "" {
					fails, _ = strconv.ParseInt(m[2], 10, 64)
				}
				s.Statements = append(s.Statements, StatementLatency{Script: script, LatencyMs: lat, Failures: fails, Command: strings.TrimSpace(m[3])})
				continue
			}
			inStatements = false
		}
		t := strings.TrimSpace(line)
		t = strings.TrimPrefix(t, "- ")
		key, val, hasColon := strings.Cut(t, ": ")
		switch {
		case strings.HasPrefix(line, "pgbench (") && strings.HasSuffix(line, ")"):
			s.Version = strings.TrimSuffix(strings.TrimPrefix(line, "pgbench ("), ")")
		case hasColon && key == "transaction type":
			s.TransactionType = val
		case hasColon && key == "scaling factor":
			s.Scale = int(leadFloat(val))
		case hasColon && key == "query mode":
			s.QueryMode = val
		case hasColon && key == "number of clients":
			s.Clients = int(leadFloat(val))
		case hasColon && key == "number of threads":
			s.Threads = int(leadFloat(val))
		case hasColon && key == "duration":
			s.DurationS = leadFloat(val)
		case hasColon && key == "number of transactions actually processed":
			n, _ := strconv.ParseInt(strings.Fields(val)[0], 10, 64)
			s.Transactions = n
		case hasColon && key == "number of failed transactions" && cur == nil:
			n, _ := strconv.ParseInt(strings.Fields(val)[0], 10, 64)
			s.Failed = n
		case strings.HasPrefix(t, "latency average = "):
			v := leadFloat(strings.TrimPrefix(t, "latency average = "))
			if cur != nil {
				cur.LatencyAvgMs = v
			} else {
				s.LatencyAvgMs = v
			}
		case strings.HasPrefix(t, "latency stddev = ") && cur == nil:
			s.LatencyStddevMs = leadFloat(strings.TrimPrefix(t, "latency stddev = "))
		case strings.HasPrefix(t, "initial connection time = "):
			s.InitialConnMs = leadFloat(strings.TrimPrefix(t, "initial connection time = "))
		case strings.HasPrefix(t, "tps = "):
			s.TPS = leadFloat(strings.TrimPrefix(t, "tps = "))
			sawTPS = true
		case strings.HasPrefix(t, "statement latencies in milliseconds"):
			inStatements = true
		case reScriptHead.MatchString(line):
			m := reScriptHead.FindStringSubmatch(line)
			script, _ = strconv.Atoi(m[1])
			s.Scripts = append(s.Scripts, ScriptSummary{Name: m[2]})
			cur = &s.Scripts[len(s.Scripts)-1]
		case cur != nil && strings.HasPrefix(t, "weight: "):
			cur.Weight = int(leadFloat(strings.TrimPrefix(t, "weight: ")))
		case cur != nil && reScriptTx.MatchString(line):
			m := reScriptTx.FindStringSubmatch(line)
			cur.Transactions, _ = strconv.ParseInt(m[1], 10, 64)
			cur.TPS, _ = strconv.ParseFloat(m[2], 64)
		}
	}
	if !sawTPS {
		return s, errors.New("pgbench printed no result (no \"tps =\" line)")
	}
	return s, nil
}

// Progress is one pgbench -P line (stderr).
type Progress struct {
	AtS      float64 `json:"at_s"`
	TPS      float64 `json:"tps"`
	LatMs    float64 `json:"lat_ms"`
	StddevMs float64 `json:"stddev_ms"`
	Failed   int64   `json:"failed"`
}

var reProgress = regexp.MustCompile(`^progress: ([\d.]+) s, ([\d.]+) tps, lat ([\d.]+) ms stddev ([\d.NaN]+)(?:, (\d+) failed)?`)

// ParseProgress parses a "progress: 10.0 s, 1234.5 tps, lat ..." line.
func ParseProgress(line string) (Progress, bool) {
	m := reProgress.FindStringSubmatch(strings.TrimSpace(line))
	if m == nil {
		return Progress{}, false
	}
	var p Progress
	p.AtS, _ = strconv.ParseFloat(m[1], 64)
	p.TPS, _ = strconv.ParseFloat(m[2], 64)
	p.LatMs, _ = strconv.ParseFloat(m[3], 64)
	p.StddevMs, _ = strconv.ParseFloat(m[4], 64)
	if math.IsNaN(p.StddevMs) {
		p.StddevMs = 0
	}
	if m[5] != "" {
		p.Failed, _ = strconv.ParseInt(m[5], 10, 64)
	}
	return p, true
}

// Latency is what the per-transaction logs say about one run.
type Latency struct {
	Transactions int64   `json:"transactions"`
	Failed       int64   `json:"failed"`
	Skipped      int64   `json:"skipped"`
	AvgMs        float64 `json:"avg_ms"`
	P50Ms        float64 `json:"p50_ms"`
	P95Ms        float64 `json:"p95_ms"`
	P99Ms        float64 `json:"p99_ms"`
	MaxMs        float64 `json:"max_ms"`
	// PerSecond is the transactions completed in each second of the
	// run, counted from the start of the first transaction (TPS over
	// time); transactions still in flight when the run's time was up
	// count in its last second.
	PerSecond []int64 `json:"per_second"`
}

// TxLogReader accumulates pgbench per-transaction log lines (-l):
//
//	client_id transaction_no time script_no time_epoch time_us [schedule_lag] [retries]
//
// time is the latency in microseconds, or "failed"/"skipped" (or, with
// --failures-detailed, "serialization"/"deadlock").
type TxLogReader struct {
	lat     []uint32 // microseconds
	ends    []int64  // completion times, microseconds since the epoch
	failed  int64
	skipped int64
	sum     float64
	max     uint32
	start   int64 // earliest transaction start
	lines   int64
}

// NewTxLogReader returns an empty reader.
func NewTxLogReader() *TxLogReader { return &TxLogReader{start: math.MaxInt64} }

// Read consumes one log file's lines.
func (r *TxLogReader) Read(rd io.Reader) error {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		r.lines++
		f := strings.Fields(sc.Text())
		if len(f) < 6 {
			return fmt.Errorf("transaction log line %d: %d fields, want at least 6: %q", r.lines, len(f), sc.Text())
		}
		epoch, err1 := strconv.ParseInt(f[4], 10, 64)
		usec, err2 := strconv.ParseInt(f[5], 10, 64)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("transaction log line %d: time_epoch/time_us %q %q", r.lines, f[4], f[5])
		}
		end := epoch*1_000_000 + usec
		switch f[2] {
		case "skipped":
			r.skipped++
			continue
		case "failed", "serialization", "deadlock":
			r.failed++
			r.start = min(r.start, end)
			continue
		}
		us, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			return fmt.Errorf("transaction log line %d: time %q", r.lines, f[2])
		}
		r.lat = append(r.lat, uint32(us))
		r.ends = append(r.ends, end)
		r.sum += float64(us)
		r.max = max(r.max, uint32(us))
		r.start = min(r.start, end-int64(us))
	}
	return sc.Err()
}

// ReadFile consumes one log file.
func (r *TxLogReader) ReadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("transaction log: %w", err)
	}
	defer f.Close()
	if err := r.Read(f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Result computes the latency figures (percentiles by nearest rank);
// duration is the run's -T (0: unknown, the per-second series then ends
// with the last transaction).
func (r *TxLogReader) Result(duration time.Duration) Latency {
	out := Latency{Transactions: int64(len(r.lat)), Failed: r.failed, Skipped: r.skipped}
	if len(r.lat) > 0 {
		s := slices.Clone(r.lat)
		slices.Sort(s)
		out.AvgMs = r.sum / float64(len(s)) / 1000
		out.P50Ms = float64(percentile(s, 50)) / 1000
		out.P95Ms = float64(percentile(s, 95)) / 1000
		out.P99Ms = float64(percentile(s, 99)) / 1000
		out.MaxMs = float64(r.max) / 1000
	}
	if len(r.ends) > 0 {
		n := int64(0)
		for _, e := range r.ends {
			n = max(n, (e-r.start)/1_000_000+1)
		}
		if secs := int64(duration / time.Second); secs > 0 {
			n = min(n, secs)
		}
		out.PerSecond = make([]int64, n)
		for _, e := range r.ends {
			i := min((e-r.start)/1_000_000, n-1)
			out.PerSecond[i]++
		}
	}
	return out
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []uint32, p float64) uint32 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}
