package loadtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"html"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"
)

// perfRecording is a running `perf record -a -g` (system-wide: the
// PostgreSQL backends pgbench connects are forked after it starts; the
// samples are filtered to the postgres processes afterwards).
type perfRecording struct {
	perf string
	dir  string
	cmd  *exec.Cmd
	out  strings.Builder
}

// FindPerf finds perf on PATH.
func FindPerf() (string, error) {
	p, err := exec.LookPath("perf")
	if err != nil {
		return "", errors.New("perf not found: install linux-perf (Debian) to record flame graphs")
	}
	return p, nil
}

func startPerf(ctx context.Context, perf, dir string) (*perfRecording, error) {
	if perf == "" {
		p, err := FindPerf()
		if err != nil {
			return nil, err
		}
		perf = p
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("flame graph folder: %w", err)
	}
	r := &perfRecording{perf: perf, dir: dir}
	r.cmd = exec.Command(perf, "record", "-F", "199", "-a", "-g", "-o", filepath.Join(dir, "perf.data"))
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.out
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start perf: %w", err)
	}
	// perf stops when the iteration ends, also when ctx is canceled: the
	// caller always calls finish.
	time.Sleep(200 * time.Millisecond)
	if r.cmd.ProcessState != nil {
		return nil, fmt.Errorf("perf record exited at once: %s", strings.TrimSpace(r.out.String()))
	}
	_ = ctx
	return r, nil
}

// finish stops perf, folds the postgres stacks and renders the SVG.
func (r *perfRecording) finish(ctx context.Context, a *artifactSet) error {
	_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	data := filepath.Join(r.dir, "perf.data")
	defer os.Remove(data)
	_ = a.write("flamegraph/perf-record.txt", []byte(r.out.String()))
	if _, err := os.Stat(data); err != nil {
		return fmt.Errorf("perf record wrote no data: %s", strings.TrimSpace(r.out.String()))
	}
	cmd := exec.CommandContext(ctx, r.perf, "script", "-i", data, "--comms", "postgres,postmaster")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("perf script: %w", err)
	}
	folded, err := FoldPerfScript(stdout)
	werr := cmd.Wait()
	if err != nil {
		return fmt.Errorf("fold perf script: %w", err)
	}
	if werr != nil && len(folded) == 0 {
		return fmt.Errorf("perf script: %w: %s", werr, strings.TrimSpace(stderr.String()))
	}
	if len(folded) == 0 {
		return errors.New("perf recorded no postgres samples")
	}
	_ = a.write("flamegraph/stacks.folded", []byte(FoldedText(folded)))
	return a.write("flamegraph/flamegraph.svg", FlameGraphSVG(folded, "PostgreSQL processes (perf record -F 199 -a -g)"))
}

var reFrame = regexp.MustCompile(`^\s*[0-9a-f]+\s+(.+?)(?:\+0x[0-9a-f]+)?\s+\((.*)\)\s*$`)

// FoldPerfScript reads `perf script` output and counts identical stacks,
// root first: "comm;main;PostmasterMain;...;leaf" -> samples.
func FoldPerfScript(r io.Reader) (map[string]int, error) {
	out := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	var comm string
	var frames []string
	flush := func() {
		if comm == "" {
			return
		}
		parts := []string{comm}
		for i := len(frames) - 1; i >= 0; i-- {
			parts = append(parts, frames[i])
		}
		out[strings.Join(parts, ";")]++
		comm, frames = "", frames[:0]
	}
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case line[0] != ' ' && line[0] != '\t':
			flush()
			f := strings.Fields(line)
			if len(f) > 0 {
				comm = f[0]
			}
		default:
			m := reFrame.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			name := m[1]
			if name == "[unknown]" && m[2] != "[unknown]" {
				name = "[" + filepath.Base(m[2]) + "]"
			}
			frames = append(frames, strings.ReplaceAll(name, ";", ":"))
		}
	}
	flush()
	return out, sc.Err()
}

// FoldedText writes folded stacks, one "stack count" a line, sorted.
func FoldedText(folded map[string]int) string {
	keys := make([]string, 0, len(folded))
	for k := range folded {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %d\n", k, folded[k])
	}
	return b.String()
}

type flameNode struct {
	name     string
	value    int
	children map[string]*flameNode
	order    []string
}

func (n *flameNode) child(name string) *flameNode {
	if n.children == nil {
		n.children = map[string]*flameNode{}
	}
	c := n.children[name]
	if c == nil {
		c = &flameNode{name: name}
		n.children[name] = c
		n.order = append(n.order, name)
	}
	return c
}

// FlameGraphSVG renders folded stacks as a flame graph (root at the
// bottom, width proportional to samples, children sorted by name as
// Brendan Gregg's flamegraph.pl does), with a tooltip per frame.
func FlameGraphSVG(folded map[string]int, title string) []byte {
	root := &flameNode{name: "all"}
	for stack, n := range folded {
		root.value += n
		cur := root
		for _, f := range strings.Split(stack, ";") {
			cur = cur.child(f)
			cur.value += n
		}
	}
	depth := 0
	var measure func(n *flameNode, d int)
	measure = func(n *flameNode, d int) {
		depth = max(depth, d)
		for _, c := range n.children {
			measure(c, d+1)
		}
	}
	measure(root, 0)
	const width, frameH, pad, top = 1200.0, 16.0, 10.0, 40.0
	height := top + float64(depth+1)*frameH + pad*2
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" standalone="no"?>
<svg version="1.1" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" xmlns="http://www.w3.org/2000/svg">
<style>text { font-family: Verdana, sans-serif; font-size: 11px; fill: #000; } rect:hover { stroke: #000; stroke-width: 0.5; }</style>
<rect x="0" y="0" width="100%%" height="100%%" fill="#f8f8f8"/>
<text x="%.0f" y="24" text-anchor="middle" style="font-size:16px">%s</text>
`, width, height, width, height, width/2, html.EscapeString(title))
	scale := (width - 2*pad) / float64(max(root.value, 1))
	var draw func(n *flameNode, x float64, d int)
	draw = func(n *flameNode, x float64, d int) {
		w := float64(n.value) * scale
		if w < 0.3 {
			return
		}
		y := height - pad - float64(d+1)*frameH
		pctv := float64(n.value) / float64(max(root.value, 1)) * 100
		label := html.EscapeString(n.name)
		fmt.Fprintf(&b, `<g><title>%s (%d samples, %.2f%%)</title><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" rx="2"/>`,
			label, n.value, pctv, x, y, w, frameH-1, flameColor(n.name))
		if chars := int(w / 7); chars >= 3 {
			text := n.name
			if len(text) > chars {
				text = text[:chars-2] + ".."
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`, x+3, y+frameH-4, html.EscapeString(text))
		}
		b.WriteString("</g>\n")
		names := append([]string(nil), n.order...)
		sort.Strings(names)
		cx := x
		for _, name := range names {
			c := n.children[name]
			draw(c, cx, d+1)
			cx += float64(c.value) * scale
		}
	}
	draw(root, pad, 0)
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

func flameColor(name string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	v := h.Sum32()
	r := 205 + v%50
	g := 80 + (v>>8)%150
	bl := (v >> 16) % 55
	return fmt.Sprintf("rgb(%d,%d,%d)", r, g, bl)
}
