package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gitlab.com/pgai/reviewer/internal/config"
)

// The README's "Deploying the bot" section is the one reference of every
// setting: it must name every environment variable the code reads, every
// flag of serve and worker, every key of the service config and of
// .pgai.yml, and nothing the code no longer has.
func TestDeployReferenceIsCurrent(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	const heading = "## Deploying the bot"
	sec := string(readme)
	i := strings.Index(sec, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README.md has no %q section", heading)
	}
	sec = sec[i+len(heading)+2:]
	if j := strings.Index(sec, "\n## "); j >= 0 {
		sec = sec[:j]
	}
	mentions := func(s string) bool { return strings.Contains(sec, "`"+s+"`") }

	// Environment variables: every PGAI_*, REVIEWER_* and OPENAI_* name
	// in the program's Go code (tests, the bench tools and the test
	// harness excluded), with where it is read.
	envRE := regexp.MustCompile(`"((?:PGAI|REVIEWER|OPENAI)_[A-Z0-9_]+)"`)
	env := map[string]string{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch rel {
			case "bench", "internal/pgtest", ".git", "bin":
				return filepath.SkipDir
			}
			if d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range envRE.FindAllSubmatchIndex(b, -1) {
			name := string(b[m[2]:m[3]])
			if _, ok := env[name]; !ok {
				env[name] = fmt.Sprintf("%s:%d", filepath.ToSlash(rel), bytes.Count(b[:m[0]], []byte{'\n'})+1)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, name := range sortedKeys(env) {
		if !mentions(name) {
			missing = append(missing, fmt.Sprintf("environment variable %s (read in %s): add a row\n    | `%s` | <service config key or —> | <flag or —> | <what it sets> |", name, env[name], name))
		}
	}
	// Flags of the bot's two commands, as their -h prints them.
	for _, cmd := range []string{"serve", "worker"} {
		var out, errb bytes.Buffer
		run(context.Background(), []string{cmd, "-h"}, strings.NewReader(""), &out, &errb)
		for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(errb.String()+out.String(), -1) {
			name := "--" + m[1]
			if m[1] == "v" {
				name = "-v"
			}
			if !mentions(name) {
				missing = append(missing, fmt.Sprintf("flag %s of reviewer %s: add a row\n    | <env var or —> | <service config key or —> | `%s` | <what it sets> |", name, cmd, name))
			}
		}
	}
	// Keys of the service config file and of .pgai.yml.
	for _, k := range yamlKeys(reflect.TypeOf(serviceConfig{})) {
		if !mentions(k) {
			missing = append(missing, fmt.Sprintf("service config key %s (serviceConfig in cmd/reviewer/serve.go): add a row\n    | <env var or —> | `%s` | <flag or —> | <what it sets> |", k, k))
		}
	}
	for _, k := range yamlKeys(reflect.TypeOf(config.File{})) {
		if !mentions(k) {
			missing = append(missing, fmt.Sprintf(".pgai.yml key %s (config.File in internal/config/config.go): add `%s` to the list of .pgai.yml keys", k, k))
		}
	}
	if len(missing) > 0 {
		t.Errorf("README.md, section %q, lacks settings the code has:\n- %s", heading, strings.Join(missing, "\n- "))
	}

	// And the other way round: a variable the section names must still be
	// read somewhere.
	for _, m := range regexp.MustCompile("`((?:PGAI|REVIEWER|OPENAI)_[A-Z0-9_]+)`").FindAllStringSubmatch(sec, -1) {
		if _, ok := env[m[1]]; !ok {
			t.Errorf("README.md, section %q, names %s, which no code reads any more: remove its row", heading, m[1])
		}
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// yamlKeys lists the yaml tags of a struct's fields.
func yamlKeys(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag != "" && tag != "-" {
			out = append(out, tag)
		}
	}
	return out
}
