package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// fetchProfile saves a pprof profile from a process's metrics listener
// (path such as /debug/pprof/profile?seconds=10) into file.
func fetchProfile(ctx context.Context, addr, path, file string) error {
	b, err := fetchInternal(ctx, addr, path)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o644)
}

// fetchInternal GETs path from a process's internal metrics listener.
func fetchInternal(ctx context.Context, addr, path string) ([]byte, error) {
	if addr == "" {
		return nil, errors.New("the process serves no metrics listener")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Timeout: 5 * time.Minute}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		if resp.StatusCode == http.StatusNotFound && strings.HasPrefix(path, "/debug/pprof") {
			return nil, fmt.Errorf("%s: 404: the process does not serve pprof (SABE_PPROF)", path)
		}
		return nil, fmt.Errorf("%s: status %d: %s", path, resp.StatusCode, b)
	}
	return io.ReadAll(resp.Body)
}

// RecorderFigures are the workers' recorder batches over a run, read from
// their /metrics (sabe_record_batch_size, sabe_record_batch_duration_seconds).
type RecorderFigures struct {
	Batches     int64   `json:"batches"`
	MeanBatch   float64 `json:"mean_batch_size"`
	MeanWriteMs float64 `json:"mean_batch_write_ms"`
}

// recorderFigures sums the recorder histograms of the workers at addrs.
func recorderFigures(ctx context.Context, addrs []string) (RecorderFigures, error) {
	var rows, batches int64
	var seconds float64
	for _, addr := range addrs {
		b, err := fetchInternal(ctx, addr, "/metrics")
		if err != nil {
			return RecorderFigures{}, err
		}
		for line := range strings.Lines(string(b)) {
			name, value, ok := strings.Cut(strings.TrimSpace(line), " ")
			if !ok {
				continue
			}
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				continue
			}
			switch name {
			case "sabe_record_batch_size_sum":
				rows += int64(v)
			case "sabe_record_batch_size_count":
				batches += int64(v)
			case "sabe_record_batch_duration_seconds_sum":
				seconds += v
			}
		}
	}
	f := RecorderFigures{Batches: batches}
	if batches > 0 {
		f.MeanBatch = round(float64(rows)/float64(batches), 2)
		f.MeanWriteMs = round(seconds*1000/float64(batches), 2)
	}
	return f, nil
}
