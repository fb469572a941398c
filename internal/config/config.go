// Package config loads the reviewer's project configuration, .pgai.yml,
// searched upward from the reviewed paths.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/sqlparse"
)

// FileName is the name of the project configuration file.
const FileName = ".pgai.yml"

// File is the content of .pgai.yml.
//
//	pg_version: 15            # target PostgreSQL (major, or major.minor)
//	framework: goose          # or detected per file
//	paths: [db/migrations]    # what `reviewer check` reviews with no path arguments
//	rules:
//	  drop-column: error      # severity override: error, warning, info
//	  missing-statement-timeout: off
//	  naming-convention: on   # rules that are off by default
//	fail_on: error            # lowest severity that fails the gate
//	vars: {schema: app}       # ${schema}, :schema placeholders
//	templates: {.Schema: app} # {{ .Schema }} placeholders
//	assume_in_transaction: false
//	assume_lock_timeout: false
//	session_timezone: UTC
//	schema: db/structure.sql  # baseline schema read before the migrations (or a list)
//	inline: blocking          # MR threads for: blocking (default), warning, all
type File struct {
	PGVersion              string            `yaml:"pg_version"`
	Framework              string            `yaml:"framework"`
	Paths                  []string          `yaml:"paths"`
	Rules                  map[string]string `yaml:"rules"`
	FailOn                 string            `yaml:"fail_on"`
	Vars                   map[string]string `yaml:"vars"`
	Templates              map[string]string `yaml:"templates"`
	AssumeInTransaction    bool              `yaml:"assume_in_transaction"`
	AssumeLockTimeout      bool              `yaml:"assume_lock_timeout"`
	AssumeStatementTimeout bool              `yaml:"assume_statement_timeout"`
	SessionTimeZone        string            `yaml:"session_timezone"`
	MaxFileSize            int64             `yaml:"max_file_size"`
	Schema                 stringList        `yaml:"schema"`
	Inline                 string            `yaml:"inline"`
}

// stringList is a YAML value given as one string or a list of strings.
type stringList []string

// UnmarshalYAML accepts `key: a` and `key: [a, b]`.
func (l *stringList) UnmarshalYAML(unmarshal func(any) error) error {
	var one string
	if err := unmarshal(&one); err == nil {
		if one != "" {
			*l = stringList{one}
		}
		return nil
	}
	var many []string
	if err := unmarshal(&many); err != nil {
		return fmt.Errorf("want a file name or a list of file names: %w", err)
	}
	*l = many
	return nil
}

// Config is the resolved configuration of a review.
type Config struct {
	// Path of the config file that was read, if any.
	Path string
	// Dir is the directory relative paths in the file are resolved from.
	Dir      string
	Paths    []string
	Parse    sqlparse.Options
	Settings checks.Settings
	// Schema is a baseline schema file (pg_dump output or plain DDL) read
	// before the migrations; "" when none is configured. With several
	// (schema: as a list) it is the first; Schemas has them all.
	Schema string
	// Schemas are the baseline schema files, in the order they are read.
	Schemas []string
	// Inline says which findings of a merge request get an inline
	// thread: InlineBlocking (the default), InlineWarning or InlineAll;
	// the others are listed in the summary note only.
	Inline string
}

// The values of the inline key.
const (
	InlineBlocking = "blocking"
	InlineWarning  = "warning"
	InlineAll      = "all"
)

