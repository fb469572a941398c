package sqlparse

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// The file system Load and Each read: the operating system's, or
// Options.FS when it is set (a merge request's files fetched from GitLab,
// a test's map). Paths are then fs.FS paths: slash-separated, unrooted,
// "." for the root.

func stat(opts Options, p string) (fs.FileInfo, error) {
	if opts.FS != nil {
		return fs.Stat(opts.FS, p)
	}
	return os.Stat(p)
}

func open(opts Options, p string) (fs.File, error) {
	if opts.FS != nil {
		return opts.FS.Open(p)
	}
	return os.Open(p)
}

func readAll(opts Options, p string) ([]byte, error) {
	if opts.FS != nil {
		return fs.ReadFile(opts.FS, p)
	}
	return os.ReadFile(p)
}

func walk(opts Options, root string, fn fs.WalkDirFunc) error {
	if opts.FS != nil {
		return fs.WalkDir(opts.FS, root, fn)
	}
	return filepath.WalkDir(root, fn)
}

// readMax is readFileMax for either file system.
func readMax(opts Options, p string, max int64, regular bool) ([]byte, int64, error) {
	if opts.FS == nil {
		return readFileMax(p, max, regular)
	}
	fh, err := opts.FS.Open(p)
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", p, err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, max+1))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, fmt.Errorf("read %s: %w", p, err)
	}
	if int64(len(data)) > max {
		size := int64(len(data))
		if info, err := fh.Stat(); err == nil {
			size = info.Size()
		}
		return nil, size, nil
	}
	return data, int64(len(data)), nil
}
