package sqlparse

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"
)

// Load finds the migration files under paths (files or directories,
// searched recursively), orders them the way their tool runs them, and
// reads and parses them concurrently (GOMAXPROCS workers), keeping that
// order. It fails only on I/O errors, such as a path that does not exist;
// files it cannot analyse come back with Analysed false and a reason.
//
// In a directory it takes *.sql files and sqitch projects (a sqitch.plan
// with its deploy/ and revert/ scripts, in plan order). It skips hidden
// directories, files that are not SQL (README, .conf, …) and sqitch verify
// scripts, which check a deployment rather than change the schema. Files
// named explicitly are always loaded.
//
// Ordering: files of one directory are sorted as their framework sorts
// them (see orderKey); Flyway files under one argument are sorted together,
// since Flyway scans its locations recursively and orders all migrations
// by version. Directories and arguments keep the order they were given in,
// subdirectories in lexical order.
func Load(ctx context.Context, paths []string, opts Options) ([]*File, error) {
	jobs, err := collectAll(paths, opts)
	if err != nil {
		return nil, err
	}
	files := make([]*File, len(jobs))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, j := range jobs {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			f, err := j.load(opts)
			if err != nil {
				return err
			}
			files[i] = f
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return files, nil
}

// ParseContent parses content read elsewhere (stdin, a merge request's
// blob) as the file at path: what lies next to that path on disk, if it
// exists, is used as Load would use it (the sqitch plan that orders a
// deploy or revert script, a Flyway V1__x.sql.conf). Like ParseFile it
// reports problems in the File; the error is for a .conf that exists but
// cannot be read.
func ParseContent(path string, src []byte, opts Options) (*File, error) {
	j := explicitFile(path, opts)
	h := j.hint
	h.skip = "" // the content is given: a verify script is parsed all the same
	if j.conf != "" {
		conf, err := readAll(opts, j.conf)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", j.conf, err)
		}
		h.conf = parseConf(j.conf, conf)
	}
	return parseFile(path, src, opts, h), nil
}

// collectAll lists the files of every path argument in order, each once.
func collectAll(paths []string, opts Options) ([]loadJob, error) {
	if len(paths) == 1 {
		// One path lists each file once: no set of seen paths needed
		// (it was a third of the cost of listing a large directory).
		return collect(paths[0], opts)
	}
	var jobs []loadJob
	seen := map[string]bool{}
	for _, p := range paths {
		found, err := collect(p, opts)
		if err != nil {
			return nil, err
		}
		for _, j := range found {
			key := filepath.Clean(j.path)
			if seen[key] {
				continue
			}
			seen[key] = true
			jobs = append(jobs, j)
		}
	}
	return jobs, nil
}

// loadJob is a file to read, with what the directory told us about it.
type loadJob struct {
	path string
	hint hint
	// conf is the path of a Flyway script configuration file to read.
	conf string
	// regular: the directory listing saw a regular file at path.
	regular bool
}

func (j loadJob) load(opts Options) (*File, error) {
	h := j.hint
	if h.skip != "" {
		return parseFile(j.path, nil, opts, h), nil
	}
	max := int64(MaxFileSize)
	if opts.MaxFileSize > 0 {
		max = opts.MaxFileSize
	}
	src, size, err := readMax(opts, j.path, max, j.regular)
	if err != nil {
		return nil, err
	}
	if src == nil && size > max {
		// Do not read what we will not analyse.
		h.skip = fmt.Sprintf("file is %d bytes, over the %d-byte limit", size, max)
		return parseFile(j.path, nil, opts, h), nil
	}
	if j.conf != "" {
		conf, err := readAll(opts, j.conf)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", j.conf, err)
		}
		h.conf = parseConf(j.conf, conf)
	}
	return parseFile(j.path, src, opts, h), nil
}

// collect lists the files one path argument stands for, in order.
func collect(p string, opts Options) ([]loadJob, error) {
	info, err := stat(opts, p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("path %s does not exist", p)
		}
		return nil, fmt.Errorf("stat %s: %w", p, err)
	}
	if !info.IsDir() {
		if filepath.Base(p) == "sqitch.plan" {
			return sqitchProject(filepath.Dir(p), opts)
		}
		return []loadJob{explicitFile(p, opts)}, nil
	}
	return walkDir(p, opts)
}

