package main

import (
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// scripts/release builds the binary the Docker image and the downloads
// ship (docker does not run on the build machines, so the Dockerfile runs
// this very script and this test runs it too): a static ELF with no
// program interpreter and no shared library, which checks migrations in an
// empty environment.
func TestReleaseBuildsAStaticBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the whole binary (-short)")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dockerfile, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(dockerfile), "scripts/release") {
		t.Fatal("the Dockerfile's build stage no longer runs scripts/release: the image and the release binary would differ")
	}
	out := filepath.Join(t.TempDir(), "reviewer")
	cmd := exec.Command(filepath.Join(root, "scripts/release"))
	cmd.Env = append(os.Environ(), "OUT="+out, "VERSION=v0.0.0-test")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/release: %v\n%s", err, b)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s has a %v program header: not a static executable", out, p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%s needs shared libraries %v", out, libs)
	}
	run := exec.Command(out, "check", "examples/migrations")
	run.Dir, run.Env = root, []string{}
	b, err := run.CombinedOutput()
	var ee *exec.ExitError
	if err == nil || !errors.As(err, &ee) || ee.ExitCode() != exitBlocking {
		t.Fatalf("env -i reviewer check examples/migrations: %v, want exit %d (the examples hold blocking findings)\n%s", err, exitBlocking, b)
	}
	if !strings.Contains(string(b), "[index-create-nonconcurrent]") {
		t.Errorf("the static binary's check found nothing:\n%s", b)
	}
	v := exec.Command(out, "version")
	v.Env = []string{}
	if b, err := v.CombinedOutput(); err != nil || !strings.Contains(string(b), "v0.0.0-test") {
		t.Errorf("reviewer version: %v %s, want the release's version", err, b)
	}
}
