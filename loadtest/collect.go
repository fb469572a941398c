package loadtest

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// sqlArtifact is one file collected from the server after an iteration.
type sqlArtifact struct {
	file string
	// minVersion is the first server_version_num that has it (0: any).
	minVersion int
	// extension must be installed in the target database.
	extension string
	query     string
}

// mark starts every query the runner sends during and after an
// iteration, so that pg_stat_statements.csv leaves them out (it lists
// what the workload ran, not what the collection did).
const mark = "/* pgai-bench */ "

// serverArtifacts are the files collected from the server after every
// iteration: configuration, every cumulative statistics view that says
// something about a benchmark, sizes and the extensions' views. Views a
// server version lacks, or an extension that is not installed, are
// skipped; so is a view the role may not read (the reason is listed in
// collection.json).
var serverArtifacts = []sqlArtifact{
	// configuration
	{file: "pg/settings.csv", query: `SELECT * FROM pg_settings ORDER BY name`},
	{file: "pg/settings_changed.csv", query: `SELECT name, setting, unit, source, sourcefile, boot_val, reset_val, pending_restart FROM pg_settings WHERE source NOT IN ('default', 'override') ORDER BY name`},
	{file: "pg/file_settings.csv", query: `SELECT * FROM pg_file_settings ORDER BY sourcefile, sourceline`},
	{file: "pg/db_role_settings.csv", query: `SELECT d.datname, r.rolname, s.setconfig FROM pg_db_role_setting s LEFT JOIN pg_database d ON d.oid = s.setdatabase LEFT JOIN pg_roles r ON r.oid = s.setrole`},
	{file: "pg/hba_file_rules.csv", query: `SELECT * FROM pg_hba_file_rules`},
	{file: "pg/postgresql.auto.conf", query: `SELECT pg_read_file('postgresql.auto.conf')`},
	{file: "pg/pg_config.csv", query: `SELECT * FROM pg_config`},
	{file: "pg/control_system.csv", query: `SELECT * FROM pg_control_system()`},
	{file: "pg/control_checkpoint.csv", query: `SELECT * FROM pg_control_checkpoint()`},
	{file: "pg/control_init.csv", query: `SELECT * FROM pg_control_init()`},
	{file: "pg/server.csv", query: `SELECT version(), current_setting('server_version_num') AS server_version_num, pg_postmaster_start_time(), pg_conf_load_time(), now() - pg_postmaster_start_time() AS uptime, inet_server_addr(), inet_server_port(), pg_is_in_recovery(), current_database(), current_user`},
	{file: "pg/extensions.csv", query: `SELECT e.extname, e.extversion, n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace ORDER BY 1`},
	{file: "pg/available_extensions.csv", query: `SELECT * FROM pg_available_extensions ORDER BY name`},
	{file: "pg/shmem_allocations.csv", minVersion: 130000, query: `SELECT * FROM pg_shmem_allocations ORDER BY allocated_size DESC`},
	// database-wide and shared statistics
	{file: "pg/stat_database.csv", query: `SELECT * FROM pg_stat_database ORDER BY datname NULLS FIRST`},
	{file: "pg/stat_database_conflicts.csv", query: `SELECT * FROM pg_stat_database_conflicts ORDER BY datname`},
	{file: "pg/stat_bgwriter.csv", query: `SELECT * FROM pg_stat_bgwriter`},
	{file: "pg/stat_checkpointer.csv", minVersion: 170000, query: `SELECT * FROM pg_stat_checkpointer`},
	{file: "pg/stat_wal.csv", minVersion: 140000, query: `SELECT * FROM pg_stat_wal`},
	{file: "pg/stat_io.csv", minVersion: 160000, query: `SELECT * FROM pg_stat_io ORDER BY backend_type, object, context`},
	{file: "pg/stat_slru.csv", query: `SELECT * FROM pg_stat_slru ORDER BY name`},
	{file: "pg/stat_archiver.csv", query: `SELECT * FROM pg_stat_archiver`},
	{file: "pg/stat_recovery_prefetch.csv", minVersion: 150000, query: `SELECT * FROM pg_stat_recovery_prefetch`},
	{file: "pg/stat_replication.csv", query: `SELECT * FROM pg_stat_replication`},
	{file: "pg/stat_replication_slots.csv", minVersion: 140000, query: `SELECT * FROM pg_stat_replication_slots`},
	{file: "pg/replication_slots.csv", query: `SELECT * FROM pg_replication_slots`},
	{file: "pg/stat_wal_receiver.csv", query: `SELECT * FROM pg_stat_wal_receiver`},
	{file: "pg/stat_subscription.csv", query: `SELECT * FROM pg_stat_subscription`},
	{file: "pg/stat_subscription_stats.csv", minVersion: 150000, query: `SELECT * FROM pg_stat_subscription_stats`},
	// relations
	{file: "pg/stat_all_tables.csv", query: `SELECT * FROM pg_stat_all_tables ORDER BY schemaname, relname`},
	{file: "pg/stat_user_tables.csv", query: `SELECT * FROM pg_stat_user_tables ORDER BY schemaname, relname`},
	{file: "pg/stat_sys_tables.csv", query: `SELECT * FROM pg_stat_sys_tables ORDER BY schemaname, relname`},
	{file: "pg/stat_xact_all_tables.csv", query: `SELECT * FROM pg_stat_xact_all_tables ORDER BY schemaname, relname`},
	{file: "pg/stat_xact_user_tables.csv", query: `SELECT * FROM pg_stat_xact_user_tables ORDER BY schemaname, relname`},
	{file: "pg/stat_all_indexes.csv", query: `SELECT * FROM pg_stat_all_indexes ORDER BY schemaname, relname, indexrelname`},
	{file: "pg/stat_user_indexes.csv", query: `SELECT * FROM pg_stat_user_indexes ORDER BY schemaname, relname, indexrelname`},
	{file: "pg/stat_sys_indexes.csv", query: `SELECT * FROM pg_stat_sys_indexes ORDER BY schemaname, relname, indexrelname`},
	{file: "pg/statio_all_tables.csv", query: `SELECT * FROM pg_statio_all_tables ORDER BY schemaname, relname`},
	{file: "pg/statio_user_tables.csv", query: `SELECT * FROM pg_statio_user_tables ORDER BY schemaname, relname`},
	{file: "pg/statio_sys_tables.csv", query: `SELECT * FROM pg_statio_sys_tables ORDER BY schemaname, relname`},
	{file: "pg/statio_all_indexes.csv", query: `SELECT * FROM pg_statio_all_indexes ORDER BY schemaname, relname, indexrelname`},
	{file: "pg/statio_user_indexes.csv", query: `SELECT * FROM pg_statio_user_indexes ORDER BY schemaname, relname, indexrelname`},
	{file: "pg/statio_sys_indexes.csv", query: `SELECT * FROM pg_statio_sys_indexes ORDER BY schemaname, relname, indexrelname`},
	{file: "pg/statio_all_sequences.csv", query: `SELECT * FROM pg_statio_all_sequences ORDER BY schemaname, relname`},
	{file: "pg/statio_user_sequences.csv", query: `SELECT * FROM pg_statio_user_sequences ORDER BY schemaname, relname`},
	{file: "pg/stat_user_functions.csv", query: `SELECT * FROM pg_stat_user_functions ORDER BY schemaname, funcname`},
	{file: "pg/stat_xact_user_functions.csv", query: `SELECT * FROM pg_stat_xact_user_functions ORDER BY schemaname, funcname`},
	// sessions and locks at the end
	{file: "pg/stat_activity.csv", query: `SELECT * FROM pg_stat_activity ORDER BY pid`},
	{file: "pg/locks.csv", query: `SELECT * FROM pg_locks ORDER BY pid, locktype`},
	{file: "pg/prepared_xacts.csv", query: `SELECT * FROM pg_prepared_xacts`},
	{file: "pg/stat_ssl.csv", query: `SELECT * FROM pg_stat_ssl ORDER BY pid`},
	{file: "pg/stat_gssapi.csv", query: `SELECT * FROM pg_stat_gssapi ORDER BY pid`},
	{file: "pg/stat_progress_vacuum.csv", query: `SELECT * FROM pg_stat_progress_vacuum`},
	{file: "pg/stat_progress_analyze.csv", query: `SELECT * FROM pg_stat_progress_analyze`},
	{file: "pg/stat_progress_create_index.csv", query: `SELECT * FROM pg_stat_progress_create_index`},
	{file: "pg/stat_progress_cluster.csv", query: `SELECT * FROM pg_stat_progress_cluster`},
	{file: "pg/stat_progress_basebackup.csv", query: `SELECT * FROM pg_stat_progress_basebackup`},
	{file: "pg/stat_progress_copy.csv", minVersion: 140000, query: `SELECT * FROM pg_stat_progress_copy`},
	// sizes
	{file: "pg/database_sizes.csv", query: `SELECT datname, pg_database_size(oid) AS bytes, pg_size_pretty(pg_database_size(oid)) AS size FROM pg_database WHERE datallowconn ORDER BY 2 DESC`},
	{file: "pg/tablespace_sizes.csv", query: `SELECT spcname, pg_tablespace_size(oid) AS bytes, pg_size_pretty(pg_tablespace_size(oid)) AS size FROM pg_tablespace ORDER BY 1`},
	{file: "pg/table_sizes.csv", query: `SELECT n.nspname AS schema, c.relname, c.relkind, c.reltuples::bigint AS row_estimate, c.relpages,
		pg_relation_size(c.oid) AS heap_bytes, pg_indexes_size(c.oid) AS index_bytes,
		coalesce(pg_total_relation_size(c.reltoastrelid), 0) AS toast_bytes, pg_total_relation_size(c.oid) AS total_bytes,
		pg_size_pretty(pg_total_relation_size(c.oid)) AS total
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'm', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
		ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 500`},
	{file: "pg/index_sizes.csv", query: `SELECT n.nspname AS schema, t.relname AS table, i.relname AS index, pg_relation_size(i.oid) AS bytes,
		pg_size_pretty(pg_relation_size(i.oid)) AS size, x.indisunique, x.indisprimary, x.indisvalid
		FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
		ORDER BY 4 DESC LIMIT 500`},
	{file: "pg/wal_files.csv", query: `SELECT count(*) AS files, sum(size) AS bytes, pg_size_pretty(sum(size)) AS size, max(modification) AS newest FROM pg_ls_waldir()`},
	// extensions, when installed
	{file: "pg/stat_statements.csv", extension: "pg_stat_statements", query: `SELECT * FROM pg_stat_statements WHERE query NOT LIKE '/* pgai-bench */%' ORDER BY total_exec_time DESC LIMIT $1`},
	{file: "pg/stat_statements_info.csv", minVersion: 140000, extension: "pg_stat_statements", query: `SELECT * FROM pg_stat_statements_info`},
	{file: "pg/stat_kcache.csv", extension: "pg_stat_kcache", query: `SELECT * FROM pg_stat_kcache()`},
	{file: "pg/wait_sampling_profile.csv", extension: "pg_wait_sampling", query: `SELECT * FROM pg_wait_sampling_profile ORDER BY count DESC LIMIT 1000`},
	{file: "pg/buffercache_summary.csv", extension: "pg_buffercache", query: `SELECT n.nspname AS schema, c.relname, count(*) AS buffers, count(*) FILTER (WHERE b.isdirty) AS dirty, pg_size_pretty(count(*) * current_setting('block_size')::bigint) AS size
		FROM pg_buffercache b JOIN pg_class c ON pg_relation_filenode(c.oid) = b.relfilenode JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE b.reldatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 200`},
}