// explicitFile is a file named on the command line: loaded whatever its
// name, with sqitch and Flyway context looked up next to it.
func explicitFile(p string, opts Options) loadJob {
	j := loadJob{path: p}
	if opts.Framework == FrameworkAuto || opts.Framework == FrameworkSqitch {
		// deploy/x.sql, or deploy/schema/x.sql for change schema/x, of a
		// sqitch project: look a few levels up for the plan.
		d, rel := filepath.Dir(p), filepath.Base(p)
		for range 8 {
			parent := filepath.Dir(d)
			if parent == d {
				break
			}
			kind := filepath.Base(d)
			if (kind == "deploy" || kind == "revert" || kind == "verify") && fileExists(opts, filepath.Join(parent, "sqitch.plan")) {
				j.hint = sqitchHint(opts, kind, strings.TrimSuffix(filepath.ToSlash(rel), ".sql"), parent)
				if kind == "verify" {
					j.hint.skip = "sqitch verify script: it checks a deployment and changes nothing"
				}
				return j
			}
			rel = filepath.Join(kind, rel)
			d = parent
		}
	}
	if fileExists(opts, p+".conf") {
		j.conf = p + ".conf"
	}
	if dir, name := pathNames(p); opts.Framework == FrameworkAuto || opts.Framework == FrameworkDiesel {
		if t, _ := byName(dir, name); t != nil && t.id() == FrameworkDiesel {
			j.hint.framework = FrameworkDiesel
			if c := filepath.Join(filepath.Dir(p), "metadata.toml"); fileExists(opts, c) {
				j.conf = c
			}
		}
	}
	if opts.Framework == FrameworkAuto && j.hint.framework == FrameworkAuto && projectFramework(opts, filepath.Dir(p)) == FrameworkSqlx {
		if _, ok := (sqlxTool{}).fromName(pathNames(p)); ok {
			j.hint.framework = FrameworkSqlx
		}
	}
	return j
}

func fileExists(opts Options, p string) bool {
	info, err := stat(opts, p)
	return err == nil && !info.IsDir()
}

// sqitchHint describes a sqitch script; its version is the change's
// position in the plan.
func sqitchHint(opts Options, kind, change, projectDir string) hint {
	h := hint{framework: FrameworkSqitch, part: PartUp}
	if kind == "revert" {
		h.part = PartDown
	}
	plan, err := readSqitchPlan(opts, filepath.Join(projectDir, "sqitch.plan"))
	if err == nil {
		for i, c := range plan {
			if c.script == change {
				h.version = strconv.Itoa(i + 1)
			}
		}
	}
	return h
}