// Find looks for .pgai.yml in dir and its parents, stopping at the root
// of a git repository. It returns "" when there is none.
func Find(dir string) string {
	d, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for {
		p := filepath.Join(d, FileName)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return ""
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

// Load reads the config file at path ("" for defaults) and resolves it.
func Load(path string) (*Config, error) {
	var f File
	c := &Config{Path: path}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		if err := yaml.UnmarshalWithOptions(b, &f, yaml.Strict()); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
		c.Dir = filepath.Dir(path)
	}
	if err := c.apply(&f); err != nil {
		if path != "" {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
		return nil, err
	}
	return c, nil
}

// Parse reads config content (for tests and for files fetched from GitLab).
func Parse(name string, b []byte) (*Config, error) {
	var f File
	if err := yaml.UnmarshalWithOptions(b, &f, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	c := &Config{Path: name}
	if err := c.apply(&f); err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	return c, nil
}

func (c *Config) apply(f *File) error {
	var errs []error
	c.Settings = checks.Settings{PGVersion: checks.DefaultVersion, FailOn: checks.Error, SessionTimeZone: "UTC"}
	if f.PGVersion != "" {
		v, err := checks.ParseVersion(f.PGVersion)
		if err != nil {
			errs = append(errs, fmt.Errorf("pg_version: %w", err))
		}
		c.Settings.PGVersion = v
	}
	if f.Framework != "" {
		if err := c.SetFramework(f.Framework); err != nil {
			errs = append(errs, err)
		}
	}
	for _, p := range f.Paths {
		if c.Dir != "" && !filepath.IsAbs(p) {
			p = filepath.Join(c.Dir, p)
		}
		c.Paths = append(c.Paths, p)
	}
	for _, p := range f.Schema {
		if c.Dir != "" && !filepath.IsAbs(p) {
			p = filepath.Join(c.Dir, p)
		}
		c.Schemas = append(c.Schemas, p)
	}
	if len(c.Schemas) > 0 {
		c.Schema = c.Schemas[0]
	}
	switch f.Inline {
	case "":
		c.Inline = InlineBlocking
	case InlineBlocking, InlineWarning, InlineAll:
		c.Inline = f.Inline
	default:
		errs = append(errs, fmt.Errorf("inline: %q: want blocking, warning or all", f.Inline))
	}
	ids := make([]string, 0, len(f.Rules))
	for id := range f.Rules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if err := c.SetRule(id, f.Rules[id]); err != nil {
			errs = append(errs, err)
		}
	}
	if f.FailOn != "" {
		sev, err := checks.ParseSeverity(f.FailOn)
		if err != nil {
			errs = append(errs, fmt.Errorf("fail_on: %w", err))
		}
		c.Settings.FailOn = sev
	}
	c.Parse.Vars = f.Vars
	c.Parse.Templates = f.Templates
	c.Parse.AssumeInTransaction = f.AssumeInTransaction
	c.Parse.MaxFileSize = f.MaxFileSize
	c.Settings.AssumeLockTimeout = f.AssumeLockTimeout
	c.Settings.AssumeStatementTimeout = f.AssumeStatementTimeout
	if f.SessionTimeZone != "" {
		c.Settings.SessionTimeZone = f.SessionTimeZone
	}
	return errors.Join(errs...)
}

// SetFramework forces the migration framework.
func (c *Config) SetFramework(name string) error {
	for _, fw := range sqlparse.Frameworks {
		if string(fw) == name {
			c.Parse.Framework = fw
			return nil
		}
	}
	names := make([]string, len(sqlparse.Frameworks))
	for i, fw := range sqlparse.Frameworks {
		names[i] = string(fw)
	}
	return fmt.Errorf("unknown framework %q (want one of %s)", name, strings.Join(names, ", "))
}

// SetRule applies one rule setting: a severity, or on/off.
func (c *Config) SetRule(id, value string) error {
	if checks.Lookup(id) == nil {
		return fmt.Errorf("rules: unknown rule %q (see `reviewer rules`)", id)
	}
	s := &c.Settings
	switch strings.ToLower(strings.TrimSpace(value)) {
	case "off", "false", "disable", "disabled":
		if s.Disabled == nil {
			s.Disabled = map[string]bool{}
		}
		s.Disabled[id] = true
		return nil
	case "on", "true", "enable", "enabled":
		if s.Enabled == nil {
			s.Enabled = map[string]bool{}
		}
		s.Enabled[id] = true
		return nil
	}
	sev, err := checks.ParseSeverity(value)
	if err != nil {
		return fmt.Errorf("rules: %s: %w (or on/off)", id, err)
	}
	if s.Severity == nil {
		s.Severity = map[string]checks.Severity{}
	}
	if s.Enabled == nil {
		s.Enabled = map[string]bool{}
	}
	s.Severity[id] = sev
	s.Enabled[id] = true
	return nil
}

// SetVar sets a placeholder value from a `name=value` string.
func (c *Config) SetVar(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok || k == "" {
		return fmt.Errorf("--var %q: want name=value", kv)
	}
	if c.Parse.Vars == nil {
		c.Parse.Vars = map[string]string{}
	}
	c.Parse.Vars[k] = v
	return nil
}