// artifactSet tracks what one iteration collected.
type artifactSet struct {
	dir    string
	files  []string
	errors map[string]string
}

func newArtifactSet(dir string) *artifactSet {
	return &artifactSet{dir: dir, errors: map[string]string{}}
}

// write stores a file of the iteration.
func (a *artifactSet) write(rel string, b []byte) error {
	p := filepath.Join(a.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("artifact %s: %w", rel, err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		return fmt.Errorf("artifact %s: %w", rel, err)
	}
	a.files = append(a.files, rel)
	return nil
}

func (a *artifactSet) writeJSON(rel string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("artifact %s: %w", rel, err)
	}
	return a.write(rel, append(b, '\n'))
}

// fail records why an artifact is missing.
func (a *artifactSet) fail(rel string, err error) { a.errors[rel] = err.Error() }

// queryCSV runs a query in the simple protocol (every value as PostgreSQL
// prints it) and returns it as CSV with a header line.
func queryCSV(ctx context.Context, conn *pgx.Conn, query string, args ...any) ([]byte, error) {
	rows, err := conn.Query(ctx, mark+query, append([]any{pgx.QueryExecModeSimpleProtocol}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	var head []string
	for _, f := range rows.FieldDescriptions() {
		head = append(head, f.Name)
	}
	if err := w.Write(head); err != nil {
		return nil, err
	}
	rec := make([]string, len(head))
	for rows.Next() {
		for i, v := range rows.RawValues() {
			rec[i] = string(v)
		}
		if err := w.Write(rec); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// serverInfo is what the runner learns about the target once.
type serverInfo struct {
	Version    string          `json:"version"`
	VersionNum int             `json:"version_num"`
	Database   string          `json:"database"`
	Extensions map[string]bool `json:"extensions"`
	Superuser  bool            `json:"superuser"`
	// Local is true when the server runs on this host (a Unix socket or
	// a loopback address): host artifacts, cache drops and perf then
	// describe the database's machine.
	Local bool `json:"local"`
}

func probeServer(ctx context.Context, conn *pgx.Conn) (*serverInfo, error) {
	s := &serverInfo{Extensions: map[string]bool{}}
	var addr *string
	err := conn.QueryRow(ctx, `SELECT version(), current_setting('server_version_num')::int, current_database(),
		(SELECT rolsuper FROM pg_roles WHERE rolname = current_user), host(inet_server_addr())`).
		Scan(&s.Version, &s.VersionNum, &s.Database, &s.Superuser, &addr)
	if err != nil {
		return nil, fmt.Errorf("probe server: %w", err)
	}
	s.Local = addr == nil || *addr == "127.0.0.1" || *addr == "::1" || strings.HasPrefix(*addr, "127.")
	rows, err := conn.Query(ctx, `SELECT extname FROM pg_extension`)
	if err != nil {
		return nil, fmt.Errorf("probe extensions: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("probe extensions: %w", err)
	}
	for _, n := range names {
		s.Extensions[n] = true
	}
	return s, nil
}

// collectServer writes every server artifact the server has.
func collectServer(ctx context.Context, conn *pgx.Conn, info *serverInfo, top int, a *artifactSet) {
	for _, sa := range serverArtifacts {
		if sa.minVersion > info.VersionNum || (sa.extension != "" && !info.Extensions[sa.extension]) {
			continue
		}
		var args []any
		if strings.Contains(sa.query, "$1") {
			args = append(args, top)
		}
		qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		b, err := queryCSV(qctx, conn, sa.query, args...)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			a.fail(sa.file, err)
			continue
		}
		if strings.HasSuffix(sa.file, ".conf") {
			// A one-value query: the file itself, not a CSV of it.
			b = csvSingleValue(b)
		}
		if err := a.write(sa.file, b); err != nil {
			a.fail(sa.file, err)
		}
	}
	if err := a.write("pg/version.txt", []byte(info.Version+"\n")); err != nil {
		a.fail("pg/version.txt", err)
	}
}

func csvSingleValue(b []byte) []byte {
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(recs) < 2 || len(recs[1]) == 0 {
		return b
	}
	return []byte(recs[1][0])
}

// hostFiles are copied from /proc and /sys of this host.
var hostFiles = []struct{ file, src string }{
	{"system/os-release.txt", "/etc/os-release"},
	{"system/cpuinfo.txt", "/proc/cpuinfo"},
	{"system/meminfo.txt", "/proc/meminfo"},
	{"system/loadavg.txt", "/proc/loadavg"},
	{"system/mounts.txt", "/proc/mounts"},
	{"system/diskstats.txt", "/proc/diskstats"},
	{"system/vmstat.txt", "/proc/vmstat"},
	{"system/stat.txt", "/proc/stat"},
	{"system/cmdline.txt", "/proc/cmdline"},
	{"system/swaps.txt", "/proc/swaps"},
	{"system/transparent_hugepage.txt", "/sys/kernel/mm/transparent_hugepage/enabled"},
}

// sysctls are the kernel settings that matter to PostgreSQL.
var sysctls = []string{
	"vm/swappiness", "vm/overcommit_memory", "vm/overcommit_ratio", "vm/dirty_ratio", "vm/dirty_background_ratio",
	"vm/dirty_bytes", "vm/dirty_background_bytes", "vm/dirty_expire_centisecs", "vm/dirty_writeback_centisecs",
	"vm/nr_hugepages", "vm/min_free_kbytes", "vm/zone_reclaim_mode", "kernel/shmmax", "kernel/shmall", "kernel/sem",
	"kernel/numa_balancing", "kernel/sched_autogroup_enabled", "kernel/perf_event_paranoid", "kernel/pid_max",
	"fs/file-max", "net/core/somaxconn", "net/ipv4/tcp_keepalive_time",
}

// collectHost writes what this host looks like: kernel, CPU, memory,
// disks, mounts, kernel settings.
func collectHost(ctx context.Context, a *artifactSet) {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err == nil {
		s := fmt.Sprintf("%s %s %s %s %s\n", cstr(u.Sysname[:]), cstr(u.Nodename[:]), cstr(u.Release[:]), cstr(u.Version[:]), cstr(u.Machine[:]))
		_ = a.write("system/uname.txt", []byte(s))
	} else {
		a.fail("system/uname.txt", err)
	}
	for _, f := range hostFiles {
		b, err := os.ReadFile(f.src)
		if err != nil {
			a.fail(f.file, err)
			continue
		}
		_ = a.write(f.file, b)
	}
	var sb strings.Builder
	for _, k := range sysctls {
		b, err := os.ReadFile("/proc/sys/" + k)
		if err != nil {
			continue
		}
		fmt.Fprintf(&sb, "%s = %s\n", strings.ReplaceAll(k, "/", "."), strings.Join(strings.Fields(string(b)), " "))
	}
	_ = a.write("system/sysctl.txt", []byte(sb.String()))
	_ = a.write("system/block_devices.csv", blockDevices())
	_ = a.write("system/df.csv", diskFree())
	var pr strings.Builder
	for _, k := range []string{"cpu", "memory", "io"} {
		if b, err := os.ReadFile("/proc/pressure/" + k); err == nil {
			fmt.Fprintf(&pr, "%s:\n%s", k, b)
		}
	}
	if pr.Len() > 0 {
		_ = a.write("system/pressure.txt", []byte(pr.String()))
	}
	var cg strings.Builder
	for _, k := range []string{"cpu.max", "memory.max", "memory.high", "io.max", "cpuset.cpus.effective"} {
		if b, err := os.ReadFile("/sys/fs/cgroup/" + k); err == nil {
			fmt.Fprintf(&cg, "%s = %s\n", k, strings.TrimSpace(string(b)))
		}
	}
	if cg.Len() > 0 {
		_ = a.write("system/cgroup.txt", []byte(cg.String()))
	}
	for _, c := range []struct {
		file string
		argv []string
	}{
		{"system/lscpu.txt", []string{"lscpu"}},
		{"system/free.txt", []string{"free", "-m"}},
		{"system/lsblk.txt", []string{"lsblk", "-o", "NAME,TYPE,SIZE,ROTA,SCHED,FSTYPE,MOUNTPOINT"}},
	} {
		if _, err := exec.LookPath(c.argv[0]); err != nil {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		out, err := exec.CommandContext(cctx, c.argv[0], c.argv[1:]...).Output()
		cancel()
		if err != nil {
			a.fail(c.file, err)
			continue
		}
		_ = a.write(c.file, out)
	}
}

func cstr(b []int8) string {
	var out []byte
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}

func blockDevices() []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"device", "rotational", "scheduler", "nr_requests", "read_ahead_kb", "size_sectors"})
	devs, _ := filepath.Glob("/sys/block/*")
	sort.Strings(devs)
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	for _, d := range devs {
		_ = w.Write([]string{filepath.Base(d), read(d + "/queue/rotational"), read(d + "/queue/scheduler"),
			read(d + "/queue/nr_requests"), read(d + "/queue/read_ahead_kb"), read(d + "/size")})
	}
	w.Flush()
	return buf.Bytes()
}

func diskFree() []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"mountpoint", "fstype", "device", "options", "size_bytes", "avail_bytes", "used_pct"})
	b, _ := os.ReadFile("/proc/mounts")
	skip := map[string]bool{"proc": true, "sysfs": true, "cgroup": true, "cgroup2": true, "devpts": true, "mqueue": true, "securityfs": true, "debugfs": true, "tracefs": true, "bpf": true, "pstore": true, "autofs": true, "configfs": true, "fusectl": true, "binfmt_misc": true, "hugetlbfs": true, "nsfs": true}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || skip[f[2]] {
			continue
		}
		var st syscall.Statfs_t
		if err := syscall.Statfs(f[1], &st); err != nil || st.Blocks == 0 {
			continue
		}
		size := st.Blocks * uint64(st.Bsize)
		avail := st.Bavail * uint64(st.Bsize)
		used := float64(st.Blocks-st.Bfree) / float64(st.Blocks) * 100
		_ = w.Write([]string{f[1], f[2], f[0], f[3], fmt.Sprint(size), fmt.Sprint(avail), fmt.Sprintf("%.1f", used)})
	}
	w.Flush()
	return buf.Bytes()
}