func walkDir(root string, opts Options) ([]loadJob, error) {
	type dirFiles struct {
		dir   string
		names []string
	}
	var dirs []*dirFiles
	byDir := map[string]*dirFiles{}
	// confs holds the Flyway script configuration files (V1__x.sql.conf)
	// found, the only other files the walk needs to know of.
	confs := map[string]bool{}
	n := 0
	err := walk(opts, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("walk %s: %w", p, err)
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (strings.HasPrefix(name, ".") || name == "node_modules") {
				return filepath.SkipDir
			}
			if (opts.Framework == FrameworkAuto || opts.Framework == FrameworkSqitch) && fileExists(opts, filepath.Join(p, "sqitch.plan")) {
				dirs = append(dirs, &dirFiles{dir: "sqitch:" + p})
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".conf") || name == "metadata.toml" {
			confs[p] = true
			return nil
		}
		if !strings.EqualFold(filepath.Ext(name), ".sql") || !d.Type().IsRegular() {
			return nil
		}
		if dump, err := isSchemaDump(opts, p, name); err != nil {
			return err
		} else if dump {
			return nil
		}
		dir := parentOf(p, name)
		if name == "up.sql" || name == "down.sql" || name == "migration.sql" {
			// diesel and Prisma: the migration is the directory, ordered
			// among its siblings; group it under their parent.
			if t, _ := byName(filepath.Base(dir), name); t != nil && (opts.Framework == FrameworkAuto || opts.Framework == t.id()) {
				name = filepath.Base(dir) + "/" + name
				dir = filepath.Dir(dir)
			}
		}
		df := byDir[dir]
		if df == nil {
			df = &dirFiles{dir: dir}
			byDir[dir] = df
			dirs = append(dirs, df)
		}
		df.names = append(df.names, name)
		n++
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Flyway orders every migration under its location by version, across
	// subdirectories: gather them under the first directory that has one.
	var flyway *dirFiles
	var flywayPaths []string
	for _, df := range dirs {
		if strings.HasPrefix(df.dir, "sqitch:") {
			continue
		}
		keep := df.names[:0]
		for _, n := range df.names {
			if nameFramework(n, opts) == FrameworkFlyway {
				flywayPaths = append(flywayPaths, joinName(df.dir, n))
				if flyway == nil {
					flyway = df
				}
				continue
			}
			keep = append(keep, n)
		}
		df.names = keep
	}
	jobs := make([]loadJob, 0, n)
	for _, df := range dirs {
		if dir, ok := strings.CutPrefix(df.dir, "sqitch:"); ok {
			js, err := sqitchProject(dir, opts)
			if err != nil {
				return nil, err
			}
			jobs = append(jobs, js...)
			continue
		}
		if df == flyway {
			sortPaths(flywayPaths, FrameworkFlyway)
			for _, p := range flywayPaths {
				j := loadJob{path: p, hint: hint{framework: FrameworkFlyway}, regular: true}
				if len(confs) > 0 && confs[p+".conf"] {
					j.conf = p + ".conf"
				}
				jobs = append(jobs, j)
			}
		}
		js, err := orderDir(df.dir, df.names, opts)
		if err != nil {
			return nil, err
		}
		for i := range js {
			// diesel's metadata.toml, next to up.sql and down.sql
			if c := filepath.Join(filepath.Dir(js[i].path), "metadata.toml"); len(confs) > 0 && confs[c] && js[i].hint.framework == FrameworkDiesel {
				js[i].conf = c
			}
		}
		jobs = append(jobs, js...)
	}
	return jobs, nil
}

// parentOf is filepath.Dir(p) for a path p that filepath.WalkDir made by
// joining a directory and name: the directory as WalkDir had it, without
// cleaning it again (Clean was a tenth of the cost of listing 2,000 files).
func parentOf(p, name string) string {
	d := p[:len(p)-len(name)]
	switch {
	case d == "":
		return "."
	case len(d) > 1:
		return d[:len(d)-1] // drop the separator
	}
	return d // the root, "/"
}

// joinName is filepath.Join(dir, name) for a clean directory and a plain
// file name.
func joinName(dir, name string) string {
	switch {
	case dir == ".":
		return name
	case os.IsPathSeparator(dir[len(dir)-1]):
		return dir + name
	}
	return dir + string(filepath.Separator) + name
}

// isSchemaDump reports whether a file is a schema dump kept next to the
// migrations rather than a migration: dbmate writes db/schema.sql and
// Rails db/structure.sql with pg_dump, whose output starts with
// "-- PostgreSQL database dump".
func isSchemaDump(opts Options, p, name string) (bool, error) {
	if name != "schema.sql" && name != "structure.sql" {
		return false, nil
	}
	head, err := readHead(opts, p, 512)
	if err != nil {
		return false, err
	}
	return bytes.Contains(head, []byte("PostgreSQL database dump")), nil
}

// nameFramework is the framework a file name alone implies, or the forced
// one; FrameworkAuto when the name leaves it open.
func nameFramework(name string, opts Options) Framework {
	if opts.Framework != FrameworkAuto {
		return opts.Framework
	}
	if t, _ := byName(splitName(name)); t != nil {
		return t.id()
	}
	return FrameworkAuto
}

// projectFramework recognises, from the project around a directory of
// migrations, a framework whose file names other tools share: sqlx, when
// a Cargo.toml next to the directory or up to three levels above it
// depends on sqlx. FrameworkAuto otherwise.
func projectFramework(opts Options, dir string) Framework {
	d := dir
	for range 4 {
		if data, err := readAll(opts, filepath.Join(d, "Cargo.toml")); err == nil {
			if bytes.Contains(data, []byte("sqlx")) {
				return FrameworkSqlx
			}
			return FrameworkAuto // the nearest manifest decides
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	return FrameworkAuto
}

func sortPaths(paths []string, fw Framework) {
	keys := make([]orderKey, len(paths))
	for i, p := range paths {
		keys[i] = keyFor(fw, filepath.Base(p))
	}
	sort.Stable(byKey{keys, paths})
}

// byKey sorts paths by their precomputed order keys: computing a key (a
// regular expression match) per comparison was most of the cost of
// ordering a large directory.
type byKey struct {
	keys  []orderKey
	paths []string
}

func (b byKey) Len() int           { return len(b.keys) }
func (b byKey) Less(i, j int) bool { return b.keys[i].less(b.keys[j]) }
func (b byKey) Swap(i, j int) {
	b.keys[i], b.keys[j] = b.keys[j], b.keys[i]
	b.paths[i], b.paths[j] = b.paths[j], b.paths[i]
}

// orderDir orders the SQL files of one directory. Names alone order them
// for every framework but one: dbmate sorts names as strings, where the
// others compare numbers, and dbmate files are recognised by their
// content. The two orders differ only when version prefixes differ in
// length, so only then are the files' first bytes read to find dbmate's.
func orderDir(dir string, names []string, opts Options) ([]loadJob, error) {
	type entry struct {
		name string
		fw   Framework
		key  orderKey
	}
	entries := make([]entry, len(names))
	prefixLen := -1
	mixed := false
	project := FrameworkAuto
	if opts.Framework == FrameworkAuto {
		project = projectFramework(opts, dir)
	}
	for i, n := range names {
		entries[i] = entry{name: n, fw: nameFramework(n, opts)}
		if project != FrameworkAuto {
			if _, ok := toolOf(project).fromName(splitName(n)); ok {
				entries[i].fw = project
				continue
			}
		}
		if entries[i].fw == FrameworkAuto {
			l := digitRun(n)
			if prefixLen >= 0 && l != prefixLen {
				mixed = true
			}
			prefixLen = l
		}
	}
	if mixed {
		for i, e := range entries {
			if e.fw != FrameworkAuto {
				continue
			}
			head, err := readHead(opts, filepath.Join(dir, e.name), 16<<10)
			if err != nil {
				return nil, err
			}
			d, file := splitName(e.name)
			entries[i].fw = detect(d, file, head)
		}
	}
	for i := range entries {
		entries[i].key = keyFor(entries[i].fw, entries[i].name)
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].key.less(entries[j].key) })
	jobs := make([]loadJob, len(entries))
	for i, e := range entries {
		jobs[i] = loadJob{path: joinName(dir, filepath.FromSlash(e.name)), regular: true}
		if e.fw == FrameworkDiesel || e.fw == FrameworkPrisma || e.fw == project && project != FrameworkAuto {
			jobs[i].hint.framework = e.fw
		}
	}
	return jobs, nil
}

// readHead reads up to n bytes of a file.
func readHead(opts Options, p string, n int64) ([]byte, error) {
	fh, err := open(opts, p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	defer fh.Close()
	buf := make([]byte, n)
	k, err := io.ReadFull(fh, buf)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	return buf[:k], nil
}

// sqitchChange is one change of a sqitch plan and the name of its scripts
// (without .sql): the change name, or name@tag for a reworked change's
// earlier versions.
type sqitchChange struct {
	name   string
	script string
}

// readSqitchPlan reads the changes of a sqitch.plan in deploy order
// (https://sqitch.org/docs/manual/sqitch-plan/): one change per line,
// "name [deps] timestamp planner <email> # note"; lines starting with %
// are pragmas, with @ tags, with # comments. A change listed again after
// a tag was reworked: its earlier deploy scripts are named name@tag.sql,
// after the first tag that follows the earlier entry.
func readSqitchPlan(opts Options, p string) ([]sqitchChange, error) {
	data, err := readAll(opts, p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	type entry struct {
		name string
		tag  string // first tag after this entry
	}
	var entries []*entry
	var untagged []*entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '%' || line[0] == '#' {
			continue
		}
		if line[0] == '@' {
			tag := strings.Fields(line)[0]
			for _, e := range untagged {
				e.tag = tag
			}
			untagged = nil
			continue
		}
		name := strings.Fields(line)[0]
		name = strings.TrimPrefix(name, "+") // "+name" deploy marker in old plans
		if strings.HasPrefix(name, "-") {
			continue // "-name": a revert entry of old plan formats
		}
		e := &entry{name: name}
		entries = append(entries, e)
		untagged = append(untagged, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	last := map[string]int{}
	for i, e := range entries {
		last[e.name] = i
	}
	out := make([]sqitchChange, len(entries))
	for i, e := range entries {
		out[i] = sqitchChange{name: e.name, script: e.name}
		if last[e.name] != i && e.tag != "" {
			out[i].script = e.name + e.tag
		}
	}
	return out, nil
}

// sqitchProject lists a sqitch project's deploy and revert scripts in
// plan order: each change's deploy script, then its revert script. Deploy
// scripts the plan does not list are returned as not analysed, since
// sqitch would never run them.
func sqitchProject(dir string, opts Options) ([]loadJob, error) {
	plan, err := readSqitchPlan(opts, filepath.Join(dir, "sqitch.plan"))
	if err != nil {
		return nil, err
	}
	var jobs []loadJob
	listed := map[string]bool{}
	for i, c := range plan {
		for _, kind := range []string{"deploy", "revert"} {
			p := filepath.Join(dir, kind, filepath.FromSlash(c.script)+".sql")
			listed[p] = true
			if !fileExists(opts, p) {
				continue
			}
			h := hint{framework: FrameworkSqitch, part: PartUp, version: strconv.Itoa(i + 1)}
			if opts.Framework != FrameworkAuto && opts.Framework != FrameworkSqitch {
				h.framework = opts.Framework
			}
			if kind == "revert" {
				h.part = PartDown
			}
			jobs = append(jobs, loadJob{path: p, hint: h})
		}
	}
	deployDir := filepath.Join(dir, "deploy")
	err = walk(opts, deployDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == deployDir {
				return nil
			}
			return fmt.Errorf("walk %s: %w", p, err)
		}
		if d.IsDir() || !strings.EqualFold(filepath.Ext(p), ".sql") || listed[p] {
			return nil
		}
		jobs = append(jobs, loadJob{path: p, hint: hint{framework: FrameworkSqitch, skip: "sqitch deploy script not listed in sqitch.plan: sqitch never runs it"}})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return jobs, nil
}

// parseConf reads a migration's configuration file: TOML key = value
// lines for diesel's metadata.toml, Java properties for Flyway's .conf.
func parseConf(path string, data []byte) map[string]string {
	if strings.HasSuffix(path, ".toml") {
		return parseTOMLKeys(data)
	}
	return parseJavaProperties(data)
}

// parseTOMLKeys reads the top-level key = value lines of a small TOML
// file (diesel's metadata.toml has one key); quotes around strings and
// trailing comments are dropped.
func parseTOMLKeys(data []byte) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if i := strings.IndexByte(v, '#'); i >= 0 && !strings.HasPrefix(v, "\"") {
			v = strings.TrimSpace(v[:i])
		}
		out[strings.Trim(strings.TrimSpace(k), "\"")] = strings.Trim(v, "\"")
	}
	return out
}

// parseJavaProperties reads the key=value lines of a Flyway script
// configuration file (Java properties syntax: # and ! comments, = or :
// separators).
func parseJavaProperties(data []byte) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i < 0 {
			continue
		}
		k := strings.TrimSpace(line[:i])
		k = strings.TrimPrefix(k, "flyway.")
		out[k] = strings.TrimSpace(line[i+1:])
	}
	return out
}
