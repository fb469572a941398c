//go:build !unix

package sqlparse

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// readFileMax reads a file unless it is larger than max bytes; then it
// returns no data and the size. regular (the directory listing saw a
// regular file) only matters on Unix.
func readFileMax(p string, max int64, _ bool) ([]byte, int64, error) {
	fh, err := os.Open(p)
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", p, err)
	}
	defer fh.Close()
	info, err := fh.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", p, err)
	}
	if info.Size() > max {
		return nil, info.Size(), nil
	}
	data := make([]byte, 0, info.Size()+1)
	for {
		n, err := fh.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, fmt.Errorf("read %s: %w", p, err)
		}
		if int64(len(data)) > max {
			return nil, int64(len(data)), nil
		}
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
	}
	return data, int64(len(data)), nil
}