// resetStats runs the before-iteration resets and reports what happened
// (resets.txt). A reset the role may not run is reported, not fatal.
func resetStats(ctx context.Context, conn *pgx.Conn, info *serverInfo, dropCaches bool) string {
	var log strings.Builder
	step := func(what, sql string) {
		t := time.Now()
		_, err := conn.Exec(ctx, mark+sql)
		if err != nil {
			fmt.Fprintf(&log, "%-45s failed: %v\n", what, err)
			return
		}
		fmt.Fprintf(&log, "%-45s ok (%.3f s)\n", what, time.Since(t).Seconds())
	}
	step("CHECKPOINT", "CHECKPOINT")
	step("pg_stat_reset()", "SELECT pg_stat_reset()")
	shared := []string{"bgwriter", "archiver"}
	if info.VersionNum >= 140000 {
		shared = append(shared, "wal")
	}
	if info.VersionNum >= 150000 {
		shared = append(shared, "recovery_prefetch")
	}
	if info.VersionNum >= 160000 {
		shared = append(shared, "io")
	}
	if info.VersionNum >= 170000 {
		shared = append(shared, "checkpointer", "slru")
	}
	for _, s := range shared {
		step("pg_stat_reset_shared('"+s+"')", "SELECT pg_stat_reset_shared('"+s+"')")
	}
	if info.VersionNum < 170000 {
		step("pg_stat_reset_slru(NULL)", "SELECT pg_stat_reset_slru(NULL)")
	}
	if info.VersionNum >= 140000 {
		step("pg_stat_reset_replication_slot(NULL)", "SELECT pg_stat_reset_replication_slot(NULL)")
	}
	if info.Extensions["pg_stat_statements"] {
		step("pg_stat_statements_reset()", "SELECT pg_stat_statements_reset()")
	}
	if info.Extensions["pg_stat_kcache"] {
		step("pg_stat_kcache_reset()", "SELECT pg_stat_kcache_reset()")
	}
	if info.Extensions["pg_wait_sampling"] {
		step("pg_wait_sampling_reset_profile()", "SELECT pg_wait_sampling_reset_profile()")
	}
	switch {
	case !dropCaches:
		log.WriteString("drop OS page cache: not asked (spec drop_caches)\n")
	case !info.Local:
		log.WriteString("drop OS page cache: skipped, the server is not on this host\n")
	default:
		syscall.Sync()
		if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0); err != nil {
			fmt.Fprintf(&log, "drop OS page cache: not permitted: %v\n", err)
		} else {
			log.WriteString("drop OS page cache: ok\n")
		}
	}
	return log.String()
}

// walPosition reads the current WAL insert position.
func walPosition(ctx context.Context, conn *pgx.Conn) (string, error) {
	var lsn string
	err := conn.QueryRow(ctx, mark+`SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END::text`).Scan(&lsn)
	return lsn, err
}

func walBytes(ctx context.Context, conn *pgx.Conn, from, to string) (int64, error) {
	var n int64
	err := conn.QueryRow(ctx, mark+`SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::bigint`, to, from).Scan(&n)
	return n, err
}

var errNoPgbench = errors.New("pgbench not found: install it (Debian bookworm ships it in the server package: apt-get install postgresql-15), or put it on PATH")
